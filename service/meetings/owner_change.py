"""The meeting moves with the case's owner. When staff choose another owner by hand
(`IntakeService.override_owner`: the API, the case page, Slack), the case's active meeting is
never left with the old consultant, in the same transaction as the change:

- a **proposed** meeting (sent to the employer or not) is withdrawn — the employer told, as
  for any move of a proposal, that a new proposal follows — and the planning run the
  override asks for proposes a time with the new owner (the same calendar UID: the case's);
- a **confirmed** meeting keeps its time with the new owner when they are free then (active,
  holding this kind of meeting that day, inside their working hours, not away, no busy
  entry, no other meeting over the minutes with travel from their base, their meetings that
  day below their daily maximum — `service.meetings.availability`): the employer
  gets the updated invitation (REQUEST, same UID, next SEQUENCE, the new consultant as
  organiser) and the citizen the new consultant's name;
- otherwise the confirmed meeting is cancelled (the employer's calendar gets the CANCEL), the
  new owner gets a task, and planning proposes a new time.

Open tasks about the case go to the new owner too.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.availability import free_at, travel_minutes
from service.meetings.booking import Slot, book, cancel, free_minutes
from service.meetings.notifications import MeetingNotifier
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_PLANNED
from service.platform.db.models import (
    ACTIVE_MEETING,
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
        # The citizen hears who their new consultant is (once per case and owner); a talk
        # planned with the old consultant is planned anew with the new one.
        await self.notifier.first_contact(session, case, owner)
        for talk in (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK,
                Meeting.status == TALK_PLANNED, Meeting.consultant_id != owner.id))
                ).unique().scalars():
            talk.status, talk.cancelled_at = TALK_CANCELLED, self.clock.utcnow()
            talk.cancel_reason = NEW_OWNER_REASON
            await self.notifier.talk_cancelled(session, talk, "new_owner")
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING))
            .with_for_update(of=Meeting, key_share=True))).unique().scalar_one_or_none()
        if meeting is None or meeting.consultant_id == owner.id:
            return "none"
        if meeting.status == "confirmed":
            travel = self._travel(case, owner, meeting.kind)
            if await self._free(session, meeting, owner, travel):
                await free_minutes(session, meeting.id)
                meeting.consultant_id, meeting.consultant = owner.id, owner
                meeting.travel_minutes = travel
                # A meeting the old consultant could not hold is resolved by the move.
                meeting.conflict_at = meeting.conflict_reason = meeting.substitute_id = None
                await book(session, meeting, Slot(meeting.start, meeting.end, travel))
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
        return travel_minutes(self.config, case, owner, kind)

    async def _free(self, session: AsyncSession, meeting: Meeting, owner: Consultant,
                    travel: int) -> bool:
        return await free_at(session, self.config, meeting, owner, travel,
                             own_uid=self.notifier.calendar_uid(meeting))
