"""When a consultant can hold a meeting — the one reckoning of "free at that time" that moving
a meeting by hand uses (a colleague taking over a confirmed meeting, an owner change, staff
choosing a new time, a conflict found before planning):

- active, and holding workplace meetings that day when it is one;
- a working day (Monday–Friday, not a Danish public holiday or a closed date) inside their
  working hours (their own, else the municipality's), travel out and back included;
- not away (`ConsultantAbsence`, whole days) and no busy time (`CalendarEntry`: imported
  calendars; fasthold's own meeting by its calendar UID is not counted against itself);
- no other active meeting of theirs (proposed or confirmed) over the occupied minutes, and
  fewer meetings that day than their daily maximum;
- no planned private talk of theirs over the minutes (a talk has no travel and, as planning
  rule 10 says, does not count towards the daily maximum).

Everything is read once for the days asked about (`Availability.load`), then any number of
times are checked in memory (`why_not`) — the free times offered to staff are many.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from optimizer.calendar import haversine_km
from optimizer.instance import Location
from service.config import MunicipalityConfig
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_PLANNED
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantAbsence,
    Meeting,
)
from service.platform.workdays import is_working_day

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Why a consultant cannot hold a meeting at a time (the first that applies).
INACTIVE = "inactive"
ABSENCE = "absence"
CALENDAR = "calendar"
NO_WORKPLACE_MEETINGS = "no_workplace_meetings"
CLOSED_DAY = "closed_day"
OUTSIDE_HOURS = "outside_hours"
BOOKED = "booked"
DAY_FULL = "day_full"

# The reasons a meeting's own consultant can no longer hold it (Meeting.conflict_reason):
# also a day the jobcentre closed after the meeting was confirmed (`closed_every_year`,
# `closed_dates`).
CONFLICT_REASONS = (ABSENCE, CALENDAR, INACTIVE, CLOSED_DAY)


def travel_minutes(config: MunicipalityConfig, case: Case, consultant: Consultant,
                   kind: str) -> int:
    """One-way minutes from the consultant's base to the workplace (as planning reckons)."""
    employer = case.employer
    if kind != "workplace_meeting" or employer is None or employer.lat is None \
            or employer.lon is None:
        return 0
    travel = config.planning.travel
    km = haversine_km(Location(consultant.lat, consultant.lon),
                      Location(employer.lat, employer.lon))
    return math.ceil(round(km * travel.road_factor / travel.speed_kmh * 60, 9))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0))


@dataclass
class Availability:
    """One consultant's commitments over some days (see the module's doc)."""

    config: MunicipalityConfig
    consultant: Consultant
    absences: list[tuple[date, date]] = field(default_factory=list)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    occupied: list[tuple[datetime, datetime]] = field(default_factory=list)
    per_day: Counter[date] = field(default_factory=Counter)

    @classmethod
    async def load(cls, session: AsyncSession, config: MunicipalityConfig,
                   consultant: Consultant, first: date, last: date, *,
                   leaving_out: Meeting | None = None, own_uid: str | None = None
                   ) -> Availability:
        """The consultant's commitments from `first` to `last` (inclusive); `leaving_out`:
        a meeting not to count (the one being moved); `own_uid`: its calendar UID (the
        consultant's imported calendar may hold it once they accepted it)."""
        out = cls(config, consultant)
        begin, end = _day_start(first), _day_start(last + timedelta(days=1))
        out.absences = [(a.first_day, a.last_day) for a in (await session.execute(
            select(ConsultantAbsence).where(
                ConsultantAbsence.consultant_id == consultant.id,
                ConsultantAbsence.deleted_at.is_(None), ConsultantAbsence.first_day <= last,
                ConsultantAbsence.last_day >= first))).scalars()]
        for entry in (await session.execute(select(CalendarEntry).where(
                CalendarEntry.consultant_id == consultant.id, CalendarEntry.start < end,
                CalendarEntry.end > begin))).scalars():
            if own_uid is None or entry.uid != own_uid:
                out.busy.append((entry.start, entry.end))
        conditions = [Meeting.consultant_id == consultant.id,
                      Meeting.status.in_((*ACTIVE_MEETING, TALK_PLANNED)),
                      Meeting.start < end, Meeting.end > begin]
        if leaving_out is not None:
            conditions.append(Meeting.id != leaving_out.id)
        for m in (await session.execute(select(Meeting.start, Meeting.end,
                                                Meeting.travel_minutes, Meeting.kind)
                                         .where(*conditions))).all():
            if m.kind == PRIVATE_TALK:
                out.occupied.append((m.start, m.end))
                continue
            travel = timedelta(minutes=m.travel_minutes if m.kind == "workplace_meeting"
                               else 0)
            out.occupied.append((m.start - travel, m.end + travel))
            out.per_day[m.start.date()] += 1
        return out

    def hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The consultant's working hours on `day` (None: not a working day for them)."""
        if not is_working_day(day, self.config.planning.closed()):
            return None
        own = self.consultant.working_hours
        hours = own.get(WEEKDAY_KEYS[day.weekday()]) if own else \
            self.config.working_hours.as_dict().get(WEEKDAY_KEYS[day.weekday()])
        if not hours:
            return None
        return (datetime.combine(day, time.fromisoformat(hours[0])),
                datetime.combine(day, time.fromisoformat(hours[1])))

    def away(self, start: datetime, end: datetime) -> str | None:
        """Whether an absence or busy time covers any of `start`–`end`: `absence`,
        `calendar` or `inactive`; None when none does (the meeting's own consultant's
        conflicts, `Meeting.conflict_reason`)."""
        if not self.consultant.active:
            return INACTIVE
        last_day = (end - timedelta(minutes=1)).date() if end > start else start.date()
        if any(a <= last_day and start.date() <= b for a, b in self.absences):
            return ABSENCE
        if any(s < end and start < e for s, e in self.busy):
            return CALENDAR
        return None

    def why_not(self, start: datetime, end: datetime, travel: int, kind: str) -> str | None:
        """Why the consultant cannot hold a meeting of `kind` at `start`–`end` with `travel`
        minutes each way; None when they can."""
        reason = self.away(start, end)
        if reason is not None:
            return reason
        day = start.date()
        consultant = self.consultant
        if kind == "workplace_meeting" and not (consultant.workplace_meetings and (
                consultant.workplace_meetings_from is None
                or consultant.workplace_meetings_from <= day)):
            return NO_WORKPLACE_MEETINGS
        travel = travel if kind == "workplace_meeting" else 0
        first, last = start - timedelta(minutes=travel), end + timedelta(minutes=travel)
        reason = self.away(first, last)
        if reason is not None:
            return reason
        hours = self.hours(day)
        if hours is None:
            return CLOSED_DAY
        if first < hours[0] or last > hours[1]:
            return OUTSIDE_HOURS
        if any(s < last and first < e for s, e in self.occupied):
            return BOOKED
        if self.per_day[day] >= consultant.meetings_per_day:  # as `time_closed` counts
            return DAY_FULL
        return None


