"""SQLite in the event loop's thread, for a process that awaits one use case at a time on a
database of its own (the simulation, the demo's history): the standard library's driver
under SQLAlchemy's asyncio extension, each statement run at once where SQLAlchemy asks for
it. The SQL, the engine's events and the sessions are those of the aiosqlite engine.

aiosqlite hands every call — cursor, execute, fetch, commit, close — to its thread and wakes
the event loop with the answer; run in the loop's thread instead (as this process did before)
it still wraps each call in a coroutine and a future, several per statement. Here a statement
is a plain `sqlite3` call, and SQLAlchemy's check that an async driver awaited something is
met by one empty await per statement: a 4-month Herning simulation took 7 % less time (six
runs each way, back to back: 16.1 -> 15.0 s), the database the same row for row.

Inside the inline database's transactions and reads (`direct`, which `Database` opens around
each of them) SQLAlchemy's asyncio extension calls its synchronous code directly instead of
in a new greenlet per call: nothing in that code waits (the statements are plain `sqlite3`
calls), so the greenlet, its switches and the empty await per statement did nothing but cost
— Herning's 4 simulated months 23.7 -> 21.1 s (back to back), the same table. Elsewhere (the
web service, Alembic, PostgreSQL, aiosqlite) every call goes through SQLAlchemy's
`greenlet_spawn` as before: the switch is a context variable, set only by an inline
`Database`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import engine as _async_engine
from sqlalchemy.ext.asyncio import result as _async_result
from sqlalchemy.ext.asyncio import session as _async_session
from sqlalchemy.util.concurrency import await_, greenlet_spawn

DRIVER = "fasthold_inline"

T = TypeVar("T")

# Set (in the running task's context) while an inline database's transaction or read is open.
_DIRECT: ContextVar[bool] = ContextVar("fasthold_inline_direct", default=False)


@contextmanager
def direct() -> Iterator[None]:
    """Within: the asyncio extension calls its synchronous code directly (see above)."""
    token = _DIRECT.set(True)
    try:
        yield
    finally:
        _DIRECT.reset(token)


def _spawn(fn: Callable[..., T], *args: Any, _require_await: bool = False,
           **kwargs: Any) -> Awaitable[T]:
    """SQLAlchemy's `greenlet_spawn`, but a direct call inside `direct`. Everywhere else it
    returns `greenlet_spawn`'s own coroutine: no frame of ours on the web service's calls."""
    if _DIRECT.get():
        return _done(fn(*args, **kwargs))
    return greenlet_spawn(fn, *args, _require_await=_require_await, **kwargs)


async def _done(value: T) -> T:
    return value


# The asyncio extension's modules that hand their calls to `greenlet_spawn`.
SPAWNING_MODULES = (_async_engine, _async_session, _async_result)


def _install() -> None:
    """Route the extension's hand-overs through `_spawn` (once; a module whose
    `greenlet_spawn` is something else is left alone — tests/platform/test_inline_sqlite.py
    says so when a new SQLAlchemy moves it)."""
    for module in SPAWNING_MODULES:
        if getattr(module, "greenlet_spawn", None) is greenlet_spawn:
            module.greenlet_spawn = _spawn  # type: ignore[attr-defined]


_install()


async def _nothing() -> None:
    return None


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:  # type: ignore[override]
        if not _DIRECT.get():
            await_(_nothing())  # the asyncio extension's check that the driver awaited
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> _Cursor:  # type: ignore[override]
        if not _DIRECT.get():
            await_(_nothing())
        return super().executemany(sql, seq)

    async def _async_soft_close(self) -> None:
        """(the asyncio extension's hook for cursors that close by awaiting: not these)"""
        return None


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> _Cursor:  # type: ignore[override]
        return super().cursor(factory)  # type: ignore[no-any-return]


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """The pysqlite dialect, declared asynchronous: its connections make `_Cursor`s."""

    driver = DRIVER
    supports_statement_cache = True
    is_async = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return super().connect(*cargs, **{**cparams, "factory": _Connection,
                                          "check_same_thread": False})


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")


def inline_url(path: str) -> str:
    """The engine URL of the SQLite file at `path`, run in the event loop's thread."""
    return f"sqlite+{DRIVER}:///{path}"
