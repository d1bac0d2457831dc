"""Invitations employers have not answered (the `/deliveries` page's list): the open cases'
workplace invitations the employer has been silent about for `reminder_after_working_days`
(2) Danish working days (`service.meetings.signals.UnansweredRule`) — the employer has had the
reminder too, so a person should call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.views import deadline_of
from service.meetings.signals import UnansweredRule
from service.platform.auth import Principal, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, Employer, Meeting


@dataclass(frozen=True)
class Unanswered:
    case_ref: str
    meeting_start: datetime
    meeting_end: datetime
    invited_at: datetime
    working_days: int  # working days since the invitation
    deadline: date  # the meeting's: the first meeting's deadline, or a follow-up's due date
    consultant_name: str
    employer_name: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None


class UnansweredInvitations:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.municipality = config.municipality.id
        self.silence = UnansweredRule.configured(config, clock.tz)

    async def list(self, principal: Principal) -> list[Unanswered]:
        """Oldest invitation first; a consultant sees only their own cases'."""
        today = self.clock.today()
        query = (select(Meeting, Case.case_ref, Consultant.name,
                        Employer, Case.contact_name, Case.contact_email, Case.contact_phone)
                 .join(Case, Case.id == Meeting.case_id)
                 .join(Consultant, Consultant.id == Meeting.consultant_id)
                 .outerjoin(Employer, Employer.id == Case.employer_id)
                 .where(Meeting.municipality_id == self.municipality,
                        Meeting.kind == "workplace_meeting", Meeting.status == "proposed",
                        Meeting.invited_at.is_not(None),
                        Meeting.employer_answer.is_(None), Case.closed_on.is_(None))
                 .order_by(Meeting.invited_at, Meeting.id))
        only = need_to_know(principal)
        if only is not None:
            query = query.where(Consultant.key == only)
        async with self.db.read() as session:
            rows = (await session.execute(query)).unique().all()
        out = []
        for meeting, ref, consultant, employer, *contact in rows:
            if not self.silence.of(meeting, today):
                continue
            invited = as_utc(meeting.invited_at)
            since = self.silence.working_days_since(invited, today)
            # a follow-up's deadline is its due date, not the first meeting's
            out.append(Unanswered(
                ref, meeting.start, meeting.end, invited, since,
                deadline_of(meeting.case, meeting), consultant,
                employer.name if employer else None, *contact))  # the case's own contact
        return out
