"""A database error never puts a citizen's data in the log (the statement's parameters, the
row PostgreSQL quotes), and a database that cannot be reached is a 503 with Retry-After in
one log line — never a 500 with a traceback; the first request after the server dropped the
pool's connections succeeds."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import socket
import sqlite3
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.db.engine import Database
from service.platform.logs import CprMaskingFilter
from tests.support import (
    SYSTEM_CLOCK,
    Api,
    create_staff_users,
    log_in,
    make_secrets,
    staff_browser,
    staff_username,
    start_api,
)

# What the failing intake carries: none of it may reach the log.
PRIVATE = ("Fejl Fejlsen", "fejl@citizen.example", "22334455", "scope.category_2_3",
           "exclude.serious_illness", "serious_illness", "0101901234", "010190-1234")


def leaking_case() -> dict[str, Any]:
    return {
        "case_id": "leak1", "as_of": "2026-11-20", "first_absence_day": "2026-11-02",
        "employment": "employed",
        "employer": {"cvr": "29189919", "name": "Herning Maskinfabrik A/S",
                     "contact_email": "hr@maskinfabrik.example",
                     "location": {"lat": 56.17, "lon": 9.01}},
        "visitation_category": 2, "serious_illness": True, "cpr": "010190-1234",
        "citizen": {"name": "Fejl Fejlsen", "email": "fejl@citizen.example",
                    "phone": "22334455"}}


async def _refuse_the_citizen(db: Database) -> None:
    """The database refuses this citizen's row (as a constraint would), with the row's
    values in the driver's error (PostgreSQL: `DETAIL: Failing row contains (…)`)."""
    async with db.write_connection() as connection:
        if db.is_sqlite:
            await connection.execute(text(
                "CREATE TRIGGER leak_test BEFORE INSERT ON cases "
                "WHEN NEW.citizen_name = 'Fejl Fejlsen' "
                "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: leak_test'); END"))
        else:
            await connection.execute(text(
                "ALTER TABLE cases ADD CONSTRAINT leak_test "
                "CHECK (citizen_name IS NULL OR citizen_name <> 'Fejl Fejlsen') NOT VALID"))


async def _allow_again(db: Database) -> None:
    async with db.write_connection() as connection:
        await connection.execute(text(
            "DROP TRIGGER leak_test" if db.is_sqlite
            else "ALTER TABLE cases DROP CONSTRAINT leak_test"))


