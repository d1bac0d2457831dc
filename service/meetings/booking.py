"""The times offered to an employer and the consultant's minutes a meeting occupies.

Confirming books every occupied minute (travel included) in `booked_minutes`, whose primary
key makes the database refuse a second booking of the same minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.meetings.tasks import ABOUT_THE_MEETING, close_tasks
from service.platform.db.models import BookedMinute, Meeting

log = logging.getLogger("fasthold.meetings")

_BOOK = insert(BookedMinute.__table__)


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    travel_minutes: int

    @property
    def key(self) -> str:
        return self.start.isoformat(timespec="minutes")


class Proposal(Protocol):
    """What the times offered are made of: a stored `Meeting`, or those columns of one."""

    @property
    def id(self) -> int: ...

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def travel_minutes(self) -> int: ...

    @property
    def alternatives(self) -> list[dict[str, Any]] | None: ...


def offered_slots(meeting: Proposal) -> list[Slot]:
    """The proposal and its alternatives, in the order the employer sees them."""
    slots = [Slot(meeting.start, meeting.end, meeting.travel_minutes)]
    for alt in meeting.alternatives or []:
        try:
            slots.append(Slot(datetime.fromisoformat(alt["start"]),
                              datetime.fromisoformat(alt["end"]),
                              int(alt.get("travel_minutes") or 0)))
        except (KeyError, TypeError, ValueError):
            log.warning("meeting %s has a malformed alternative; skipped", meeting.id)
    return slots


def occupied_minutes(slot: Slot, kind: str) -> list[datetime]:
    """Every minute the consultant is taken: travel out, the meeting, travel back."""
    travel = slot.travel_minutes if kind == "workplace_meeting" else 0
    first = slot.start - timedelta(minutes=travel)
    last = slot.end + timedelta(minutes=travel)
    count = int((last - first).total_seconds() // 60)
    return [first + timedelta(minutes=i) for i in range(count)]


async def book(session: AsyncSession, meeting: Meeting, slot: Slot) -> None:
    """Book the slot's minutes for the meeting's consultant: one INSERT of many rows (no ORM
    object per minute), refused with `IntegrityError` if another meeting has any of them.
    A Core statement on the transaction's connection: the ORM's bulk insert went through
    its per-row bookkeeping for plain rows (and flushed the session first, which the
    transaction does anyway before it commits)."""
    rows = [{"consultant_id": meeting.consultant_id, "minute": minute, "meeting_id": meeting.id}
            for minute in occupied_minutes(slot, meeting.kind)]
    if rows:
        await (await session.connection()).execute(_BOOK, rows)


async def cancel(session: AsyncSession, meeting: Meeting, reason: str, now: datetime) -> None:
    """The meeting will not take place: cancelled, its consultant's minutes are free, and the
    open tasks about it (call about it, it was confirmed) are done — moot now."""
    meeting.status = "cancelled"
    meeting.cancelled_at = now
    meeting.cancel_reason = reason
    # minutes are rows, never objects of a session (`book` writes them with a plain statement)
    await (await session.connection()).execute(
        delete(BookedMinute).where(BookedMinute.meeting_id == meeting.id))
    await close_tasks(session, meeting.case_id, ABOUT_THE_MEETING, now)


async def free_slots(session: AsyncSession, meeting: Meeting, now: datetime) -> list[Slot]:
    """The offered slots that are still in the future and not booked by another meeting."""
    result = []
    for slot in offered_slots(meeting):
        if slot.start <= now:
            continue
        minutes = occupied_minutes(slot, meeting.kind)
        taken = (await session.execute(select(BookedMinute.minute).where(
            BookedMinute.consultant_id == meeting.consultant_id,
            BookedMinute.minute >= minutes[0], BookedMinute.minute <= minutes[-1],
            BookedMinute.meeting_id != meeting.id).limit(1))).first()
        if taken is None:
            result.append(slot)
    return result
