"""The times offered to an employer and the consultant's minutes a meeting occupies.

Confirming books every occupied minute (travel included) in `booked_minutes`, whose primary
key makes the database refuse a second booking of the same minute.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import DateTime, bindparam, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.meetings.talk_kinds import PRIVATE_TALK
from service.meetings.tasks import ABOUT_THE_MEETING, SETTLED_BY_A_TIME, close_tasks
from service.platform.db.models import BookedMinute, Meeting

log = logging.getLogger("fasthold.meetings")

# Booking a slot: one statement whose rows the database makes, a row per minute from `first`
# (`count` of them) — not a parameter set per minute (a two-hour meeting with its travel is
# some 180 rows, each bound and converted in Python). SQLite counts them with a recursive CTE
# and writes each minute as SQLAlchemy writes a DateTime there (`YYYY-MM-DD HH:MM:SS.ffffff`;
# the minutes of a slot have no seconds), so every other statement compares them alike;
# PostgreSQL has generate_series.
_BOOK = {
    "sqlite": text(
        "WITH RECURSIVE step(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM step "
        "WHERE i + 1 < :count) "
        "INSERT INTO booked_minutes (consultant_id, minute, meeting_id) "
        "SELECT :consultant_id, datetime(:first, '+' || i || ' minutes') || '.000000', "
        ":meeting_id FROM step").bindparams(bindparam("first", type_=DateTime)),
    "postgresql": text(
        "INSERT INTO booked_minutes (consultant_id, minute, meeting_id) "
        "SELECT :consultant_id, start_at + step * interval '1 minute', :meeting_id "
        "FROM (SELECT CAST(:first AS timestamp) AS start_at) AS span, "
        "generate_series(0, :count - 1) AS step").bindparams(
            bindparam("first", type_=DateTime)),
}
_FREE = delete(BookedMinute).where(BookedMinute.meeting_id == bindparam("meeting"))


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


# The times an employer turned down ("andre tider") or cancelled for a case, and a time staff
# cancelled: kept in the answered meeting's `employer_preferences[DECLINED]` (a list of
# {"start", "end"}, local wall-clock minutes), which planning adds to the case's unavailable
# times (every meeting of the case, not only the last) — never offered to that case again.
DECLINED = "declined"


def declined_times(meeting: Proposal, after: datetime | None = None
                   ) -> list[dict[str, str]]:
    """As `DECLINED` entries: the meeting's offered times that start after `after`; without
    `after`, its own time only (a confirmed meeting cancelled)."""
    slots = [Slot(meeting.start, meeting.end, meeting.travel_minutes)] if after is None \
        else [slot for slot in offered_slots(meeting) if slot.start > after]
    return [{"start": slot.start.isoformat(timespec="minutes"),
             "end": slot.end.isoformat(timespec="minutes")} for slot in slots]


async def series_of(session: AsyncSession, case_ids: Collection[int]) -> dict[int, int]:
    """Per case, the place a new follow-up takes in its series (`Meeting.series`): how many
    of its meetings were held (private talks not counted). Cases without one are left out."""
    if not case_ids:
        return {}
    return dict((await session.execute(
        select(Meeting.case_id, func.count()).where(
            Meeting.case_id.in_(list(case_ids)), Meeting.status == "held",
            Meeting.kind != PRIVATE_TALK).group_by(Meeting.case_id))).all())


def occupied_span(slot: Slot, kind: str) -> tuple[datetime, int]:
    """The first minute the consultant is taken (travel out) and how many minutes: travel
    out, the meeting, travel back."""
    travel = slot.travel_minutes if kind == "workplace_meeting" else 0
    first = slot.start - timedelta(minutes=travel)
    last = slot.end + timedelta(minutes=travel)
    return first, int((last - first).total_seconds() // 60)


def occupied_minutes(slot: Slot, kind: str) -> list[datetime]:
    """Every minute the consultant is taken: travel out, the meeting, travel back."""
    first, count = occupied_span(slot, kind)
    return [first + timedelta(minutes=i) for i in range(count)]


async def book(session: AsyncSession, meeting: Meeting, slot: Slot) -> None:
    """Book the slot's minutes for the meeting's consultant: one statement that writes a row
    per minute (`_BOOK`), refused with `IntegrityError` if another meeting has any of them.
    A plain statement on the transaction's connection (no ORM object per minute; the session
    is flushed before it commits anyway)."""
    first, count = occupied_span(slot, meeting.kind)
    if count <= 0:
        return
    if first.second or first.microsecond:  # never on the slot grid; SQLite's rows need it
        raise ValueError(f"a booked minute starts on a whole minute, not at {first}")
    connection = await session.connection()
    await connection.execute(_BOOK[connection.dialect.name], {
        "consultant_id": meeting.consultant_id, "first": first, "count": count,
        "meeting_id": meeting.id})


async def summon(session: AsyncSession, meeting: Meeting, now: datetime) -> bool:
    """A jobcentre meeting is settled when the citizen is told its time: the citizen is
    summoned (nobody else answers, as an employer answers a workplace proposal), so the
    meeting is confirmed then and there and books the consultant's minutes — it stands as a
    confirmed meeting does (planning keeps it; an absence over it lists it to be moved)
    instead of being planned anew each morning as an unanswered proposal. Returns False,
    the meeting left a proposal, when another meeting booked any of its minutes since it was
    planned (the savepoint keeps the rest of the caller's transaction)."""
    try:
        async with session.begin_nested():
            await book(session, meeting, Slot(meeting.start, meeting.end, 0))
    except IntegrityError:
        log.info("meeting %s: its time was booked by another meeting first; it stays a "
                 "proposal", meeting.id)
        return False
    meeting.status = "confirmed"
    meeting.confirmed_at = now
    # Its time stands: a wish for other times, a failed invitation are settled by it.
    await close_tasks(session, meeting.case_id, SETTLED_BY_A_TIME, now)
    return True


async def free_minutes(session: AsyncSession, meeting_id: int) -> None:
    """The meeting's booked minutes are free again (cancelled, held at another time, not
    held, moved, given to another consultant): one plain statement on the transaction's
    connection — minutes are rows, never objects of a session (`book` writes them so too),
    so nothing of the session needs flushing first."""
    await (await session.connection()).execute(_FREE, {"meeting": meeting_id})


async def cancel(session: AsyncSession, meeting: Meeting, reason: str, now: datetime) -> None:
    """The meeting will not take place: cancelled, its consultant's minutes are free, and the
    open tasks about it (call about it, it was confirmed) are done — moot now."""
    meeting.status = "cancelled"
    meeting.cancelled_at = now
    meeting.cancel_reason = reason
    await free_minutes(session, meeting.id)
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
