"""Staff confirm a meeting on the employer's behalf (after a phone call): the same booking as
the employer's page — database-enforced, with the confirmation mails and the citizen's letter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.intake.service import IntakeService
from service.meetings.answers import MeetingAnswers, Outcome
from service.meetings.booking import offered_slots
from service.platform import audit
from service.platform.auth import Principal, may_see
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Case, Meeting
from service.platform.errors import Conflict, Invalid, NotFound


class StaffMeetings:
    def __init__(self, db: Database, municipality_id: str, answers: MeetingAnswers,
                 intake: IntakeService) -> None:
        self.db = db
        self.municipality_id = municipality_id
        self.answers = answers
        self.intake = intake

    async def confirm(self, case_ref: str, start: str, principal: Principal) -> dict[str, Any]:
        """Confirm one of the offered times (local `YYYY-MM-DDTHH:MM`); returns the case."""
        try:
            datetime.fromisoformat(start)
        except ValueError:
            raise Invalid.field("start", "is not a real time", "time_not_real") from None
        async with self.db.read() as session:
            row = (await session.execute(
                select(Meeting).join(Case, Case.id == Meeting.case_id).where(
                    Case.municipality_id == self.municipality_id, Case.case_ref == case_ref,
                    Meeting.status.in_(ACTIVE_MEETING)))).unique().scalar_one_or_none()
        if row is None or not may_see(principal, row.case.owner.key if row.case.owner else None):
            raise NotFound(f"case {case_ref!r} has no proposed meeting", "meeting_not_found")
        if row.status == "confirmed" and row.start.isoformat(timespec="minutes") != start:
            # Moving a confirmed meeting is the employer's (through the link) or a new plan's.
            raise Conflict(f"the meeting is already confirmed for "
                           f"{row.start.isoformat(timespec='minutes')}; to change it, the "
                           "employer asks for other times or cancels through the link",
                           "meeting_already_confirmed",
                           {"start": row.start.isoformat(timespec="minutes")})
        offered = [s.key for s in offered_slots(row)]
        outcome = await self.answers.confirm(row.id, start)
        if outcome == Outcome.UNKNOWN_SLOT:
            raise Invalid.field("start", f"must be one of the offered times: "
                                f"{', '.join(offered)}", "not_offered")
        if outcome == Outcome.TOO_LATE:
            raise Invalid.field("start", "is in the past", "time_in_past")
        if outcome == Outcome.TAKEN:
            raise Conflict("the consultant was booked at that time meanwhile; choose another",
                           "slot_taken")
        if outcome == Outcome.CLOSED:
            raise Conflict("the meeting was changed meanwhile; reload the case",
                           "meeting_changed")
        async with self.db.write() as session:
            audit.record(session, principal, self.municipality_id, "meeting.confirm_by_staff",
                         row.case_id, {"start": start, "outcome": outcome})
        return await self.intake.get(case_ref, principal)
