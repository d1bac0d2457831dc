"""Database engine and sessions (SQLAlchemy async; SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from socket import gaierror as socket_gaierror
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, UOWTransaction

from service.clock import Clock
from service.platform.db.aiosqlite_stop import install_stop_once
from service.platform.db.inline_sqlite import direct, inline_url

T = TypeVar("T")

install_stop_once()  # a connection stopped twice no longer hangs whoever awaits the second

PROJECT_ROOT = Path(__file__).resolve().parents[3]


# PostgreSQL connections of one web process: enough for 50 concurrent requests plus the jobs.
POOL_SIZE = 20
POOL_OVERFLOW = 20
POOL_RECYCLE_SECONDS = 1800
# Every engine: a failing statement's exception text says "[SQL parameters hidden …]" instead
# of its parameters (a case's name, e-mail, phone and health reasons), so no log or traceback
# can carry them.
ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}
# SQLite file, `Database.run_read` / `run_write`: the threads (and their connections) that run
# a whole read or a whole small write in one hand-over from the event loop.
SQLITE_THREADS = 4


async def flushed_connection(session: AsyncSession) -> AsyncConnection:
    """The session's transaction's connection, for a plain Core statement in it — an insert
    or a read of rows written that way: the rows the session added (or deleted) earlier in
    the transaction written first, so they are seen and come first, without the ORM's
    execution path for the statement itself. Changed columns of rows already written wait
    for the next flush (at the latest the commit), where the ORM writes them together: no
    such statement reads them, and a flush per statement was much of a use case's time."""
    sync = session.sync_session
    if sync.autoflush and (sync.new or sync.deleted):
        await session.flush()
    return await session.connection()


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def default_sqlite_url(municipality_id: str) -> str:
    """The embedded default: one SQLite file per municipality under var/."""
    path = PROJECT_ROOT / "var" / f"fasthold-{municipality_id}.db"
    return f"sqlite+aiosqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(
            f"FASTHOLD_DATABASE_URL: unsupported database {parsed.drivername!r} "
            "(use postgresql://… or sqlite:///…)"
        )
    return parsed.render_as_string(hide_password=False)


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """On checkout from the pool: a PostgreSQL connection the server closed while it sat in
    the pool (a restart, `pg_terminate_backend`, an idle timeout) is known to asyncpg as
    closed — without a round trip: the server's goodbye and the socket's end were read by
    the event loop. Such a one is thrown away and the pool hands out another (SQLAlchemy's
    pessimistic disconnect handling, without its ping's three round trips per checkout),
    so the first request after a restart does not fail with "connection is closed"."""
    connection = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(connection, "is_closed", None)
    if callable(is_closed) and is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


# SQLSTATEs of a database that cannot be used now: class 08 (connection exception), the
# server shutting down or starting (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or used now (not that the statement
    was wrong): a connection refused, lost or timed out, the pool's wait for a connection
    timed out, the server shutting down or full. Such a request is answered 503 with
    Retry-After, not 500 (`service.platform.http.error_middleware`). The exception and those
    it was raised from (`__cause__`: SQLAlchemy's wrapping of the driver's error) count."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        if _unavailable_one(current):
            return True
        current = current.__cause__
    return False


