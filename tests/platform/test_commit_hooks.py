"""`on_commit`: each key's first callback runs once after the whole transaction commits —
not at a savepoint's release, not after a rollback — and again for the session's next
transaction (tests/outbox/test_delivery_asked.py: the outbox asking for delivery by it)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from service.clock import SettableClock
from service.platform.db.commit_hooks import on_commit
from service.platform.db.engine import Database

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def test_each_key_runs_once_after_the_commit(database_url: str) -> None:
    db = Database(database_url, SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen"))
    ran: list[str] = []
    try:
        session = db.sessions()
        try:
            async with session.begin():
                await session.execute(text("SELECT 1"))
                on_commit(session, "a", lambda: ran.append("a1"))
                on_commit(session, "b", lambda: ran.append("b"))
                on_commit(session, "a", lambda: ran.append("a2"))  # "a" is asked for already
                async with session.begin_nested():
                    on_commit(session, "c", lambda: ran.append("c"))
                assert ran == []  # the savepoint's release is not the commit
            assert ran == ["a1", "b", "c"]
            async with session.begin():
                on_commit(session, "a", lambda: ran.append("again"))
            assert ran == ["a1", "b", "c", "again"]
            await session.begin()
            on_commit(session, "a", lambda: ran.append("rolled back"))
            await session.rollback()
            async with session.begin():
                await session.execute(text("SELECT 1"))
            assert ran == ["a1", "b", "c", "again"]
        finally:
            await session.close()
    finally:
        await db.dispose()
