"""Invitations employers have not answered: proposed meetings whose invitation went out more
than `reminder_after_working_days` (2) Danish working days ago without an answer — the
employer has had the reminder too, so a person should call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.platform.auth import Principal, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, Employer, Meeting
from service.platform.workdays import add_working_days


@dataclass(frozen=True)
class Unanswered:
    case_ref: str
    meeting_start: datetime
    meeting_end: datetime
    invited_at: datetime
    working_days: int  # working days since the invitation
    deadline: date
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
        self.after = config.mail.reminder_after_working_days
        self.closed = frozenset(config.planning.closed_dates)

    def _working_days_since(self, day: date, today: date) -> int:
        count, current = 0, day
        while (current := add_working_days(current, 1, self.closed)) <= today:
            count += 1
        return count

    async def list(self, principal: Principal) -> list[Unanswered]:
        """Oldest invitation first; a consultant sees only their own cases'."""
        today = self.clock.today()
        query = (select(Meeting, Case.case_ref, Case.first_meeting_deadline, Consultant.name,
                        Employer)
                 .join(Case, Case.id == Meeting.case_id)
                 .join(Consultant, Consultant.id == Meeting.consultant_id)
                 .outerjoin(Employer, Employer.id == Case.employer_id)
                 .where(Meeting.municipality_id == self.municipality,
                        Meeting.status == "proposed", Meeting.invited_at.is_not(None),
                        Meeting.employer_answer.is_(None), Case.closed_on.is_(None))
                 .order_by(Meeting.invited_at, Meeting.id))
        only = need_to_know(principal)
        if only is not None:
            query = query.where(Consultant.key == only)
        async with self.db.read() as session:
            rows = (await session.execute(query)).unique().all()
        out = []
        for meeting, ref, deadline, consultant, employer in rows:
            invited = as_utc(meeting.invited_at)
            since = self._working_days_since(invited.astimezone(self.clock.tz).date(), today)
            if since < self.after:
                continue
            out.append(Unanswered(
                ref, meeting.start, meeting.end, invited, since, deadline, consultant,
                employer.name if employer else None,
                employer.contact_name if employer else None,
                employer.contact_email if employer else None,
                employer.contact_phone if employer else None))
        return out