def _unavailable_one(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool waited `pool_timeout` for a connection; or a lost one
    if isinstance(exc, sa_exc.DBAPIError):
        # (SQLite: another process held the write lock past the busy timeout — busy, not
        # broken: try again shortly)
        return exc.connection_invalidated or _unavailable_code(exc.orig) or (
            "connection is closed" in str(exc.orig)) or (
            isinstance(exc, sa_exc.OperationalError)
            and str(exc.orig).startswith("database is locked"))
    module = type(exc).__module__.split(".", 1)[0]
    if module == "asyncpg":
        import asyncpg

        return isinstance(exc, asyncpg.PostgresConnectionError
                          | asyncpg.exceptions.ConnectionDoesNotExistError) or \
            _unavailable_code(exc) or (isinstance(exc, asyncpg.InterfaceError)
                                       and "connection is closed" in str(exc))
    if module == "psycopg":
        import psycopg

        return isinstance(exc, psycopg.OperationalError) or _unavailable_code(exc)
    # The driver's connect() (SQLAlchemy lets it through as it is): refused, reset, no name,
    # or no answer in time — when it was raised inside the database's code.
    return isinstance(exc, ConnectionError | TimeoutError | socket_gaierror) and \
        _raised_in_driver(exc)


_DRIVER_PATHS = ("/sqlalchemy/", "/asyncpg/", "/psycopg/", "/psycopg_pool/", "/aiosqlite/")


def _raised_in_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if any(part in frame.tb_frame.f_code.co_filename for part in _DRIVER_PATHS):
            return True
        frame = frame.tb_next
    return False


def _unavailable_code(exc: object) -> bool:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return isinstance(code, str) and (code.startswith("08") or code in _UNAVAILABLE_SQLSTATES)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not on every commit: a crash of the process
    # loses nothing; a power cut can lose the last commits, never corrupt the file. The
    # embedded default's choice; production runs on PostgreSQL.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _json_loads(text: str | bytes) -> Any:
    """JSON columns as read: orjson (several times faster than `json` — reading many rows
    decodes their JSON columns one value at a time), `json` for what orjson refuses (NaN,
    which `json` writes), so any value stored can be read back. (orjson reads an integer
    beyond 64 bits as a float; no column of ours holds one.)"""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# Columns set from the clock when a row is first flushed; `updated_at` again on every change.
_STAMPED_ON_INSERT = ("created_at", "updated_at", "at", "started_at", "next_attempt_at",
                      "received_at", "last_seen_at")


def _session_class(clock: Clock) -> type[Session]:
    """A Session class whose flushes take their timestamps from `clock`."""

    def stamp(session: Session, _context: UOWTransaction, _instances: Any) -> None:
        now = clock.utcnow()
        for row in session.new:
            for name in _STAMPED_ON_INSERT:
                if hasattr(type(row), name) and getattr(row, name) is None:
                    setattr(row, name, now)
        for row in session.dirty:
            if hasattr(type(row), "updated_at") and session.is_modified(row):
                row.updated_at = now

    cls = type("ClockedSession", (Session,), {})
    event.listen(cls, "before_flush", stamp)
    return cls


class Database:
    """Engine, session factory and, for SQLite, one writer at a time.

    SQLite allows a single writer; serialising write transactions in the process avoids
    'database is locked' failures under bursts instead of retrying them.
    """

    def __init__(self, url: str, clock: Clock, *, inline: bool = False) -> None:
        """`inline`: SQLite statements run in the event loop's thread (`inline_sqlite`),
        for a process that awaits one use case at a time; the web service never does."""
        self.url = normalise_url(url)
        self.clock = clock
        self.is_sqlite = self.url.startswith("sqlite")
        self.inline = False  # statements in the event loop's thread (`inline_sqlite`)
        self._connected = False
        if self.is_sqlite:
            db_path = make_url(self.url).database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            if inline and db_path:
                self.engine: AsyncEngine = create_async_engine(
                    inline_url(db_path), json_deserializer=_json_loads, **ENGINE_OPTIONS)
                self.inline = True
                # The pool's first connection runs its "first connect" events under a lock
                # that awaits: made through the extension's greenlet (`_direct` waits for it).
                event.listen(self.engine.sync_engine, "first_connect", self._first_connected)
            else:
                self.engine = create_async_engine(self.url, json_deserializer=_json_loads,
                                                  **ENGINE_OPTIONS)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            # No ping before each checkout (`pool_pre_ping`: BEGIN, a statement and ROLLBACK
            # per checkout on asyncpg); connections are recycled, and one the server closed
            # (a restart) is thrown away at checkout without a round trip (`_drop_closed`).
            # One that breaks in use is still an error: the pool then drops every connection
            # made before it, and the request is answered 503 (`database_unavailable`).
            self.engine = create_async_engine(self.url, pool_size=POOL_SIZE,
                                              max_overflow=POOL_OVERFLOW,
                                              pool_recycle=POOL_RECYCLE_SECONDS,
                                              json_deserializer=_json_loads, **ENGINE_OPTIONS)
            event.listen(self.engine.sync_engine, "checkout", _drop_closed)
        session_class = _session_class(clock)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                           sync_session_class=session_class)
        # Plain reads on PostgreSQL run without BEGIN/ROLLBACK (two round trips fewer per
        # request); each statement sees what was committed when it ran. One AUTOCOMMIT engine,
        # made once (`run_read` made one per read, which registers an event listener each time).
        self._reads_engine = self.engine if self.is_sqlite else self.engine.execution_options(
            isolation_level="AUTOCOMMIT")
        self._read_sessions = self.sessions if self.is_sqlite else async_sessionmaker(
            self._reads_engine,
            expire_on_commit=False, sync_session_class=session_class)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # A SQLite file (not an in-memory database, which a second engine would not see, nor
        # an inline one): hot reads and the read audit's inserts run as plain Core statements
        # on the synchronous driver in a few threads — one hand-over per read, where
        # aiosqlite makes one (and a wake-up of the loop) per statement, cursor and commit.
        self._sync: Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        if self.is_sqlite and not inline:
            db_path = make_url(self.url).database
            if db_path and db_path != ":memory:" and not db_path.startswith("file:"):
                self._sync = create_engine(f"sqlite:///{db_path}", pool_size=SQLITE_THREADS,
                                           max_overflow=0, json_deserializer=_json_loads,
                                           **ENGINE_OPTIONS)
                event.listen(self._sync, "connect", _sqlite_pragmas)
                self._threads = ThreadPoolExecutor(SQLITE_THREADS,
                                                   thread_name_prefix="sqlite-read")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """For reads that need no single snapshot (a case, a page); never for writes."""
        with self._direct():
            async with self._read_sessions() as session:
                yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: every statement sees the same committed state."""
        with self._direct():
            async with self.sessions() as session:  # begins on first use; closing rolls back
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any error."""
        if self._write_lock is not None:
            with self._direct():
                async with self._write_lock, self.sessions() as session, session.begin():
                    yield session
        else:
            async with self.sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core-level transaction (no ORM session) for plain inserts; same write rules."""
        if self._write_lock is not None:
            with self._direct():
                async with self._write_lock, self.engine.begin() as connection:
                    yield connection
        else:
            async with self.engine.begin() as connection:
                yield connection

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """Run `work(connection)` — plain Core statements, no ORM session, no writes — and
        return its result. Like `read`, each statement sees what was committed when it ran.
        On a SQLite file the whole of `work` runs in one of a few threads on the synchronous
        driver; elsewhere (PostgreSQL, in-memory SQLite) on the async engine (`run_sync`)."""
        if self._sync is not None and self._threads is not None:
            sync = self._sync

            def run() -> T:
                with sync.connect() as connection:
                    return work(connection)

            return await asyncio.get_running_loop().run_in_executor(self._threads, run)
        with self._direct():
            async with self._reads_engine.connect() as connection:
                return await connection.run_sync(work)

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run `work(connection)` in a transaction that commits on success and rolls back on
        any error (Core statements; the same one-writer rule as `write`). On a SQLite file in
        one hand-over to a thread, as `run_read`; elsewhere on the async engine."""
        if self._sync is not None and self._threads is not None and \
                self._write_lock is not None:
            sync = self._sync

            def run() -> T:
                with sync.begin() as connection:
                    return work(connection)

            async with self._write_lock:
                return await asyncio.get_running_loop().run_in_executor(self._threads, run)
        async with self.write_connection() as connection:
            return await connection.run_sync(work)

    def _direct(self) -> AbstractContextManager[None]:
        """On an inline database, SQLAlchemy's calls run directly (`inline_sqlite.direct`),
        once its first connection is made."""
        return direct() if self.inline and self._connected else nullcontext()

    def _first_connected(self, _dbapi_connection: Any, _record: Any) -> None:
        self._connected = True

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        if self._sync is not None:
            self._sync.dispose()
            self._sync = None
