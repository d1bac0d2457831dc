"""Closing a case: the case has ended (recovered, dismissed, moved, …). Its open meetings are
cancelled and those told about them told, its open tasks are done, and its consultant's room
is free at the next planning run. Reopening undoes the closing and plans the case again: back
with its owner if they have room (their active cases, counted as planning counts them, below
their `max_active_cases`), otherwise without an owner — the reason in its owner reasons —
for the planning run that reopening asks for to give it to someone who has room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from service.clock import Clock
from service.consultants.caseload import caseloads, has_room
from service.intake.schemas import CLOSE_OUTCOMES, MAX_CLOSE_NOTE, CaseClose
from service.intake.service import IntakeService
from service.meetings.booking import cancel
from service.meetings.notifications import MeetingNotifier
from service.meetings.tasks import close_all_tasks
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    Consultant,
    Meeting,
)
from service.platform.errors import Invalid
from service.platform.inputs import validated
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import CLOSE_CASE, REOPEN_CASE

# The input model (its outcomes and note limit are every channel's): service.intake.schemas.
__all__ = ["CLOSE_OUTCOMES", "MAX_CLOSE_NOTE", "CaseClose", "CaseClosing", "Closed", "Reopened"]
CLOSED_REASON = "sagen er afsluttet"

# The case's open meetings; their case is the one `acting_on` holds (found in the session
# without a statement), so it is not joined in again.
_ACTIVE_MEETINGS = select(Meeting).where(
    Meeting.case_id == bindparam("case"), Meeting.status.in_(ACTIVE_MEETING)).options(
    lazyload(Meeting.case))


@dataclass(frozen=True)
class Closed:
    """The case is closed: on which day and how (the first closing's, when it was closed
    already: `again`), and how many meetings were cancelled."""

    case_ref: str
    on: date
    outcome: str
    again: bool = False
    meetings_cancelled: int = 0


@dataclass(frozen=True)
class Reopened:
    """What reopening did: nothing (`reopened` False: the case was not closed), or the case
    is open again — with its owner (`owner_kept`) or, if not, why (`reason`, Danish words;
    `previous_owner`, the owner it had)."""

    case_ref: str
    reopened: bool
    owner_kept: bool = True
    reason: str = ""
    previous_owner: str | None = None


class CaseClosing:
    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService, jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.jobs = jobs
        self.municipality = intake.municipality

    async def close(self, case_ref: str, outcome: str, on: date, note: str,
                    principal: Principal) -> Closed:
        """Close the case on `on`; closing a closed case again changes nothing. Who may:
        `CLOSE_CASE`; what: `CaseClose` (the API's model), and `on` not in the future nor
        before the first absence day."""
        closing = validated(CaseClose, {"outcome": outcome, "on": on, "note": note})
        CLOSE_CASE.require_role(principal)
        if closing.on > self.clock.today():
            raise Invalid.field("on", "must not be in the future", "date_in_future")
        async with self.intake.acting_on(CLOSE_CASE, case_ref, principal) as (session, case):
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if closing.on < first_absence:
                raise Invalid.field("on", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            if case.closed_on is None:
                case.closed_on, case.close_outcome = closing.on, closing.outcome
                case.close_note = closing.note or None
                cancelled = await self._end_meetings(session, case)
                # The closing and what cancelling added (tasks among it) are written first;
                # then the case's open tasks are done and the entry written, as plain
                # statements on the transaction's connection (nothing left for the commit
                # to flush).
                await session.flush()
                connection = await session.connection()
                now = self.clock.utcnow()
                await close_all_tasks(connection, case.id, now)
                await audit.write(connection, now, principal, self.municipality, "case.close",
                                  case.id, {"outcome": closing.outcome,
                                            "on": closing.on.isoformat(),
                                            "meetings_cancelled": cancelled})
                result = Closed(case_ref, closing.on, closing.outcome, False, cancelled)
            else:
                await audit.write(await session.connection(), self.clock.utcnow(), principal,
                                  self.municipality, "case.close_again", case.id,
                                  {"closed_on": case.closed_on.isoformat()})
                result = Closed(case_ref, case.closed_on, case.close_outcome or "other", True)
        self.jobs.request(PLAN, self.municipality, "case_closed")
        return result

    async def reopen(self, case_ref: str, principal: Principal) -> Reopened:
        """Undo the closing (who may: `REOPEN_CASE`). The result says whether the case went
        back to its owner and, if not, why."""
        result = Reopened(case_ref, reopened=False)
        async with self.intake.acting_on(REOPEN_CASE, case_ref, principal) as (session, case):
            if case.closed_on is not None:
                details: dict[str, Any] = {"was_closed_on": case.closed_on.isoformat(),
                                           "outcome": case.close_outcome}
                result = await self._back_to_owner(session, case)
                case.closed_on = case.close_outcome = case.close_note = None
                details["owner_kept"] = result.owner_kept
                audit.record(session, principal, self.municipality, "case.reopen", case.id,
                             details)
        self.jobs.request(PLAN, self.municipality, "case_reopened")
        return result

    async def _back_to_owner(self, session: AsyncSession, case: Case) -> Reopened:
        """Keep the owner if they have room for one more active case (their caseload, as
        `service.consultants.caseload` counts it for planning too); else the case has no
        owner until planning gives it one, and its owner reasons say why."""
        owner: Consultant | None = case.owner
        if owner is None:
            return Reopened(case.case_ref, True, False, "Sagen har ingen ejer; den fordeles "
                            "ved næste planlægning.")
        if case.status != "target":
            return Reopened(case.case_ref, True)  # takes no room in the caseload
        active = (await caseloads(session, self.municipality, owners=[owner.id],
                                  leaving_out=case.id)).get(owner.id, 0)
        if owner.active and has_room(active, owner.max_active_cases):
            return Reopened(case.case_ref, True)
        reason = (f"{owner.name} har ikke plads til flere sager ({active} af "
                  f"{owner.max_active_cases} aktive sager)" if owner.active else
                  f"{owner.name} er ikke længere aktiv konsulent")
        case.owner_id = None
        case.owner = None
        case.owner_overridden = False
        case.owner_reasons = [f"genåbnet: {reason}; sagen fordeles ved næste planlægning"]
        return Reopened(case.case_ref, True, False,
                        f"Sagen er genåbnet, men {reason}. Den fordeles til en konsulent "
                        "med plads ved næste planlægning.", owner.key)

    async def _end_meetings(self, session: AsyncSession, case: Case) -> int:
        meetings = (await session.execute(_ACTIVE_MEETINGS, {"case": case.id})
                    ).unique().scalars().all()
        for meeting in meetings:
            await self.notifier.cancelled(session, meeting, CLOSED_REASON, follows=False,
                                         cause="case_closed")
            await cancel(session, meeting, CLOSED_REASON, self.clock.utcnow())
        return len(meetings)
