"""`fasthold worker` and `fasthold serve` with the PostgreSQL job queue: refused without it,
and a worker process stopped by SIGTERM leaves gracefully (unregistered, nothing "doing")."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from procrastinate import App, PsycopgConnector

from service.commands.cli import main
from tests.support import TEST_DATA_KEY, TEST_SECRET_KEY, PostgresServer, wait_until

ROOT = Path(__file__).resolve().parents[2]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def queue_config(tmp_path: Path) -> Path:
    """The demo municipality with `[jobs] runner = "procrastinate"`."""
    path = tmp_path / "queue.toml"
    path.write_text((ROOT / "config" / "demo.toml").read_text()
                    + '\n[jobs]\nrunner = "procrastinate"\n')
    return path


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "FASTHOLD_DATABASE_URL": database_url,
            "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY}


def test_worker_and_serve_refuse_without_the_queue_on_postgresql(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _env(f"sqlite:///{tmp_path / 'w.db'}").items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()  # `serve` configures the process's logging: put it back after
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)
    assert main(["worker", "--config", str(ROOT / "config" / "demo.toml")]) == 2
    assert '[jobs] runner is "in_process"' in capsys.readouterr().err
    for command in ("worker", "serve"):
        assert main([command, "--config", str(queue_config(tmp_path))]) == 2
        assert "needs PostgreSQL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_status:
        main(["worker", "--concurrency", "0"])
    assert exit_status.value.code == 2 and "--concurrency" in capsys.readouterr().err
    for heartbeat in ("0.5", "61", "nan", "inf", "ti"):
        with pytest.raises(SystemExit) as exit_status:
            main(["worker", "--heartbeat", heartbeat])
        assert exit_status.value.code == 2 and "--heartbeat" in capsys.readouterr().err


async def test_a_worker_stops_gracefully_on_sigterm(tmp_path: Path, postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    process = subprocess.Popen([FASTHOLD, "worker", "--config", str(queue_config(tmp_path)),
                                "--concurrency", "2"], env=_env(postgres_url),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    connection = await asyncpg.connect(plain)
    try:
        async def registered() -> bool:
            return bool(await connection.fetchval("SELECT count(*) FROM procrastinate_workers"))

        await wait_until(registered, 60, "the worker registered in the queue")
        # It works: its start asked for the catalogue's catch-up runs, the plan among them.
        await wait_until(lambda: connection.fetchval(
            "SELECT count(*) FROM planning_runs WHERE trigger = 'start'"), 60,
            "the worker's catch-up planning run")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert await connection.fetchval("SELECT count(*) FROM procrastinate_workers") == 0
        assert await connection.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'") == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await connection.close()


async def test_a_worker_outlives_its_database_connections_being_cut(
        tmp_path: Path, postgres_server: PostgresServer, postgres_url: str) -> None:
    """PostgreSQL restarting (every connection of the worker cut): the worker waits for the
    database, starts again, and a job deferred afterwards runs — it does not exit 0 for good
    (procrastinate's worker stops when a side task's connection breaks). SIGTERM still ends
    it with 0."""
    plain = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    process = subprocess.Popen([FASTHOLD, "worker", "--config", str(queue_config(tmp_path)),
                                "--heartbeat", "1"], env=_env(postgres_url),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    connection = await asyncpg.connect(plain)
    admin = await asyncpg.connect(host="127.0.0.1", port=postgres_server.port,
                                  user=postgres_server.user, database="postgres")
    app = App(connector=PsycopgConnector(conninfo=plain, min_size=1, max_size=1))
    refusing, database = False, ""
    try:
        await wait_until(lambda: connection.fetchval(
            "SELECT count(*) FROM planning_runs WHERE trigger = 'start'"), 60,
            "the worker's catch-up planning run")
        # No run under way (a cut run would hold the worker's stop for its stop timeout).
        await wait_until(lambda: connection.fetchval(
            "SELECT count(*) = 0 FROM procrastinate_jobs WHERE status = 'doing'"), 60,
            "the catch-up runs finished")
        first = await connection.fetchval("SELECT max(id) FROM procrastinate_workers")
        # The server restarting, for this database only: every connection cut, and for a
        # few seconds none taken (the worker's listener fails to reconnect and procrastinate
        # stops its worker).
        database = await connection.fetchval("SELECT current_database()")
        await connection.close()
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        refusing = True
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1", database)
        assert cut >= 1
        await asyncio.sleep(3)
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        refusing = False
        connection = await asyncpg.connect(plain)
        # A new worker registers once the old one has noticed (its next heartbeat, 1 s).
        try:
            await wait_until(lambda: connection.fetchval(
                "SELECT count(*) FROM procrastinate_workers WHERE id > $1", first), 60,
                "the worker started again")
        except AssertionError as exc:
            process.kill()
            raise AssertionError(f"{exc}\n{process.communicate(timeout=30)[0]}") from None
        assert process.poll() is None
        await app.open_async()
        await app.configure_task("plan").defer_async(municipality_id="demo",
                                                     reason="after the cut")
        await wait_until(lambda: connection.fetchval(
            "SELECT count(*) FROM planning_runs WHERE trigger = 'after the cut'"), 60,
            "the plan deferred after the cut")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "lost the database" in output, output
        assert output.count("Traceback") == 0, output
    finally:
        if refusing:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()
        await app.close_async()
        if process.poll() is None:
            process.kill()
            process.wait()
        await connection.close()
