"""The test processes' fixtures and helpers: real SQLite files, a throwaway PostgreSQL cluster,
the app on a real port, staff, Slack, Chromium. A pytest plugin that tests/conftest.py
registers in every process that runs tests (not in pytest-xdist's controller, which runs
none); test modules import its helpers from here (`from tests.support import …`)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import re
import shutil
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy import event, select
from sqlalchemy.util import LRUCache

from bots.slack.fake_api import FakeSlackApi
from service.app import create_app
from service.clock import Clock, SystemClock
from service.config import MunicipalityConfig, Secrets, load_config
from service.keys import CONFIG, DB, JOBS
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform.auth import ROLES, create_key
from service.platform.crypto import new_data_key
from service.platform.db import engine as engine_module
from service.platform.db.migrate import upgrade
from service.platform.db.models import OutboxMessage, StaffUser
from service.platform.logs import CprMaskingFilter
from service.platform.throwaway_postgres import (
    PostgresStartError,
    PostgresUnavailable,
    ThrowawayPostgres,
)
from service.staff import passwords
from tests.privacy import assert_no_private_data, assert_no_private_slack_data

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
TEST_DATA_KEY = new_data_key()


@pytest.fixture(scope="session")
def demo_config() -> MunicipalityConfig:
    return load_config(ROOT / "config" / "demo.toml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The cluster itself lives in service.platform.throwaway_postgres (also used by
# `fasthold bench load`); the fixture only adds pytest's skip/fail behaviour.
PostgresServer = ThrowawayPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for this test run, on a free loopback port."""
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{exc}; the test command should have installed it")
        pytest.skip(str(exc))
    except PostgresStartError as exc:
        pytest.fail(f"could not start PostgreSQL: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


# Migrated once per test run: each test's database is a copy of a template that Alembic
# brought to head (a SQLite file copied, a PostgreSQL `CREATE DATABASE … TEMPLATE`). The app
# still runs its migrations on start, which find the schema at head. Tests of the migrations
# themselves downgrade and upgrade their own copy.
PG_TEMPLATE = "fasthold_template"


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """The name of a database in the cluster with the schema at head (never connected to
    afterwards, so that it can serve as a template)."""
    import asyncpg

    async def create() -> None:
        admin = await asyncpg.connect(host="127.0.0.1", port=postgres_server.port,
                                      user=postgres_server.user, database="postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{PG_TEMPLATE}"')
        finally:
            await admin.close()

    asyncio.run(create())
    upgrade(postgres_server.url(PG_TEMPLATE))
    return PG_TEMPLATE


# What makes a database "the template's schema": its Alembic version and its relations and
# columns. A test that changed the schema (a migration test downgrading) leaves a database
# that differs, and it is not used again.
_SCHEMA_PRINT = """
SELECT (SELECT string_agg(version_num, ',') FROM alembic_version) || '/' ||
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) || '/' ||
       (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
           AND NOT a.attisdropped)
"""


class PostgresDatabases:
    """Each test's PostgreSQL database: one an earlier test of this run used, emptied to the
    template's state, or else a new copy of the template. Emptying (every row of every table
    but Alembic's deleted, every sequence back to 1) costs milliseconds; a copy
    (`CREATE DATABASE … TEMPLATE`) 0.15-0.25 s of the server's CPU. A database is used
    again only when nobody else is connected to it and its schema is the template's."""

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self.free: list[str] = []
        self.schema: str | None = None
        self.emptying: str | None = None

    async def _connect(self, database: str) -> Any:
        import asyncpg

        return await asyncpg.connect(host="127.0.0.1", port=self.server.port,
                                     user=self.server.user, database=database)

    async def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = "t_" + uuid.uuid4().hex[:12]
        admin = await self._connect("postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()
        if self.schema is None:
            connection = await self._connect(name)
            try:
                await self._learn(connection)
            finally:
                await connection.close()
        return name

    async def _learn(self, connection: Any) -> None:
        """The template's schema print and the statement that empties a copy of it."""
        self.schema = await connection.fetchval(_SCHEMA_PRINT)
        tables = [r[0] for r in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version' ORDER BY tablename")]
        sequences = [r[0] for r in await connection.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' "
            "ORDER BY sequencename")]
        for table in tables:
            assert await connection.fetchval(f'SELECT count(*) = 0 FROM "{table}"'), (
                f"the template has rows in {table}: emptying would lose them")
        self.emptying = (
            "SET lock_timeout = '1s'; SET session_replication_role = replica; "
            + " ".join(f'DELETE FROM "{t}";' for t in tables)
            + (" SELECT " + ", ".join(f"setval('\"{q}\"', 1, false)" for q in sequences) + ";"
               if sequences else ""))

    async def give_back(self, name: str) -> None:
        """Empty the database for the next test, or leave it be (then it is not used
        again) when someone is still connected or its schema changed."""
        connection = await self._connect(name)
        try:
            others = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")
            if others or await connection.fetchval(_SCHEMA_PRINT) != self.schema:
                return
            async with connection.transaction():
                await connection.execute(self.emptying)
        except Exception:  # noqa: BLE001 — a database that cannot be emptied is not reused
            return
        finally:
            await connection.close()
        self.free.append(name)


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: PostgresServer, postgres_template: str
                       ) -> PostgresDatabases:
    return PostgresDatabases(postgres_server, postgres_template)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer,
                       postgres_databases: PostgresDatabases) -> AsyncIterator[str]:
    """A database with the schema at head and no rows in the throwaway cluster, for one
    test."""
    name = await postgres_databases.take()
    yield postgres_server.url(name)
    await postgres_databases.give_back(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema at head (its write-ahead log checkpointed into it)."""
    path = tmp_path_factory.mktemp("template") / "fasthold.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "fasthold.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    return _sqlite_copy(sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on a real SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    return request.getfixturevalue("postgres_url")


def make_secrets(database_url: str, **env: str) -> Secrets:
    return Secrets.from_env(database_url, {"FASTHOLD_SECRET_KEY": TEST_SECRET_KEY,
                                           "FASTHOLD_DATA_KEY": TEST_DATA_KEY,
                                           "FASTHOLD_DATABASE_URL": database_url, **env})


@dataclass
class Api:
    """A running app with a client and one API key per role."""

    client: TestClient
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


# The tests' own view of the time: the service reads it only through its injected clock.
SYSTEM_CLOCK = SystemClock()
today_local = SYSTEM_CLOCK.today
local_now = SYSTEM_CLOCK.local_now

# Compiled SQL shared by every test's engines. Each test's app makes its own engines (its own
# database), and SQLAlchemy caches a statement's compiled form per engine — keyed by the
# engine's dialect object —, so each test compiled afresh every statement it ran (a fifth of
# an API test's CPU). Engines of one dialect class here share the first one's dialect and one
# cache: the same dialect settings (the engines are made by the same code for the same kind
# of database), each statement compiled once per test run. Only a dialect that has been
# initialized (its engine's first connection made: the server's version, the default
# isolation level) is shared: an engine whose first connection failed (a command tested
# against a closed port) left its dialect uninitialized, and every later engine given it
# failed at its first check-in.
_DIALECTS: dict[type, Any] = {}
_COMPILED = LRUCache(20_000)


def _sharing_compiled_sql(make: Callable[..., Any]) -> Callable[..., Any]:
    def made(*args: Any, **kwargs: Any) -> Any:
        engine = make(*args, **kwargs)
        sync = getattr(engine, "sync_engine", engine)
        shared = _DIALECTS.get(type(sync.dialect))
        if shared is not None:
            sync.dialect = shared
        else:
            own = sync.dialect

            def initialized(_dbapi_connection: Any, _record: Any) -> None:
                # (after the engine's own "first connect", which initializes its dialect)
                _DIALECTS.setdefault(type(own), own)

            event.listen(sync.pool, "connect", initialized)
        sync._compiled_cache = _COMPILED
        return engine

    return made


engine_module.create_async_engine = _sharing_compiled_sql(engine_module.create_async_engine)
engine_module.create_engine = _sharing_compiled_sql(engine_module.create_engine)


# Headless Chromium (Debian's), launched once per test process: the page tests share it, each
# in its own browser context (no cookies, cache or storage of another test). Every test runs
# on the process's one event loop (pyproject: asyncio loop scope "session"), so the browser
# outlives a test. A launch cost ~0.7 s of CPU (Playwright's driver and Chromium's processes)
# in every page test.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():
        message = f"Chromium not installed ({CHROMIUM}); run make test to install it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
    finally:
        await playwright.stop()


# WCAG 2.1 levels A and AA (Danish public-sector websites must meet them: the employer's pages
# are public), checked by axe-core — the copy that axe-playwright-python carries, so nothing
# is fetched — on a page as the browser shows it now.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def assert_accessible(page: Any) -> None:
    """No axe-core violation of WCAG 2.1 A/AA on the page as it is now; the message names
    each rule and its first elements."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.evaluate(AXE_SCRIPT)
    found = await page.evaluate("options => axe.run(document, options)", {
        "runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    problems = [f"{v['id']} ({v['impact']}): {v['help']} — "
                + "; ".join(node["html"][:120] for node in v["nodes"][:3])
                for v in found["violations"]]
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


# One solver worker process for the whole test run (the real process pool, started once).
SOLVER = ProcessPoolSolver()


@pytest.fixture(scope="session", autouse=True)
def _solver_process() -> Iterator[None]:
    yield
    SOLVER.close()


async def start_api(config: MunicipalityConfig, secrets: Secrets, *, clock: Clock | None = None,
                    solver: Solver | None = None) -> AsyncIterator[Api]:
    app = create_app(config, secrets, clock=clock, solver=solver or SOLVER)
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


def quick_planning(config: MunicipalityConfig, seconds: float = 1.0) -> MunicipalityConfig:
    """The configuration with a shorter solver time limit: for tests that register many
    cases for something else than the plan (a CP-SAT run on 50+ cases may take the whole
    limit)."""
    return config.model_copy(update={"planning": config.planning.model_copy(
        update={"time_limit_seconds": seconds})})


@pytest.fixture
async def api(demo_config: MunicipalityConfig, database_url: str) -> AsyncIterator[Api]:
    async for running in start_api(demo_config, make_secrets(database_url)):
        yield running


@pytest.fixture
async def sqlite_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    async for running in start_api(demo_config, make_secrets(sqlite_url)):
        yield running


# -- waiting: for a condition, with a deadline (never a fixed sleep) -----------------------

async def wait_until(condition: Callable[[], Any], timeout: float = 20.0,
                     what: str | Callable[[], str] = "the condition",
                     interval: float = 0.05) -> Any:
    """Poll `condition` (plain or async) until it returns something truthy, and return that.

    At the deadline fail with an AssertionError naming `what` (a text, or a function giving
    one, e.g. with what was seen instead). The deadline is generous: a passing run never
    waits for it, a slow machine is not mistaken for a failure.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"waited {timeout:g} s for {described}")
        await asyncio.sleep(interval)


async def email_statuses(api: Api) -> list[str]:
    """The status of every email in the app's outbox."""
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage.status).where(
            OutboxMessage.channel == "email"))).scalars())


