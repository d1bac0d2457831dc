"""Staff confirm a meeting on the employer's behalf (after a phone call): the same booking as
the employer's page — database-enforced, with the confirmation mails and the citizen's letter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from service.intake.service import IntakeService
from service.meetings.answers import MeetingAnswers, Outcome
from service.meetings.booking import offered_slots
from service.meetings.declines import RESTORED
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Meeting
from service.platform.errors import Conflict, Invalid, NotFound
from service.platform.inputs import local_minute
from service.platform.policies import CONFIRM_MEETING

# The case's active meeting, the columns asked of it (the confirmation reads the meeting
# whole, locked).
_ACTIVE = select(Meeting.id, Meeting.case_id, Meeting.kind, Meeting.status, Meeting.start,
                 Meeting.end, Meeting.travel_minutes, Meeting.alternatives).where(
    Meeting.case_id == bindparam("case"), Meeting.status.in_(ACTIVE_MEETING))


@dataclass(frozen=True)
class Confirmed:
    """The case's meeting is confirmed at `start` (local `YYYY-MM-DDTHH:MM`); `outcome`:
    the booking's (`confirmed`; `already_confirmed` for the same time again)."""

    case_ref: str
    start: str
    outcome: str


class StaffMeetings:
    def __init__(self, db: Database, municipality_id: str, answers: MeetingAnswers,
                 intake: IntakeService) -> None:
        self.db = db
        self.municipality_id = municipality_id
        self.answers = answers
        self.intake = intake

    async def confirm(self, case_ref: str, start: str, principal: Principal) -> Confirmed:
        """Confirm one of the offered times (local `YYYY-MM-DDTHH:MM`). Who may:
        `CONFIRM_MEETING` (another consultant's case is not found, and audited)."""
        local_minute(start)
        case = await self.intake.allowed(CONFIRM_MEETING, case_ref, principal)
        async with self.db.read() as session:
            row = (await session.execute(_ACTIVE, {"case": case.id})).one_or_none()
        if row is None:
            raise NotFound(f"case {case_ref!r} has no proposed meeting", "meeting_not_found")
        when = row.start.isoformat(timespec="minutes")
        if row.status == "confirmed" and when != start:
            if row.kind == "jobcenter_meeting":
                # The citizen's letter set it (`booking.summon`): staff move it, telling them.
                raise Conflict(f"the jobcentre meeting is already set for {when} and the "
                               "citizen was told; to change it, move it (POST /api/cases/"
                               "{case_id}/meeting/move)", "jobcentre_meeting_set",
                               {"start": when})
            # Moving a confirmed meeting is the employer's (through the link) or a new plan's.
            raise Conflict(f"the meeting is already confirmed for {when}; to change it, the "
                           "employer asks for other times or cancels through the link",
                           "meeting_already_confirmed", {"start": when})
        offered = [s.key for s in offered_slots(row)]
        outcome = await self.answers.confirm(row.id, start, decline_outcome=RESTORED)
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
        async with self.db.write_connection() as connection:
            await audit.write(connection, self.answers.clock.utcnow(), principal,
                              self.municipality_id, "meeting.confirm_by_staff", row.case_id,
                              {"start": start, "outcome": outcome})
        return Confirmed(case_ref, start, str(outcome))
