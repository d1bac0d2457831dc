"""aiosqlite's `Connection.stop` made safe to call a second time.

aiosqlite (0.22) runs each connection in a worker thread that ends at the first stop's
sentinel and reads nothing queued after it. `stop()` always queues another sentinel and
returns its future, so a second stop's future is never resolved, and whoever awaits it waits
forever. `close()` awaits one in its `finally`.

The web service met this when a request was cut during a write (`FASTHOLD_SHUTDOWN_TIMEOUT`
after SIGTERM): SQLAlchemy terminates the cancelled request's connection with a graceful
`close()` in a shielded task, and when that wait is cancelled too, it stops the connection at
once (`_terminate_force_close`). The graceful close, cancelled in turn at shutdown, then
stopped the connection a second time and waited for that stop: the process never exited
(tests/commands/test_serve_lifecycle.py, about one run in ten under load).

Here a stop after the first returns a future of the worker thread's end instead: at once if
it has ended, else when it ends (after what is queued before the first stop's sentinel).

A first stop with no event loop running — a connection never closed, stopped by its
`__del__` when garbage is collected — queues its sentinel without a future. aiosqlite's own
made the future on `asyncio.get_event_loop()`, which there may be a loop already closed: the
worker thread, answering on it, died of "Event loop is closed" (pytest's unhandled thread
exception warning, once in a suite run). Nobody awaits that stop, so it needs no future.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
from aiosqlite import core as _core

_AIOSQLITE_STOP = aiosqlite.Connection.stop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _stop(self: aiosqlite.Connection) -> asyncio.Future[Any] | None:
    thread = getattr(self, "_thread", None)
    loop = _running_loop()
    if getattr(self, "_running", True) or thread is None:
        # the first stop (or an aiosqlite whose connection is not as read here)
        if loop is None and _stop_unawaited(self):
            return None
        return _AIOSQLITE_STOP(self)
    if loop is None:  # no loop to wait in (aiosqlite's own stop returns None then too)
        return None
    if thread.is_alive():
        try:
            return loop.run_in_executor(None, thread.join)
        except RuntimeError:  # the loop's executor already shut down: nothing to wait in
            return None
    ended: asyncio.Future[Any] = loop.create_future()
    ended.set_result(None)
    return ended


def _stop_unawaited(connection: aiosqlite.Connection) -> bool:
    """aiosqlite's first stop, its sentinel queued without a future (no loop is running, so
    none can be awaited); False, and nothing done, for an aiosqlite not as read here."""
    sentinel = getattr(_core, "_STOP_RUNNING_SENTINEL", None)
    queue = getattr(connection, "_tx", None)
    if sentinel is None or queue is None or not hasattr(connection, "_connection"):
        return False

    def close_and_stop() -> object:
        if connection._connection is not None:
            connection._connection.close()
            connection._connection = None
        return sentinel

    connection._running = False
    queue.put_nowait((None, close_and_stop))
    return True


def install_stop_once() -> None:
    """Put `_stop` in place of `aiosqlite.Connection.stop` (once; a `stop` that is not the
    one this module read at import is left alone — tests/platform/test_aiosqlite_stop.py
    says so when a new aiosqlite changes it)."""
    if aiosqlite.Connection.stop is _AIOSQLITE_STOP:
        aiosqlite.Connection.stop = _stop  # type: ignore[method-assign]
