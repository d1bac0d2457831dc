"""The meeting moves with the case's owner. When staff choose another owner by hand
(`IntakeService.override_owner`: the API, the case page, Slack), the case's active meeting is
never left with the old consultant, in the same transaction as the change:

- a **proposed** meeting (sent to the employer or not) is withdrawn — the employer told, as
  for any move of a proposal, that a new proposal follows — and the planning run the
  override asks for proposes a time with the new owner (the same calendar UID: the case's);
- a **confirmed** meeting keeps its time with the new owner when they are free then (active,
  holding this kind of meeting that day, no busy entry, no other booking of the minutes with
  travel from their base, their meetings that day below their daily maximum): the employer
  gets the updated invitation (REQUEST, same UID, next SEQUENCE, the new consultant as
  organiser) and the citizen the new consultant's name;
- otherwise the confirmed meeting is cancelled (the employer's calendar gets the CANCEL), the
  new owner gets a task, and planning proposes a new time.

Open tasks about the case go to the new owner too.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from optimizer.calendar import haversine_km
from optimizer.instance import Location
from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.booking import Slot, book, cancel, occupied_minutes
from service.meetings.notifications import MeetingNotifier
from service.platform.db.models import (
    ACTIVE_MEETING,
    BookedMinute,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantTask,
    Meeting,
)

NEW_OWNER_REASON = "sagen har fået en ny konsulent"

Moved = Literal["none", "withdrawn", "moved"]


class MeetingsFollowOwner:
    """Implements `service.intake.service.OwnerMeetings`."""

    def __init__(self, config: MunicipalityConfig, clock: Clock, notifier: MeetingNotifier
                 ) -> None:
        self.config = config
        self.clock = clock
        self.notifier = notifier

    async def owner_changed(self, session: AsyncSession, case: Case, owner: Consultant) -> str:
        """Move or withdraw the case's active meeting for `owner`; returns what was done
        (`none`, `withdrawn`, `moved`)."""
        await session.execute(update(ConsultantTask).where(
            ConsultantTask.case_id == case.id, ConsultantTask.done_at.is_(None))
            .values(consultant_id=owner.id))
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING))
            .with_for_update(of=Meeting, key_share=True))).unique().scalar_one_or_none()
        if meeting is None or meeting.consultant_id == owner.id:
            return "none"
        if meeting.status == "confirmed":
            travel = self._travel(case, owner, meeting.kind)
            if await self._free(session, meeting, owner, travel):
                await session.execute(BookedMinute.__table__.delete().where(
                    BookedMinute.meeting_id == meeting.id))
                meeting.consultant_id, meeting.consultant = owner.id, owner
                meeting.travel_minutes = travel
                book(session, meeting, Slot(meeting.start, meeting.end, travel))
                await session.flush()
                await self.notifier.consultant_changed(session, meeting)
                return "moved"
        was_confirmed = meeting.status == "confirmed"
        # A proposal is "moved" for the employer (a new one follows, as when planning moves
        # it); a confirmed meeting is cancelled, with the reason.
        await self.notifier.cancelled(session, meeting, NEW_OWNER_REASON, follows=True,
                                      cause=None if was_confirmed else "moved")
        await cancel(session, meeting, NEW_OWNER_REASON, self.clock.utcnow())
        if was_confirmed:
            session.add(ConsultantTask(
                municipality_id=case.municipality_id, consultant_id=owner.id,
                case_id=case.id, kind="meeting_withdrawn_new_owner",
                text="Sagen er overdraget til dig. Det bekræftede møde kunne ikke holdes af "
                     "dig på samme tidspunkt, så det er aflyst, og der planlægges et nyt."))
        return "withdrawn"

    def _travel(self, case: Case, owner: Consultant, kind: str) -> int:
        """One-way minutes from the owner's base to the workplace (as planning reckons)."""
        employer = case.employer
        if kind != "workplace_meeting" or employer is None or employer.lat is None \
                or employer.lon is None:
            return 0
        travel = self.config.planning.travel
        km = haversine_km(Location(owner.lat, owner.lon), Location(employer.lat, employer.lon))
        return math.ceil(round(km * travel.road_factor / travel.speed_kmh * 60, 9))

    async def _free(self, session: AsyncSession, meeting: Meeting, owner: Consultant,
                    travel: int) -> bool:
        day = meeting.start.date()
        if not owner.active:
            return False
        if meeting.kind == "workplace_meeting" and not (owner.workplace_meetings and (
                owner.workplace_meetings_from is None or owner.workplace_meetings_from <= day)):
            return False
        minutes = occupied_minutes(Slot(meeting.start, meeting.end, travel), meeting.kind)
        first, last = minutes[0], minutes[-1] + timedelta(minutes=1)
        busy = (await session.execute(select(CalendarEntry.id).where(
            CalendarEntry.consultant_id == owner.id, CalendarEntry.start < last,
            CalendarEntry.end > first).limit(1))).first()
        if busy is not None:
            return False
        taken = (await session.execute(select(BookedMinute.minute).where(
            BookedMinute.consultant_id == owner.id, BookedMinute.minute >= first,
            BookedMinute.minute < last).limit(1))).first()
        if taken is not None:
            return False
        that_day = (await session.execute(select(func.count(Meeting.id)).where(
            Meeting.consultant_id == owner.id, Meeting.status.in_(ACTIVE_MEETING),
            Meeting.start >= datetime.combine(day, time(0)),
            Meeting.start < datetime.combine(day + timedelta(days=1), time(0))))).scalar_one()
        return that_day < owner.meetings_per_day