async def wait_until_mail_delivered(api: Api, timeout: float = 20.0) -> None:
    """Wait until every job is idle and no email is pending or being sent: after this, what
    the SMTP sink holds is all the app will send for what has happened so far."""
    await api.client.app[JOBS].wait_idle()

    async def settled() -> bool:
        return not {"pending", "sending"} & set(await email_statuses(api))

    await wait_until(settled, timeout, "no email pending or being sent in the outbox")


# -- email: a real SMTP server on loopback ----------------------------------------------------

_SINKS_OF_THIS_TEST: list[SmtpSink] = []  # reset for every test


class SmtpSink:
    """aiosmtpd on 127.0.0.1 and a free port; keeps every message, parsed, in order.

    `refuse` maps a recipient to an SMTP reply code (e.g. 550) to simulate failures. Every
    sink a test makes is scanned for private data when that test ends.
    """

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.port = port or _free_port()
        self.messages: list[Any] = []
        self.refuse: dict[str, int] = {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        _SINKS_OF_THIS_TEST.append(self)

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
        """The matching messages, once there are at least `count` of them."""

        def found() -> list[Any] | None:
            matching = [m for m in self.messages if predicate(m)]
            return matching if len(matching) >= count else None

        def what() -> str:
            subjects = [str(m["Subject"]) for m in self.messages]
            return f"{count} matching mail(s); got: {subjects}"

        return await wait_until(found, timeout, what)


@pytest.fixture(autouse=True)
def _commands_logging_undone() -> Iterator[None]:
    """A command run in the test's process (`main([...])`) configures the process's logging:
    a handler on the standard error of the moment — the test's captured one, closed after
    it. Such handlers (ours carry `CprMaskingFilter`) are taken off the root logger after the
    test, and its level put back: a later test that logs at DEBUG (a background thread of
    its app included) would otherwise write to the closed stream ("--- Logging error ---")."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and any(isinstance(f, CprMaskingFilter)
                                          for f in handler.filters):
            root.removeHandler(handler)
            root.setLevel(level)


@pytest.fixture(autouse=True)
def _scan_mail_of_this_test() -> Iterator[None]:
    """After each test (and its app has stopped): no CPR number or health data in any mail
    that test's SMTP sinks received. A test whose service leaked fails here."""
    _SINKS_OF_THIS_TEST.clear()
    try:
        yield
        for sink in _SINKS_OF_THIS_TEST:
            assert_no_private_data(sink.messages)
    finally:
        _SINKS_OF_THIS_TEST.clear()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


async def start_mail_api(config: MunicipalityConfig, database_url: str,
                         sink: SmtpSink) -> AsyncIterator[Api]:
    """The app on `database_url` sending its mail to `sink`, its start-up jobs done."""
    async for api in start_api(mail_config(config), smtp_secrets(database_url, sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


@pytest.fixture
async def mail_api(demo_config: MunicipalityConfig, database_url: str,
                   smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    """The app sending its mail to `smtp_sink`, on SQLite and on PostgreSQL."""
    async for api in start_mail_api(demo_config, database_url, smtp_sink):
        yield api


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


# -- staff pages: users per role and a browser-like client per login ------------------------

STAFF_PASSWORD = "en-god-adgangskode-til-test"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def staff_username(role: str) -> str:
    return f"test-{role}"


# argon2id at its least cost: the suite's staff hashes and, to match them, the service's
# stand-in for unknown usernames
_LEAST_COST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@functools.cache
def _staff_password_hash() -> str:
    """STAFF_PASSWORD's argon2id hash, made once per test run. Every login verifies it with
    the service's real argon2, at the cost the hash states: argon2id's least (the service's
    own, ~0.1 s of CPU a login, is there for attackers, not for the suite's hundreds of
    logins; tests/staff covers the service's own hashing)."""
    return _LEAST_COST.hash(STAFF_PASSWORD)


@functools.cache
def _stand_in_like_the_staff_hashes() -> str:
    """The service's hash for unknown usernames (`passwords._unknown_user_hash`), at the
    cost of the suite's staff hashes: the service keeps an unknown user as slow to refuse as
    a known one — its stand-in costs what its users' hashes cost — and here the users' cost
    argon2id's least. With the service's own cost each unknown-user login took ~0.15 s of
    CPU (the lockout tests make dozens: tests/staff 20 -> 12 s of CPU); tests/staff/
    test_passwords.py puts the service's own back (`SERVICE_STAND_IN`) to check it."""
    return _LEAST_COST.hash("no user has this password")


SERVICE_STAND_IN = passwords._unknown_user_hash
passwords._unknown_user_hash = _stand_in_like_the_staff_hashes


async def create_staff_users(api: Api) -> None:
    """One staff user per role (`test-<role>`, password STAFF_PASSWORD); the consultant is
    the configuration's first consultant, like the consultant API key. The rows are written
    as `StaffUsers.create` writes them (tests/staff covers `create` itself)."""
    config = api.client.app[CONFIG]
    async with api.client.app[DB].write() as session:
        for role in ROLES:
            session.add(StaffUser(
                municipality_id=config.municipality.id, username=staff_username(role),
                password_hash=_staff_password_hash(), role=role, failed_logins=0,
                consultant_key=config.consultants[0].id if role == "consultant" else None))


@dataclass
class StaffBrowser:
    """A logged-in browser: its own cookies, the session's CSRF token for forms."""

    session: aiohttp.ClientSession
    base: str
    csrf: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def remember_csrf(self, html: str) -> None:
        match = _CSRF_FIELD.search(html)
        if match:
            self.csrf = match.group(1)

    async def get(self, path: str, **kwargs: Any) -> tuple[aiohttp.ClientResponse, str]:
        response = await self.session.get(self.url(path), **kwargs)
        text = await response.text()
        self.remember_csrf(text)
        return response, text

    async def post(self, path: str, data: dict[str, Any] | None = None, *,
                   csrf: bool = True, **kwargs: Any) -> tuple[aiohttp.ClientResponse, str]:
        """POST a form (with the session's CSRF token unless `csrf=False`)."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        response = await self.session.post(self.url(path), data=form, **kwargs)
        text = await response.text()
        self.remember_csrf(text)
        return response, text

    async def close(self) -> None:
        await self.session.close()


async def staff_browser(api: Api) -> StaffBrowser:
    """A browser that is not logged in (cookies of its own)."""
    base = str(api.client.make_url("")).rstrip("/")
    return StaffBrowser(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)), base)


async def log_in(browser: StaffBrowser, username: str, password: str = STAFF_PASSWORD,
                 next_path: str = "") -> tuple[aiohttp.ClientResponse, str]:
    """Fill in and send the login form as a person would."""
    _, page = await browser.get("/login" + (f"?next={next_path}" if next_path else ""))
    match = _CSRF_FIELD.search(page)
    assert match, "no CSRF token on the login page"
    return await browser.post("/login", {"username": username, "password": password,
                                         "csrf_token": match.group(1), "next": next_path})


@dataclass
class Staff:
    """The app (API keys too) with one staff user per role; `await staff.login(role)`."""

    api: Api
    browsers: list[StaffBrowser]

    async def browser(self) -> StaffBrowser:
        browser = await staff_browser(self.api)
        self.browsers.append(browser)
        return browser

    async def login(self, role: str) -> StaffBrowser:
        browser = await self.browser()
        response, _ = await log_in(browser, staff_username(role))
        assert response.status == 200 and "/login" not in response.url.path, \
            f"login as {role} failed ({response.status} {response.url})"
        return browser


async def start_staff(api: Api) -> AsyncIterator[Staff]:
    await create_staff_users(api)
    staff = Staff(api, [])
    try:
        yield staff
    finally:
        for browser in staff.browsers:
            await browser.close()


@pytest.fixture
async def staff(sqlite_api: Api) -> AsyncIterator[Staff]:
    """Staff pages on a real SQLite file: users per role, logged-in browsers on demand."""
    async for running in start_staff(sqlite_api):
        yield running


@pytest.fixture
async def staff_on_both(api: Api) -> AsyncIterator[Staff]:
    """Like `staff`, on SQLite and on PostgreSQL."""
    async for running in start_staff(api):
        yield running


# -- Slack: the local fake Web API ---------------------------------------------------------

_SLACK_OF_THIS_TEST: list[FakeSlackApi] = []  # reset for every test
SLACK_INTAKE_CHANNEL = "C0INTAKE"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"


@pytest.fixture(autouse=True)
def _scan_slack_of_this_test() -> Iterator[None]:
    """After each test: nothing the bot sent to a fake Slack (CPR, a citizen's name, health
    or exclusion words). A test whose service leaked into Slack fails here."""
    _SLACK_OF_THIS_TEST.clear()
    try:
        yield
        for fake in _SLACK_OF_THIS_TEST:
            assert_no_private_slack_data(fake.payloads())
    finally:
        _SLACK_OF_THIS_TEST.clear()


def scan_slack_at_end(fake: FakeSlackApi) -> FakeSlackApi:
    """Have this fake's payloads scanned when the test ends (fixtures and demo apps)."""
    _SLACK_OF_THIS_TEST.append(fake)
    return fake


@pytest.fixture
async def slack_api(demo_config: MunicipalityConfig) -> AsyncIterator[FakeSlackApi]:
    """The fake Slack Web API on loopback: the demo config's users, the intake channel."""
    users = {c.slack_user_id for c in demo_config.consultants if c.slack_user_id} | {
        s.slack_user_id for s in demo_config.slack.staff}
    fake = scan_slack_at_end(FakeSlackApi(users=users, channels={SLACK_INTAKE_CHANNEL}))
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def slack_env(fake: FakeSlackApi) -> dict[str, str]:
    """The FASTHOLD_SLACK_* settings pointing the service at `fake`."""
    return {"FASTHOLD_SLACK_BOT_TOKEN": fake.token,
            "FASTHOLD_SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "FASTHOLD_SLACK_API_URL": fake.base_url,
            "FASTHOLD_SLACK_INTAKE_CHANNEL": SLACK_INTAKE_CHANNEL}


class FakeGateway:
    """A JSON-over-HTTP gateway (Digital Post, SMS) on loopback: answers its first posts with
    the statuses in `answers` (503, 400, ...), then takes each one (202), keeping its body and
    `Idempotency-Key`."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[dict[str, Any]] = []
        self.keys: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        if self.answers:
            return web.Response(status=self.answers.pop(0))
        self.received.append(await request.json())
        self.keys.append(request.headers.get("Idempotency-Key", ""))
        return web.json_response({"queued": True}, status=202)


@asynccontextmanager
async def fake_gateway(path: str, answers: list[int] | None = None
                       ) -> AsyncIterator[tuple[FakeGateway, str]]:
    """A `FakeGateway` serving POST `path`; yields it and its URL."""
    fake = FakeGateway(answers)
    app = web.Application()
    app.router.add_post(path, fake.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield fake, str(server.make_url(path))
    finally:
        await server.close()

