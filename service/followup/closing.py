"""Closing a case: the case has ended (recovered, dismissed, moved, …). Its open meetings are
cancelled and those told about them told, its open tasks are done, and its consultant's room
is free at the next planning run. Reopening undoes the closing and plans the case again: back
with its owner if they have room (their active cases, counted as planning counts them, below
their `max_active_cases`), otherwise without an owner — the reason in its owner reasons —
for the planning run that reopening asks for to give it to someone who has room."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.intake.service import IntakeService
from service.intake.views import case_out
from service.meetings.booking import cancel
from service.meetings.notifications import MeetingNotifier
from service.platform import audit
from service.platform.auth import Principal, may_see
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    Consultant,
    ConsultantTask,
    Meeting,
)
from service.platform.errors import Invalid, NotFound
from service.platform.jobqueue import PLAN, JobQueue

OUTCOMES = ("recovered", "partly_recovered", "dismissed", "moved", "other")
CLOSED_REASON = "sagen er afsluttet"


class CaseClosing:
    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService, jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.jobs = jobs
        self.municipality = intake.municipality

    async def _case(self, session: AsyncSession, case_ref: str, principal: Principal) -> Case:
        case = (await session.execute(select(Case).where(
            Case.municipality_id == self.municipality, Case.case_ref == case_ref)
            .with_for_update(of=Case))).unique().scalar_one_or_none()
        # Need to know: another consultant's case is answered as if it did not exist.
        if case is None or not may_see(principal, case.owner.key if case.owner else None):
            raise NotFound(f"no case with case_id {case_ref!r}", "case_not_found")
        return case

    async def close(self, case_ref: str, outcome: str, on: date, note: str,
                    principal: Principal) -> dict[str, Any]:
        """Close the case on `on`; closing a closed case again changes nothing."""
        if outcome not in OUTCOMES:
            raise Invalid.field("outcome", f"must be one of {', '.join(OUTCOMES)}", "not_one_of",
                                {"allowed": ", ".join(OUTCOMES)})
        if on > self.clock.today():
            raise Invalid.field("on", "must not be in the future", "date_in_future")
        async with self.db.write() as session:
            case = await self._case(session, case_ref, principal)
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if on < first_absence:
                raise Invalid.field("on", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            if case.closed_on is None:
                case.closed_on, case.close_outcome, case.close_note = on, outcome, note or None
                cancelled = await self._end_meetings(session, case)
                await session.execute(update(ConsultantTask).where(
                    ConsultantTask.case_id == case.id, ConsultantTask.done_at.is_(None))
                    .values(done_at=self.clock.utcnow()))
                audit.record(session, principal, self.municipality, "case.close", case.id,
                             {"outcome": outcome, "on": on.isoformat(),
                              "meetings_cancelled": cancelled})
            else:
                audit.record(session, principal, self.municipality, "case.close_again",
                             case.id, {"closed_on": case.closed_on.isoformat()})
        self.jobs.request(PLAN, self.municipality, "case_closed")
        return await self.intake.get(case_ref, principal)

    async def reopen(self, case_ref: str, principal: Principal) -> dict[str, Any]:
        """Undo the closing. The answer says, in `reopened`, whether the case went back to
        its owner (`owner_kept`) and, if not, why (`reason`, Danish words)."""
        reopened: dict[str, Any] | None = None
        snapshot: dict[str, Any] = {}
        async with self.db.write() as session:
            case = await self._case(session, case_ref, principal)
            if case.closed_on is not None:
                details: dict[str, Any] = {"was_closed_on": case.closed_on.isoformat(),
                                           "outcome": case.close_outcome}
                reopened = await self._back_to_owner(session, case)
                case.closed_on = case.close_outcome = case.close_note = None
                details["owner_kept"] = reopened["owner_kept"]
                audit.record(session, principal, self.municipality, "case.reopen", case.id,
                             details)
                snapshot = case_out(case, None, self.intake.cpr(case))
        self.jobs.request(PLAN, self.municipality, "case_reopened")
        try:
            out = await self.intake.get(case_ref, principal)
        except NotFound:
            if reopened is None:
                raise
            # A consultant reopened their case, which went to planning for lack of room: it is
            # no longer theirs to read, but they are told what became of it.
            out = snapshot
        if reopened is not None:
            out["reopened"] = reopened
        return out

    async def _back_to_owner(self, session: AsyncSession, case: Case) -> dict[str, Any]:
        """Keep the owner if they have room for one more active case (counted as planning
        counts: their open target cases); else the case has no owner until planning gives
        it one, and its owner reasons say why."""
        owner: Consultant | None = case.owner
        if owner is None:
            return {"owner_kept": False, "reason": "Sagen har ingen ejer; den fordeles ved "
                    "næste planlægning."}
        if case.status != "target":
            return {"owner_kept": True, "reason": ""}  # takes no room in the caseload
        active = (await session.execute(select(func.count(Case.id)).where(
            Case.municipality_id == self.municipality, Case.owner_id == owner.id,
            Case.closed_on.is_(None), Case.status == "target", Case.id != case.id))
        ).scalar_one()
        if owner.active and active < owner.max_active_cases:
            return {"owner_kept": True, "reason": ""}
        reason = (f"{owner.name} har ikke plads til flere sager ({active} af "
                  f"{owner.max_active_cases} aktive sager)" if owner.active else
                  f"{owner.name} er ikke længere aktiv konsulent")
        case.owner_id = None
        case.owner = None
        case.owner_overridden = False
        case.owner_reasons = [f"genåbnet: {reason}; sagen fordeles ved næste planlægning"]
        return {"owner_kept": False, "previous_owner": owner.key,
                "reason": f"Sagen er genåbnet, men {reason}. Den fordeles til en konsulent "
                          "med plads ved næste planlægning."}

    async def _end_meetings(self, session: AsyncSession, case: Case) -> int:
        meetings = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING)))
        ).unique().scalars().all()
        for meeting in meetings:
            await self.notifier.cancelled(session, meeting, CLOSED_REASON, follows=False,
                                         cause="case_closed")
            await cancel(session, meeting, CLOSED_REASON, self.clock.utcnow())
        return len(meetings)