# `time_closed`'s one statement, made once: the consultant away that day, their other active
# meetings that day (talks not counted), their daily maximum, and busy time in their calendar
# over the occupied minutes (fasthold's own event of the meeting, by its UID, not counted).
_TIME_CLOSED = select(
    exists().where(ConsultantAbsence.consultant_id == bindparam("consultant"),
                   ConsultantAbsence.deleted_at.is_(None),
                   ConsultantAbsence.first_day <= bindparam("day"),
                   ConsultantAbsence.last_day >= bindparam("day")),
    select(func.count(Meeting.id)).where(
        Meeting.consultant_id == bindparam("consultant"), Meeting.id != bindparam("meeting"),
        Meeting.status.in_(ACTIVE_MEETING), Meeting.kind != PRIVATE_TALK,
        Meeting.start >= bindparam("begin"), Meeting.start < bindparam("end"),
    ).scalar_subquery(),
    select(Consultant.meetings_per_day).where(
        Consultant.id == bindparam("consultant")).scalar_subquery(),
    exists().where(CalendarEntry.consultant_id == bindparam("consultant"),
                   CalendarEntry.start < bindparam("last"),
                   CalendarEntry.end > bindparam("first"),
                   CalendarEntry.uid.is_distinct_from(bindparam("own_uid"))))


async def time_closed(session: AsyncSession, meeting: Meeting, start: datetime, end: datetime,
                      travel: int, own_uid: str) -> str | None:
    """Why the meeting's consultant can no longer take it at `start`–`end` (`travel` minutes
    each way for a workplace meeting), as `why_not` judges a time: away that day
    (`ABSENCE`), busy in their calendar over the occupied minutes (`CALENDAR`; `own_uid`: the
    meeting's own calendar event, which does not count), or their other active meetings that
    day (talks not counted) at their daily maximum (`DAY_FULL`); None when none. One
    statement, for a time chosen among those offered (an employer's confirmation, the times
    their page still shows): the times were free when planned, but an employer answers days
    later — one gave a consultant a fourth meeting on a day of at most three, and busy time
    imported since was left for the conflict scan to find after the confirmation. (The
    minutes are the booked minutes' to refuse, the first to book winning.)"""
    travel = travel if meeting.kind == "workplace_meeting" else 0
    day = start.date()
    away, count, limit, busy = (await (await session.connection()).execute(_TIME_CLOSED, {
        "consultant": meeting.consultant_id, "meeting": meeting.id, "day": day,
        "begin": _day_start(day), "end": _day_start(day + timedelta(days=1)),
        "first": start - timedelta(minutes=travel), "last": end + timedelta(minutes=travel),
        "own_uid": own_uid})).one()
    if away:
        return ABSENCE
    if busy:
        return CALENDAR
    return DAY_FULL if limit is not None and count >= limit else None


async def free_at(session: AsyncSession, config: MunicipalityConfig, meeting: Meeting,
                  consultant: Consultant, travel: int, own_uid: str | None = None) -> bool:
    """Whether `consultant` can hold `meeting` at its time (it left out of their count)."""
    day = meeting.start.date()
    availability = await Availability.load(session, config, consultant, day, day,
                                           leaving_out=meeting, own_uid=own_uid)
    return availability.why_not(meeting.start, meeting.end, travel, meeting.kind) is None
