"""Shared fixtures: real SQLite files, a throwaway PostgreSQL cluster, the app on a real port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.apikeys import ROLES, create_key
from service.config import MunicipalityConfig, Secrets, load_config

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32


@pytest.fixture(scope="session")
def demo_config() -> MunicipalityConfig:
    return load_config(ROOT / "config" / "demo.toml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresServer:
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"


def _run_as(user: str | None, cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for this test run, on a free loopback port."""
    bindir = _postgres_bin()
    if bindir is None:
        message = "PostgreSQL server not installed (/usr/lib/postgresql/*/bin/postgres)"
        if IN_CI:
            pytest.fail(message + "; the test command should have installed it")
        pytest.skip(message)
    # initdb refuses to run as root: use an unprivileged account for the cluster.
    run_user: str | None = None
    if os.geteuid() == 0:
        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
                run_user = candidate
                break
            except KeyError:
                continue
    base = Path(tempfile.mkdtemp(prefix="fasthold-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if run_user is not None:
        shutil.chown(base, run_user)
        shutil.chown(sockets, run_user)
        os.chmod(base, 0o700)
    db_user = run_user or pwd.getpwuid(os.geteuid()).pw_name
    port = _free_port()
    try:
        _run_as(run_user, [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                           db_user, "-E", "UTF8", "--no-sync"])
        _run_as(run_user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                           "-w", "-t", "60", "-o",
                           f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
                           "-c fsync=off -c synchronous_commit=off -c max_connections=200",
                           "start"])
    except subprocess.CalledProcessError as exc:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        pytest.fail(f"could not start PostgreSQL: {exc.stderr}\n{log}")
    try:
        yield PostgresServer(port=port, user=db_user)
    finally:
        stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        if run_user:
            stop = ["runuser", "-u", run_user, "--", *stop]
        subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database in the throwaway cluster for one test."""
    import asyncpg

    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(host="127.0.0.1", port=postgres_server.port,
                                  user=postgres_server.user, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.url(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'fasthold.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on a real SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fasthold.db'}"
    return request.getfixturevalue("postgres_url")


def make_secrets(database_url: str, **env: str) -> Secrets:
    return Secrets.from_env(database_url, {"FASTHOLD_SECRET_KEY": TEST_SECRET_KEY,
                                           "FASTHOLD_DATABASE_URL": database_url, **env})


@dataclass
class Api:
    """A running app with a client and one API key per role."""

    client: TestClient
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


async def start_api(config: MunicipalityConfig, secrets: Secrets) -> AsyncIterator[Api]:
    from service.app import create_app
    from service.http import DB

    app = create_app(config, secrets)
    client = TestClient(TestServer(app))
    await client.start_server()
    keys: dict[str, str] = {}
    async with app[DB].write() as session:
        for role in ROLES:
            consultant = config.consultants[0].id if role == "consultant" else None
            _, keys[role] = await create_key(session, config.municipality.id, f"test-{role}",
                                             role, consultant)
    try:
        yield Api(client=client, keys=keys)
    finally:
        await client.close()


@pytest.fixture
async def api(demo_config: MunicipalityConfig, database_url: str) -> AsyncIterator[Api]:
    async for running in start_api(demo_config, make_secrets(database_url)):
        yield running


@pytest.fixture
async def sqlite_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    async for running in start_api(demo_config, make_secrets(sqlite_url)):
        yield running


# -- email: a real SMTP server on loopback ----------------------------------------------------

ALL_RECEIVED_MAIL: list[Any] = []  # every message any test's SMTP sink received (privacy scan)


class SmtpSink:
    """aiosmtpd on 127.0.0.1 and a free port; keeps every message, parsed, in order.

    `refuse` maps a recipient to an SMTP reply code (e.g. 550) to simulate failures.
    """

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.port = port or _free_port()
        self.messages: list[Any] = []
        self.refuse: dict[str, int] = {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: Any) -> str:
        code = self.refuse.get(address)
        if code is not None:
            return f"{code} {'mailbox unavailable' if code >= 500 else 'try again later'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        ALL_RECEIVED_MAIL.append(message)
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, predicate: Callable[[Any], bool], count: int = 1,
                       timeout: float = 20.0) -> list[Any]:
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [m for m in self.messages if predicate(m)]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                subjects = [str(m["Subject"]) for m in self.messages]
                raise AssertionError(f"expected {count} matching mail(s); got: {subjects}")
            await asyncio.sleep(0.05)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


def mail_config(config: MunicipalityConfig, **mail: Any) -> MunicipalityConfig:
    """The config with quick outbox polling (tests wait for mail, never on wall time)."""
    return config.model_copy(update={"mail": config.mail.model_copy(
        update={"poll_seconds": 0.1, **mail})})


def smtp_secrets(database_url: str, port: int) -> Secrets:
    return make_secrets(database_url, FASTHOLD_SMTP_HOST="127.0.0.1",
                        FASTHOLD_SMTP_PORT=str(port))


def text_part(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: Any) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_path(message: Any) -> str:
    """The path of the employer link (`/m/<token>`) in a mail's plain text."""
    import re

    match = re.search(r"https?://[^/\s]+(/m/[A-Za-z0-9_.\-]+)", text_part(message))
    assert match, "no employer link in the mail"
    return match.group(1)
