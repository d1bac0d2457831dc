"""aiosqlite's connection stopped twice (`service/platform/db/aiosqlite_stop.py`): a graceful
close cancelled after a forced stop — what SQLAlchemy does to a request's connection cut at
shutdown — ends once the worker thread has, instead of waiting forever."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path

import aiosqlite
import pytest

import service.platform.db.engine  # noqa: F401 - installs the stop on import
from service.platform.db import aiosqlite_stop


def test_the_installed_stop_is_ours() -> None:
    """A new aiosqlite whose `stop` is another function: this fails, so the patch is looked
    at again (is the bug fixed there?) rather than silently left out."""
    assert aiosqlite.Connection.stop is aiosqlite_stop._stop
    aiosqlite_stop.install_stop_once()  # a second install changes nothing
    assert aiosqlite.Connection.stop is aiosqlite_stop._stop


async def test_a_cancelled_close_after_a_forced_stop_ends(tmp_path: Path) -> None:
    connection = await aiosqlite.connect(tmp_path / "stop.db")
    # the worker thread busy (as with a write waiting for another process's lock)
    busy = asyncio.ensure_future(connection._execute(time.sleep, 0.3))
    await asyncio.sleep(0.05)
    closing = asyncio.ensure_future(connection.close())  # SQLAlchemy's graceful close
    await asyncio.sleep(0.05)
    connection.stop()  # its forced close, when the wait for the graceful one is cancelled
    closing.cancel()  # the shutdown cancels the graceful close too
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(closing), 10)  # aiosqlite's own: never
    assert closing.cancelled()
    await busy  # what was queued before the stop still ran
    assert not connection._thread.is_alive()


async def test_a_stop_after_the_thread_ended_is_done_at_once(tmp_path: Path) -> None:
    connection = await aiosqlite.connect(tmp_path / "stop.db")
    first = connection.stop()
    assert first is not None
    await first
    connection._thread.join(10)
    second = connection.stop()
    assert second is not None and second.done()
    await connection.close()  # nothing left to close: returns


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_connection_collected_after_its_loop_closed_stops_quietly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection never closed, collected after its event loop was closed (the loop still
    its thread's current one): its `__del__` stops it with no loop running. aiosqlite's own
    stop made the stop's future on that closed loop, and the worker thread died answering it
    ("Event loop is closed", an unhandled exception in a thread)."""
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    threads: list[threading.Thread] = []

    def scenario() -> None:  # in a thread of its own: its current loop is its own
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        connection = loop.run_until_complete(aiosqlite.connect(":memory:"))
        threads.append(connection._thread)
        loop.close()
        del connection
        gc.collect()

    runner = threading.Thread(target=scenario)
    runner.start()
    runner.join(10)
    threads[0].join(10)
    assert not threads[0].is_alive()
    assert died == []