async def test_a_failing_intake_logs_no_personal_or_health_data(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    db = api.client.app[DB]
    await _refuse_the_citizen(db)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # as `configure_logging`'s: through the filter
    handler.addFilter(CprMaskingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO):
            resp = await api.client.post("/api/cases", json=leaking_case(),
                                         headers=api.auth("intake"))
    finally:
        root.removeHandler(handler)
        await _allow_again(db)
    assert resp.status == 500, await resp.text()
    logged = caplog.text + stream.getvalue()
    assert "unhandled error in POST" in logged and "leak_test" in logged  # the error is told
    assert "INSERT INTO cases" in logged  # the statement, without its values
    for private in PRIVATE:
        assert private not in logged, (private, logged[-3000:])


async def test_the_filter_writes_a_database_errors_traceback_without_its_values(
        postgres_url: str) -> None:
    """Whoever logs a database error with its traceback (`log.exception`), the handler's
    filter writes it without the parameters and the row (also from a driver's own
    exception: PostgreSQL's DETAIL line)."""
    db = Database(postgres_url, SYSTEM_CLOCK)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CprMaskingFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.leak")
    logger.addHandler(handler)
    try:
        async with db.write_connection() as connection:
            await connection.execute(text(  # the source lines shown hold no private value
                "CREATE TEMPORARY TABLE leak (name text CHECK (name NOT LIKE 'Fejl %'), "
                "email text, reasons text)"))
            try:
                await connection.exec_driver_sql(
                    "INSERT INTO leak VALUES ($1, $2, $3)",
                    (PRIVATE[0], PRIVATE[1], '["exclude.serious_illness"]'))
            except Exception:  # noqa: BLE001 - the error to log
                logger.exception("insert failed")
            raw = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
            try:
                await raw.execute("CREATE TEMPORARY TABLE leak2 (name text CHECK "
                                  "(name NOT LIKE 'Fejl %'))")
                await raw.execute("INSERT INTO leak2 VALUES ($1)", PRIVATE[0])
            except asyncpg.CheckViolationError as exc:
                assert "Fejl Fejlsen" in (exc.detail or "")  # the driver does quote it
                logger.error("raw insert failed", exc_info=exc)
            finally:
                await raw.close()
    finally:
        logger.removeHandler(handler)
        await db.dispose()
    logged = stream.getvalue()
    assert "insert failed" in logged and "raw insert failed" in logged
    assert "CheckViolationError" in logged and "leak_name_check" in logged
    assert "Traceback (most recent call last)" in logged
    for private in PRIVATE:
        assert private not in logged, (private, logged)


def _connect_to(dialect: Any, port: int, url: Any, _record: Any = None) -> Any:
    return dialect.connect(host="127.0.0.1", port=port, user=url.username,
                           database=url.database)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


async def _terminate_the_others(postgres_url: str) -> int:
    """Every other connection to the database closed by the server (as a restart does)."""
    admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        while await admin.fetchval(  # gone on the server's side
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"):
            await asyncio.sleep(0.01)
        return int(killed)
    finally:
        await admin.close()


async def test_the_first_use_after_the_server_dropped_the_connections_succeeds(
        postgres_url: str) -> None:
    """The pool's connections closed by the server: the next reads and writes get live
    ones (no "connection is closed"), however many were pooled."""
    db = Database(postgres_url, SYSTEM_CLOCK)

    async def read() -> int:
        async with db.read() as session:
            return int((await session.execute(text("SELECT 1"))).scalar_one())

    async def write() -> int:
        async with db.write() as session:
            return int((await session.execute(text("SELECT 2"))).scalar_one())

    try:
        assert await asyncio.gather(*(read() for _ in range(4))) == [1] * 4  # 4 pooled
        assert await _terminate_the_others(postgres_url) == 4
        await asyncio.sleep(0.05)  # the loop reads the server's goodbye (a restart: minutes)
        assert await read() == 1
        assert await write() == 2
        assert await asyncio.gather(*(read() for _ in range(4))) == [1] * 4
        assert await db.run_read(lambda c: c.execute(text("SELECT 3")).scalar_one()) == 3
    finally:
        await db.dispose()


async def test_no_request_fails_after_the_server_dropped_the_connections(
        demo_config: MunicipalityConfig, postgres_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    async for api in start_api(demo_config, make_secrets(postgres_url)):
        await _no_request_fails(api, postgres_url, caplog)


async def _no_request_fails(api: Api, database_url: str, caplog: pytest.LogCaptureFixture
                            ) -> None:
    async def cases() -> list[int]:
        # concurrent: each request holds a connection of its own (the pool's, or new)
        answers = await asyncio.gather(*(api.client.get("/api/cases", headers=api.auth(
            "manager")) for _ in range(6)))
        return [answer.status for answer in answers]

    assert await cases() == [200] * 6  # the pool now holds several connections
    assert await _terminate_the_others(database_url) >= 2
    with caplog.at_level(logging.WARNING):
        assert await cases() == [200] * 6
        assert await cases() == [200] * 6
    assert "unhandled error" not in caplog.text


async def test_an_unreachable_database_is_a_503_with_retry_after(
        demo_config: MunicipalityConfig, postgres_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """A second app on the same database: once up, its connections go to a closed port."""
    closed = _closed_port()
    async for api in start_api(demo_config, make_secrets(postgres_url)):
        await create_staff_users(api)
        browser = await staff_browser(api)
        await log_in(browser, staff_username("admin"))
        engine = api.client.app[DB].engine
        await engine.dispose()  # the pool's connections closed; a new pool
        engine.sync_engine.pool._creator = functools.partial(  # the driver's real connect()
            _connect_to, engine.dialect, closed, engine.sync_engine.url)
        with caplog.at_level(logging.INFO):
            resp = await api.client.get("/api/cases", headers=api.auth("manager"))
            body = await resp.json()
            assert resp.status == 503, body
            assert resp.headers["Retry-After"] == "30"
            assert body["code"] == "database_unavailable" and body["error"]
            page, html = await browser.get("/admin/drift")  # a page: a Danish one
            await browser.close()
            assert page.status == 503, html
            assert page.headers["Retry-After"] == "30"
            assert "Siden kan ikke vises lige nu" in html and "<main" in html
        unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert len(unavailable) == 2, caplog.text
        assert all(r.exc_info is None and "\n" not in r.getMessage() for r in unavailable)
        assert "ConnectionRefusedError" in unavailable[0].getMessage()
        answered = [r for r in caplog.records if r.name in ("fasthold.http", "aiohttp.server")]
        assert all(r.exc_info is None and "Traceback" not in r.getMessage()
                   and "unhandled error" not in r.getMessage() for r in answered)


def test_what_counts_as_the_database_being_unavailable() -> None:
    from sqlalchemy import exc as sa_exc

    from service.platform.db.engine import database_unavailable

    refused = ConnectionRefusedError(111, "Connect call failed")
    assert not database_unavailable(refused)  # not raised by the database's code
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert database_unavailable(sa_exc.OperationalError("SELECT 1", {}, refused,
                                                        connection_invalidated=True))
    assert not database_unavailable(sa_exc.IntegrityError("INSERT", {}, ValueError("x")))
    assert not database_unavailable(ValueError("no"))
    # SQLite's write lock held past the busy timeout: busy, a 503 to try again (was a 500).
    locked = sqlite3.OperationalError("database is locked")
    assert database_unavailable(sa_exc.OperationalError("UPDATE cases", {}, locked))
    assert not database_unavailable(sa_exc.OperationalError(
        "SELECT", {}, sqlite3.OperationalError("no such table: x")))


def test_every_engine_hides_its_parameters() -> None:
    """Every SQLAlchemy engine the service makes is made with `hide_parameters=True` (or the
    engine module's ENGINE_OPTIONS, which say so): a new one cannot forget it."""
    import ast
    from pathlib import Path

    from service.platform.db.engine import ENGINE_OPTIONS

    assert ENGINE_OPTIONS["hide_parameters"] is True
    root = Path(__file__).resolve().parents[2] / "service"
    made: list[str] = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("create_async_engine", "create_engine"):
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            made.append(where)
            hides = any(k.arg == "hide_parameters" and isinstance(k.value, ast.Constant)
                        and k.value.value is True for k in node.keywords)
            options = any(k.arg is None and getattr(k.value, "id", "") == "ENGINE_OPTIONS"
                          for k in node.keywords)
            assert hides or options, f"{where}: an engine without hide_parameters=True"
    assert len(made) >= 5, made  # the web service's, the SQLite threads', the migrations'
