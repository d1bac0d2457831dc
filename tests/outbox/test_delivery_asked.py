"""The outbox asks for delivery once per committed transaction that queued a message to
deliver: however many it queued, again after a later commit of the same session, never
after a rollback or for a savepoint, and not for letters waiting to be printed."""

from __future__ import annotations

from datetime import UTC, datetime

from service.clock import SettableClock
from service.outbox.store import Message, Outbox, dedupe_key
from service.platform.db.engine import Database
from service.platform.jobqueue import DELIVER_OUTBOX

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class _Jobs:
    def __init__(self) -> None:
        self.requested: list[tuple[str, str, str]] = []

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        self.requested.append((job, municipality_id, reason))


def _message(n: int, channel: str = "email") -> Message:
    return Message(channel=channel, kind="test", recipient=f"r{n}@example.dk",
                   subject="Emne", text="Tekst", html=None, payload={})


async def test_delivery_is_asked_once_per_committed_transaction(database_url: str) -> None:
    clock = SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen")
    db = Database(database_url, clock)
    jobs = _Jobs()
    outbox = Outbox(clock, jobs, "demo", "fasthold.test")
    try:
        async with db.write() as session:
            for n in range(3):
                assert await outbox.enqueue_once(session, _message(n), dedupe_key("t", n))
            outbox.enqueue(session, _message(3))
            assert jobs.requested == []  # not before the commit
        assert jobs.requested == [(DELIVER_OUTBOX, "demo", "enqueued")]

        session = db.sessions()
        try:
            async with session.begin():
                await outbox.enqueue_once(session, _message(4), dedupe_key("t", 4))
            async with session.begin():
                await outbox.enqueue_once(session, _message(5), dedupe_key("t", 5))
                await outbox.enqueue_once(session, _message(6), dedupe_key("t", 6))
            assert len(jobs.requested) == 3  # each commit of the same session asks again
            async with session.begin():
                async with session.begin_nested():
                    await outbox.enqueue_once(session, _message(9), dedupe_key("t", 9))
                assert len(jobs.requested) == 3  # a savepoint's release is not the commit
            assert len(jobs.requested) == 4
        finally:
            await session.close()
        jobs.requested.clear()
        session = db.sessions()
        try:
            await session.begin()
            await outbox.enqueue_once(session, _message(7), dedupe_key("t", 7))
            await session.rollback()
        finally:
            await session.close()
        async with db.write() as session:  # letters wait to be printed: nothing to deliver
            await outbox.enqueue_once(session, _message(8, "letter"), dedupe_key("t", 8))
        assert jobs.requested == []
    finally:
        await db.dispose()
