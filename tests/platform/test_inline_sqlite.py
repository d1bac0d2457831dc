"""The simulation's and the demo history's database (`Database(..., inline=True)`): every
statement runs in the event loop's thread, ORM sessions and Core connections alike, with the
same transactions and errors as the service's engine."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import greenlet
import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import IntegrityError

from service.clock import SettableClock
from service.platform.db import inline_sqlite
from service.platform.db.engine import Database
from service.platform.db.models import OutboxMessage

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _message(key: str) -> dict[str, Any]:
    return {"municipality_id": "demo", "channel": "email", "kind": "test", "recipient": "a@b.dk",
            "subject": "", "body_text": "", "payload": {}, "message_id": f"<{key}@test>",
            "dedupe_key": key, "status": "pending", "attempts": 0, "next_attempt_at": NOW,
            "created_at": NOW}


async def test_statements_run_in_the_event_loops_thread(sqlite_url: str) -> None:
    db = Database(sqlite_url, SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen"),
                  inline=True)
    threads: set[int] = set()
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda *_: threads.add(threading.get_ident()))
    try:
        async with db.write() as session:  # the ORM
            session.add(OutboxMessage(**_message("one")))
        async with db.write_connection() as connection:  # Core
            await connection.execute(insert(OutboxMessage), [_message("two")])
        async with db.snapshot() as session:
            count = (await session.execute(select(func.count(OutboxMessage.id)))).scalar()
        assert count == 2
        assert threads == {threading.get_ident()}
    finally:
        await db.dispose()


async def test_a_constraint_violation_is_the_usual_error_and_rolls_back(sqlite_url: str
                                                                        ) -> None:
    db = Database(sqlite_url, SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen"),
                  inline=True)
    try:
        with pytest.raises(IntegrityError):
            async with db.write() as session:
                session.add(OutboxMessage(**_message("same")))
                await session.flush()
                session.add(OutboxMessage(**_message("other") | {"dedupe_key": "same"}))
        async with db.read() as session:  # nothing of the failed transaction stayed
            assert (await session.execute(select(func.count(OutboxMessage.id)))).scalar() == 0
        async with db.write() as session:  # and the next one works
            session.add(OutboxMessage(**_message("after")))
        async with db.read() as session:
            assert (await session.execute(select(func.count(OutboxMessage.id)))).scalar() == 1
    finally:
        await db.dispose()


def test_the_asyncio_extension_hands_its_calls_to_the_inline_switch() -> None:
    """A SQLAlchemy that moved `greenlet_spawn` would leave the inline database on greenlets
    (correct, slower): this says so."""
    for module in inline_sqlite.SPAWNING_MODULES:
        assert module.greenlet_spawn is inline_sqlite._spawn, module.__name__


async def test_inline_statements_run_without_a_greenlet_per_call(sqlite_url: str) -> None:
    """On the inline database SQLAlchemy's synchronous code runs in the task's own greenlet
    (the first connection aside, made through the extension's greenlet); on aiosqlite, the
    same statements in one spawned per call."""
    clock = SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen")
    for inline, spawned in ((True, False), (False, True)):
        db = Database(sqlite_url, clock, inline=inline)
        seen: list[bool] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute",
                     lambda *_, seen=seen: seen.append(
                         greenlet.getcurrent().parent is not None))
        try:
            async with db.read() as session:  # the first connection
                await session.execute(select(func.count(OutboxMessage.id)))
            seen.clear()
            async with db.write() as session:
                session.add(OutboxMessage(**_message(f"direct-{inline}")))
            async with db.write_connection() as connection:
                await connection.execute(select(func.count(OutboxMessage.id)))
            async with db.snapshot() as session:
                await session.execute(select(func.count(OutboxMessage.id)))
            assert seen and set(seen) == {spawned}, (inline, seen)
        finally:
            await db.dispose()
    assert not inline_sqlite._DIRECT.get()  # the switch is off again outside the blocks
