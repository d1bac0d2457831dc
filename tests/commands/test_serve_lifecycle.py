"""Several web processes and workers on PostgreSQL: migrations only by `fasthold db upgrade`
(a process that finds the schema behind refuses to start, naming the command), and a web
process stopped by SIGTERM drains the requests under way before it exits."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from service.commands.cli import main
from service.platform.db.migrate import SchemaNotAtHead, alembic_config, check_at_head
from tests.commands.test_worker_cli import ROOT, queue_config
from tests.support import TEST_DATA_KEY, TEST_SECRET_KEY, PostgresServer, wait_until

FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def _keep_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` configures the process's logging: put it back after the test."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)


def _said(stderr: str) -> list[str]:
    """What a command printed on stderr, without the log lines of an earlier command of
    this process (`serve` configured logging)."""
    return [line for line in stderr.strip().splitlines() if not line[:4].isdigit()]


async def _empty_database(server: PostgresServer) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(host="127.0.0.1", port=server.port, user=server.user,
                                  database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.url(name)


async def _tables(url: str) -> int:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
    finally:
        await connection.close()


def test_serve_and_worker_refuse_a_schema_behind_head_until_db_upgrade(
        tmp_path: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = asyncio.run(_empty_database(postgres_server))
    for name, value in {"FASTHOLD_DATABASE_URL": url, "FASTHOLD_DATA_KEY": TEST_DATA_KEY,
                        "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY}.items():
        monkeypatch.setenv(name, value)
    _keep_logging(monkeypatch)
    config = str(queue_config(tmp_path))
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "demo.toml").write_text(Path(config).read_text())
    for args in (["serve", "--config", config], ["worker", "--config", config],
                 ["serve", "--config-dir", str(folder)],
                 ["apikey", "create", "--config", config, "--role", "admin", "--name", "x"]):
        assert main(args) == 2, args
        error = capsys.readouterr().err
        assert "fasthold db upgrade" in error and "empty" in error, error
        assert "Traceback" not in error and len(_said(error)) == 1, error
    with pytest.raises(SchemaNotAtHead):
        asyncio.run(check_at_head(url))
    assert asyncio.run(_tables(url)) == 0  # nobody migrated on the way
    assert main(["db", "upgrade", "--config", config]) == 0
    head = sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads())[0]
    assert capsys.readouterr().out.strip() == f"upgraded an empty database → {head}"
    asyncio.run(check_at_head(url))  # at head now: the processes start
    assert main(["db", "upgrade", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == f"database schema is up to date (at {head})"


def test_a_database_a_newer_release_migrated_is_said_so(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A revision this release does not know (a newer release migrated the database during
    a rollout): every command says so in one line (exit 2) — not "run fasthold db upgrade",
    and not Alembic's "Can't locate revision" traceback."""
    for name, value in {"FASTHOLD_DATABASE_URL": postgres_url,
                        "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY":
                        TEST_SECRET_KEY, "FASTHOLD_PASSWORD": "a-long-password-1"}.items():
        monkeypatch.setenv(name, value)
    _keep_logging(monkeypatch)

    async def newer() -> None:
        connection = await asyncpg.connect(
            postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute("UPDATE alembic_version SET version_num = '9999'")
        finally:
            await connection.close()

    asyncio.run(newer())
    plain, queue = str(ROOT / "config" / "demo.toml"), str(queue_config(tmp_path))
    for args in (["db", "upgrade", "--config", plain],
                 ["apikey", "create", "--config", plain, "--role", "admin", "--name", "x"],
                 ["user", "create", "--config", plain, "--username", "mette", "--role",
                  "manager"],
                 ["datakey", "rotate", "--config", plain],
                 ["serve", "--config", plain, "--port", "0"],
                 ["serve", "--config", queue, "--port", "0"],
                 ["worker", "--config", queue]):
        assert main(args) == 2, args
        error = capsys.readouterr().err
        assert "at 9999, newer than this release" in error, (args, error)
        assert "db upgrade" not in error and len(_said(error)) == 1, error


def test_commands_say_in_one_line_when_the_database_cannot_be_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unreachable (a closed port) or of a kind the service does not run on: one line naming
    the database without its password, exit 2, for every command that opens it."""
    from tests.cli import run_cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "demo.toml").write_text((ROOT / "config" / "demo.toml").read_text())
    env = {**os.environ, "FASTHOLD_DATA_KEY": TEST_DATA_KEY,
           "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY, "FASTHOLD_PASSWORD": "a-long-password-1"}
    for url, said in ((f"postgresql://ops:hemmelig@127.0.0.1:{port}/fasthold",
                       f"cannot use the database postgresql://ops:***@127.0.0.1:{port}/"
                       "fasthold: ConnectionRefusedError"),
                      ("mysql://ops:hemmelig@db/fasthold", "unsupported database 'mysql'")):
        for args in (["db", "upgrade"], ["apikey", "list"],
                     ["apikey", "create", "--role", "admin", "--name", "x"],
                     ["user", "create", "--username", "mette", "--role", "manager"],
                     ["datakey", "rotate"], ["serve", "--config-dir", str(folder)]):
            answer = run_cli(*args, env={**env, "FASTHOLD_DATABASE_URL": url})
            assert answer.returncode == 2, (args, answer)
            assert said in answer.stderr and "hemmelig" not in answer.stderr, answer.stderr
            assert len(answer.stderr.strip().splitlines()) == 1, answer.stderr


def test_serve_and_worker_say_when_the_database_cannot_be_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in {"FASTHOLD_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x",
                        "FASTHOLD_DATA_KEY": TEST_DATA_KEY,
                        "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY}.items():
        monkeypatch.setenv(name, value)
    _keep_logging(monkeypatch)
    for command in ("serve", "worker"):
        assert main([command, "--config", str(queue_config(tmp_path))]) == 2
        assert "cannot use the database postgresql://nobody@127.0.0.1" \
            in capsys.readouterr().err


def test_serve_refuses_a_malformed_shutdown_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in {"FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
                        "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY":
                        TEST_SECRET_KEY, "FASTHOLD_SHUTDOWN_TIMEOUT": "soon"}.items():
        monkeypatch.setenv(name, value)
    _keep_logging(monkeypatch)
    assert main(["serve", "--port", "0"]) == 2
    assert "FASTHOLD_SHUTDOWN_TIMEOUT" in capsys.readouterr().err


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def _login_token(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
        cookie = response.headers["Set-Cookie"]
    return cookie.split("fasthold_login_csrf=", 1)[1].split(";", 1)[0]


def _read_response(connection: socket.socket) -> bytes:
    data = b""
    while b"</html>" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class BlockedLogin:
    """`fasthold serve` on a SQLite file, and a login under way in it that waits for a write
    lock the test holds on the database (a failed login is written down)."""

    def __init__(self, tmp_path: Path, shutdown_timeout: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        database = tmp_path / "drain.db"
        env = {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{database}",
               "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY,
               "FASTHOLD_SHUTDOWN_TIMEOUT": shutdown_timeout}
        self.process = subprocess.Popen([FASTHOLD, "serve", "--port", str(self.port)],
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lock = sqlite3.connect(database, isolation_level=None, timeout=30)
        self.login: socket.socket | None = None

    async def start(self) -> socket.socket:
        port = self.port
        await wait_until(lambda: not _refused(port), 60, "the web process listening")
        token = _login_token(port)
        body = f"csrf_token={token}&username=nobody&password=wrong".encode()
        self.lock.execute("BEGIN IMMEDIATE")  # the failed login's write waits for this
        login = self.login = socket.create_connection(("127.0.0.1", port), timeout=20)
        login.sendall((f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Origin: http://127.0.0.1:{port}\r\n"
                       f"Cookie: fasthold_login_csrf={token}\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
                       ).encode())
        # 100 Continue: the request is being handled; it now waits for the database.
        assert login.recv(100).startswith(b"HTTP/1.1 100 Continue")
        login.sendall(body)
        return login

    async def stop_listening(self) -> None:
        self.process.terminate()
        await wait_until(lambda: _refused(self.port), 30, "the process to stop listening")

    def close(self) -> None:
        self.lock.close()
        if self.login is not None:
            self.login.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def test_a_web_process_drains_its_requests_on_sigterm(tmp_path: Path) -> None:
    """A login under way when SIGTERM comes is answered — by the same process, its database
    still open — after it stopped listening."""
    server = BlockedLogin(tmp_path, "30")
    try:
        login = await server.start()
        await server.stop_listening()
        assert server.process.poll() is None  # still draining
        server.lock.execute("ROLLBACK")
        answer = _read_response(login)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]  # a wrong password, said
        output, _ = server.process.communicate(timeout=60)
        assert server.process.returncode == 0, output
        assert "Traceback" not in output, output
        assert server.lock.execute("SELECT count(*) FROM login_failures").fetchone() == (1,)
    finally:
        server.close()


async def test_a_request_outlasting_the_shutdown_timeout_is_cut(tmp_path: Path) -> None:
    """FASTHOLD_SHUTDOWN_TIMEOUT bounds the drain: a login still waiting after it is cut
    (its connection closed without an answer) while the test still holds the lock."""
    server = BlockedLogin(tmp_path, "1")
    try:
        login = await server.start()
        await server.stop_listening()
        assert _read_response(login) == b""  # cut, long before the socket's 20 s
        server.lock.execute("ROLLBACK")
        output, _ = server.process.communicate(timeout=60)
        assert server.process.returncode == 0, output
        assert server.lock.execute("SELECT count(*) FROM login_failures").fetchone() == (0,)
    finally:
        server.close()


async def test_many_municipalities_drain_before_the_job_queue_closes(
        tmp_path: Path, postgres_url: str) -> None:
    """`serve --config-dir` with the job queue, SIGTERM while an intake waits for the
    database: the intake is answered (201) after the process stopped listening, and its
    planning request reaches the queue — the queue closes after the drain, as with one
    municipality (it closed first: the request was dropped without a word, and a "plan now"
    under way answered 500 AppNotOpen)."""
    import json

    from tests.cli import run_cli
    from tests.commands.test_tenants_cli import HOSTS, _config_dir

    folder = _config_dir(tmp_path)
    for file in folder.glob("*.toml"):
        file.write_text(file.read_text(encoding="utf-8")
                        + '\n[jobs]\nrunner = "procrastinate"\n', encoding="utf-8")
    env = {**os.environ, "FASTHOLD_DATABASE_URL": postgres_url,
           "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY,
           "FASTHOLD_SHUTDOWN_TIMEOUT": "30", "FASTHOLD_CONFIG_DIR": str(folder)}
    env.pop("FASTHOLD_CONFIG", None)
    created = await asyncio.to_thread(run_cli, "apikey", "create", "--municipality", "beta",
                                      "--role", "intake", "--name", "drain", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().split("\t")[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([FASTHOLD, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await wait_until(lambda: not _refused(port), 60, "the web process listening")
        lock_transaction = lock.transaction()
        await lock_transaction.start()
        await lock.execute("LOCK TABLE cases IN EXCLUSIVE MODE")  # the intake's INSERT waits
        case = {"case_id": "DRAIN-1", "first_absence_day": "2026-11-02",
                "employment": "employed", "visitation_category": 3,
                "employer": {"cvr": "12345678", "name": "Sunds Træ ApS",
                             "contact_name": "Lone Berg",
                             "contact_email": "lone@example.org"}}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/cases", data=json.dumps(case).encode(),
            method="POST", headers={"Host": HOSTS["beta"], "Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
        answer = asyncio.create_task(asyncio.to_thread(
            lambda: urllib.request.urlopen(request, timeout=60).status))
        await wait_until(lambda: lock.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted "
            "AND relation = 'cases'::regclass"), 30, "the intake waiting for the lock")
        process.terminate()
        await wait_until(lambda: _refused(port), 30, "the process to stop listening")
        assert process.poll() is None  # draining
        await lock_transaction.rollback()
        assert await answer == 201
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
        assert await lock.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'plan' "
            "AND args->>'municipality_id' = 'beta'") == 1, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await lock.close()
