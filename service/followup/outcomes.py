"""What the consultant registers on a case: the first calls to citizen and employer, how the
first follow-up meeting went (held where, employer took part, or not held: a new time is
planned), and the start of a workplace-oriented intervention. One use case for every channel:
the API, the staff pages, Slack buttons and the simulation. These are what the KPIs count.

Only the case's owner, a manager or an admin may register; another consultant's case is
answered as if it did not exist (not found), and the attempt is in the audit log
(`case.read_refused`), as for a read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.intake.service import IntakeService
from service.platform import audit
from service.platform.auth import Principal, may_see
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, BookedMinute, Case, Meeting
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.jobqueue import PLAN, JobQueue

Contact = Literal["citizen", "employer"]
Place = Literal["workplace", "jobcentre", "phone", "not_held"]
CONTACTS: tuple[Contact, ...] = ("citizen", "employer")
PLACES: tuple[Place, ...] = ("workplace", "jobcentre", "phone", "not_held")
# The meeting kind a meeting registered without a booked one gets, by where it was held.
_KIND_OF_PLACE = {"workplace": "workplace_meeting", "jobcentre": "jobcenter_meeting",
                  "phone": "telephone"}
REGISTERING_ROLES = ("consultant", "manager", "admin")


class _NotTheirs(Exception):
    """The case exists but the caller may not see it (raised inside the transaction, which
    is rolled back; the refusal is audited outside it)."""

    def __init__(self, case_id: int) -> None:
        super().__init__(case_id)
        self.case_id = case_id


class CaseOutcomes:
    def __init__(self, db: Database, clock: Clock, intake: IntakeService,
                 jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.jobs = jobs
        self.municipality = intake.municipality

    async def register_contact(self, case_ref: str, who: str, principal: Principal
                               ) -> dict[str, Any]:
        """The consultant has called the citizen or the employer (now)."""
        if who not in CONTACTS:
            raise Invalid.field("who", "must be citizen or employer", "not_one_of",
                                {"allowed": ", ".join(CONTACTS)})
        async with self._write(case_ref, principal, "register_contact") as session:
            case = await self._case(session, case_ref, principal)
            now = self.clock.utcnow()
            if who == "citizen":
                case.citizen_called_at = now
            else:
                case.employer_called_at = now
            audit.record(session, principal, self.municipality, f"case.called_{who}", case.id,
                         {})
        return await self.intake.get(case_ref, principal)

    async def register_meeting(self, case_ref: str, place: str,
                               employer_took_part: bool | None, principal: Principal
                               ) -> dict[str, Any]:
        """How the case's current meeting went: held (where; did the employer take part) or
        not held, after which planning proposes a new time. Without a current meeting that has
        begun, a meeting held now is recorded (a phone follow-up, a meeting arranged by hand).
        """
        if place not in PLACES:
            raise Invalid.field("place", f"must be one of {', '.join(PLACES)}", "not_one_of",
                                {"allowed": ", ".join(PLACES)})
        if place != "not_held" and employer_took_part is None:
            raise Invalid.field("employer_took_part", "required when the meeting was held",
                                "required_when_held")
        replan = False
        async with self._write(case_ref, principal, "register_meeting") as session:
            case = await self._case(session, case_ref, principal)
            now_local = self.clock.local_now().replace(tzinfo=None, second=0, microsecond=0)
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING))
                .with_for_update(of=Meeting))).unique().scalar_one_or_none()
            if meeting is not None and meeting.start > now_local:
                raise Conflict(f"the meeting has not begun yet (it is on "
                               f"{meeting.start.isoformat(timespec='minutes')})",
                               "meeting_not_begun",
                               {"start": meeting.start.isoformat(timespec="minutes")})
            if place == "not_held":
                if meeting is None:
                    raise Conflict("the case has no meeting to register as not held",
                                   "no_meeting_to_mark_not_held")
                meeting.status = "not_held"
                meeting.place = None
                meeting.employer_took_part = None
                # The consultant's time is free again; a new meeting is planned.
                await session.execute(delete(BookedMinute).where(
                    BookedMinute.meeting_id == meeting.id))
                replan = True
            else:
                if meeting is None:
                    meeting = self._meeting_held_now(case, place, now_local)
                    session.add(meeting)
                meeting.status = "held"
                meeting.place = place
                meeting.employer_took_part = employer_took_part
            meeting.outcome_registered_at = self.clock.utcnow()
            meeting.outcome = {"registered_by": principal.actor}
            await session.flush()
            audit.record(session, principal, self.municipality, "meeting.outcome", case.id,
                         {"meeting_id": meeting.id, "place": place,
                          "employer_took_part": employer_took_part})
        if replan:
            self.jobs.request(PLAN, self.municipality, "meeting_not_held")
        return await self.intake.get(case_ref, principal)

    async def register_intervention(self, case_ref: str, started_on: date,
                                    principal: Principal) -> dict[str, Any]:
        """A workplace-oriented intervention started on `started_on`."""
        if started_on > self.clock.today():
            raise Invalid.field("started_on", "must not be in the future", "date_in_future")
        async with self._write(case_ref, principal, "register_intervention") as session:
            case = await self._case(session, case_ref, principal)
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if started_on < first_absence:
                raise Invalid.field("started_on", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            case.intervention_started_on = started_on
            audit.record(session, principal, self.municipality, "case.intervention", case.id,
                         {"started_on": started_on.isoformat()})
        return await self.intake.get(case_ref, principal)

    def _meeting_held_now(self, case: Case, place: str, now_local: datetime) -> Meeting:
        if case.owner_id is None:
            raise Conflict("the case has no owner yet: assign a consultant first",
                           "case_has_no_owner")
        return Meeting(municipality_id=self.municipality, case_id=case.id,
                       consultant_id=case.owner_id, kind=_KIND_OF_PLACE[place],
                       start=now_local, end=now_local + timedelta(minutes=30),
                       travel_minutes=0, on_time=now_local.date() <= case.first_meeting_deadline,
                       alternatives=[])

    @asynccontextmanager
    async def _write(self, case_ref: str, principal: Principal, action: str
                     ) -> AsyncIterator[AsyncSession]:
        """A write transaction in which `_case` may find the case is not the caller's: then
        nothing is changed, the attempt is audited, and the answer is not found — exactly as
        for a case that does not exist (need to know)."""
        try:
            async with self.db.write() as session:
                yield session
        except _NotTheirs as refused:
            await self.intake.reads.record(principal, self.municipality, "case.read_refused",
                                           refused.case_id, {"action": action})
            raise NotFound(f"no case with case_id {case_ref!r}", "case_not_found") from None

    async def _case(self, session: AsyncSession, case_ref: str, principal: Principal) -> Case:
        if principal.role not in REGISTERING_ROLES:
            raise Forbidden(f"role {principal.role!r} may not register outcomes",
                            "role_not_allowed", {"role": principal.role})
        case = (await session.execute(select(Case).where(
            Case.municipality_id == self.municipality, Case.case_ref == case_ref)
            .with_for_update(of=Case))).unique().scalar_one_or_none()
        if case is None:
            raise NotFound(f"no case with case_id {case_ref!r}", "case_not_found")
        if not may_see(principal, case.owner.key if case.owner else None):
            raise _NotTheirs(case.id)
        if case.closed_on is not None:
            raise Conflict(f"the case was closed on {case.closed_on.isoformat()}", "case_closed",
                           {"closed_on": case.closed_on.isoformat()})
        return case
