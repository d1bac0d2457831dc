"""Planning inside the service: when to plan, calling the optimizer, storing the result.

Runs after intake and after every change that may alter a case's follow-up (debounced, one run
at a time per municipality), and every working morning. The solver runs in a worker thread so
the event loop keeps serving. If CP-SAT fails or finds nothing in time, the greedy plan is
used and the event is logged; no case is silently left unplanned (unassigned cases keep a
reason in their owner reasons).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import holidays
from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

import optimizer
from service.background import cancel, finish_or_cancel
from service.config import MunicipalityConfig
from service.db.engine import Database
from service.db.models import (
    BookedMinute,
    Case,
    Consultant,
    Meeting,
    PlanningRun,
)
from service.planning_instance import ACTIVE_MEETING, InstanceContext, build_instance
from service.timeutil import COPENHAGEN, today_local, utcnow

log = logging.getLogger("fasthold.planning")

# Reason codes of the optimizer in words a person understands (shown to intake staff).
REASON_WORDS = {
    "kept_owner": "beholder sin konsulent (én hånd på bolden)",
    "fixed_employer": "fast konsulent for virksomheden",
    "least_loaded": "laveste belastning",
    "workplace_capable": "holder samtaler på arbejdspladsen",
    "near": "kort transporttid",
    "skill_match": "speciale",
    "late": "mødet ligger efter fristen",
    "no_capacity": "ingen konsulent har plads",
}
SKILL_WORDS = {"mental": "psykisk", "physical": "fysisk",
               "cancer_heart_lung": "kræft, hjerte, lunge", "other": "andet"}


def reason_in_words(code: str) -> str:
    """'skill_match:mental' -> 'speciale: psykisk'; unknown codes are shown as they are."""
    head, _, arg = code.partition(":")
    if head == "skill_match" and arg:
        return f"speciale: {SKILL_WORDS.get(arg, arg)}"
    words = REASON_WORDS.get(head)
    if words is None:
        return code
    return f"{words} ({arg.replace('_', ' ')})" if arg else words


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class PlanOutcome:
    solver: str
    status: str
    metrics: dict[str, Any]
    fallback_error: str | None = None


class Planner:
    """Plans one municipality: coalesces requests, runs one solve at a time."""

    def __init__(self, app: web.Application, db: Database, config: MunicipalityConfig,
                 time_limit: float | None = None) -> None:
        self.app = app
        self.db = db
        self.config = config
        self.time_limit = time_limit or config.planning.time_limit_seconds
        self._wanted = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._reasons: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._schedule_task: asyncio.Task[None] | None = None
        self.today = today_local
        self.runs = 0
        self._stopping = False
        self._solving = False

    # -- triggering -------------------------------------------------------------------------

    def request(self, reason: str = "change") -> None:
        """Ask for a run soon; many requests while a run is under way make one more run."""
        self._reasons.append(reason)
        self._idle.clear()
        self._wanted.set()

    async def wait_idle(self, timeout: float = 60) -> None:
        """Wait until no run is wanted or under way (used by tests and the CLI)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="planner")
        if self.config.planning.schedule_enabled:
            self._schedule_task = asyncio.create_task(self._schedule(), name="planner-schedule")

    async def stop(self) -> None:
        """Let a run under way finish and store its result, then stop.

        A run is not cancelled in the middle of a database transaction (a cancelled database
        call can leave a driver connection that never closes); only if it overruns its
        time limit by far is it cancelled.
        """
        self._stopping = True
        self._wanted.set()
        if self._schedule_task is not None:
            await cancel(self._schedule_task)
        if self._task is not None and self._solving:
            # Waiting on the solver thread, not on the database: safe to cancel at once
            # (the thread finishes on its own; its result is dropped, the next start re-plans).
            await cancel(self._task)
        elif self._task is not None:
            await finish_or_cancel(self._task, self.time_limit + 30)

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wanted.wait()
            if self._stopping:
                return
            await asyncio.sleep(0.05)  # let a burst of intakes arrive before planning
            if self._stopping:
                return  # stop() was called during the pause: its wake-up must not be lost
            self._wanted.clear()
            trigger = ",".join(sorted(set(self._reasons)))[:32] or "change"
            self._reasons.clear()
            try:
                await self.run_once(trigger)
            except Exception:
                # The next request or the morning run tries again; cases stay as they were.
                log.exception("planning run failed")
            if not self._wanted.is_set():
                self._idle.set()

    async def _schedule(self) -> None:
        """Every working morning at `schedule_time` (Europe/Copenhagen)."""
        hh, mm = map(int, self.config.planning.schedule_time.split(":"))
        while True:
            now = datetime.now(COPENHAGEN)
            run_at = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            if run_at <= now:
                run_at += timedelta(days=1)
            dk = holidays.country_holidays("DK")
            while run_at.weekday() >= 5 or run_at.date() in dk:
                run_at += timedelta(days=1)
            await asyncio.sleep((run_at - now).total_seconds())
            self.request("schedule")

    # -- one run ----------------------------------------------------------------------------

    async def run_once(self, trigger: str = "manual") -> PlanOutcome:
        as_of = self.today()
        async with self.db.read() as session:
            ctx = await build_instance(session, self.config, as_of)
        self._solving = True
        try:
            outcome, plan = await asyncio.to_thread(self._solve, ctx)
        finally:
            self._solving = False
        async with self.db.write() as session:
            await self._store(session, ctx, plan, as_of)
            session.add(PlanningRun(
                municipality_id=self.config.municipality.id, trigger=trigger,
                solver=outcome.solver, status=outcome.status, metrics=outcome.metrics,
                error=outcome.fallback_error))
        self.runs += 1
        log.info("planning run (%s): %s/%s, %s meetings on time of %s needed", trigger,
                 outcome.solver, outcome.status, outcome.metrics.get("meetings_on_time"),
                 outcome.metrics.get("meetings_needed"))
        return outcome

    def _solve(self, ctx: InstanceContext) -> tuple[PlanOutcome, Any]:
        """Solve with CP-SAT; fall back to greedy on failure. Runs in a worker thread."""
        instance = optimizer.parse_instance(ctx.instance)
        error: str | None = None
        plan = None
        try:
            plan = optimizer.solve(instance, solver="cpsat", time_limit=self.time_limit, seed=0)
            problems = optimizer.validate(instance, plan)
            if problems:
                raise RuntimeError(f"CP-SAT plan failed validation: {problems[0]}")
        except Exception as exc:  # noqa: BLE001 - any solver failure falls back to greedy
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("CP-SAT failed, using the greedy plan: %s", error)
            plan = optimizer.solve(instance, solver="greedy", time_limit=self.time_limit, seed=0)
        data = plan.to_json()
        metrics = data["metrics"]
        outcome = PlanOutcome(solver=metrics.get("solver", "?"),
                              status=str(metrics.get("status", "?")), metrics=metrics,
                              fallback_error=error)
        return outcome, (instance, plan, data)

    async def _store(self, session: AsyncSession, ctx: InstanceContext, solved: Any,
                     as_of: date) -> None:
        from service.invitations import EMAIL_FLOW, invite_employer, notify_meeting_cancelled

        instance, plan, data = solved
        fresh = {c.id: c for c in (await session.execute(select(Case).where(
            Case.id.in_([c.id for c in ctx.cases.values()])))).unique().scalars()}
        active = {m.case_id: m for m in (await session.execute(select(Meeting).where(
            Meeting.municipality_id == self.config.municipality.id,
            Meeting.status.in_(ACTIVE_MEETING)))).unique().scalars()}

        for item in data["assignments"]:
            planned = ctx.cases.get(item["case_id"])
            case = fresh.get(planned.id) if planned else None
            consultant = ctx.consultants.get(item["consultant_id"])
            if case is None or consultant is None:
                continue
            # The instance's consultant rows came from another session: use this session's.
            consultant = await session.get(Consultant, consultant.id)
            if consultant is None:
                continue
            if case.follow_up != planned.follow_up or case.status != "target":
                continue  # changed while we solved: the next run (already requested) plans it
            if case.owner_id is None:
                case.owner_id = consultant.id
                case.owner = consultant
                case.owner_reasons = [reason_in_words(r) for r in item.get("reasons") or []] \
                    or ["laveste belastning"]
            meeting = active.get(case.id)
            wanted = item.get("meeting")
            if meeting is not None and meeting.status == "confirmed":
                continue
            if meeting is not None and item["case_id"] in ctx.pinned_invitations and wanted \
                    and _dt(wanted["start"]) == meeting.start:
                continue  # the invitation already sent stays as it is
            if wanted is None:
                continue
            if meeting is not None and meeting.start == _dt(wanted["start"]) and \
                    meeting.consultant_id == consultant.id and meeting.kind == wanted["kind"]:
                continue
            if meeting is not None:
                meeting.status = "cancelled"
                meeting.cancelled_at = utcnow()
                meeting.cancel_reason = "planlagt om"
                if meeting.invited_at is not None:
                    await notify_meeting_cancelled(session, self.app, meeting,
                                                   "mødet er flyttet")
                await session.flush()
            alternatives = optimizer.alternatives(instance, plan, item["case_id"], count=2)
            new = Meeting(
                municipality_id=self.config.municipality.id, case_id=case.id,
                consultant_id=consultant.id, kind=wanted["kind"], start=_dt(wanted["start"]),
                end=_dt(wanted["end"]), travel_minutes=wanted.get("travel_minutes", 0),
                on_time=bool(item["on_time"]), status="proposed",
                alternatives=[_slot_json(a) for a in alternatives])
            new.case = case
            new.consultant = consultant
            session.add(new)
            await session.flush()
            try:
                await invite_employer(session, self.app, new)
            except Exception:
                # One case's invitation must not cost the others their plan: keep the
                # proposal, and ask the consultant to contact the employer instead.
                log.exception("invitation for case %s could not be made", case.case_ref)
                await self.app[EMAIL_FLOW].add_task_once(
                    session, new, "invitation_failed",
                    "Invitationen kunne ikke sendes automatisk: kontakt arbejdsgiveren og "
                    "aftal mødetidspunkt.")

        for item in data.get("unassigned", []):
            planned = ctx.cases.get(item["case_id"])
            case = fresh.get(planned.id) if planned else None
            if case is not None and case.owner_id is None:
                case.owner_reasons = [f"ikke fordelt: {item.get('reason', 'ukendt årsag')}"]

        # Meetings no longer wanted: the follow-up changed (telephone, standard, declined, …).
        planned_kind = {c.id: c.follow_up for c in fresh.values() if c.status == "target"}
        for case_id, meeting in active.items():
            kind = planned_kind.get(case_id)
            if kind == meeting.kind:
                continue
            case = meeting.case
            if case.status == "target" and case.follow_up == meeting.kind:
                continue
            meeting.status = "cancelled"
            meeting.cancelled_at = utcnow()
            meeting.cancel_reason = "opfølgningen er ændret"
            await session.execute(delete(BookedMinute).where(
                BookedMinute.meeting_id == meeting.id))
            await notify_meeting_cancelled(session, self.app, meeting, "opfølgningen er ændret",
                                           follows=False)


def _slot_json(slot: Any) -> dict[str, Any]:
    if isinstance(slot, dict):
        return {k: (v.isoformat(timespec="minutes") if isinstance(v, datetime) else v)
                for k, v in slot.items()}
    out: dict[str, Any] = {}
    for key in ("start", "end", "travel_minutes"):
        value = getattr(slot, key, None)
        out[key] = value.isoformat(timespec="minutes") if isinstance(value, datetime) else value
    return out


PLANNER = web.AppKey("planner", Planner)


async def planner_ctx(app: web.Application) -> AsyncIterator[None]:
    from service.app import CONFIG
    from service.http import DB
    from service.intake import INTAKE

    planner = Planner(app, app[DB], app[CONFIG])
    app[PLANNER] = planner
    app[INTAKE].listeners.append(lambda _municipality: planner.request("change"))
    planner.start()
    planner.request("start")
    yield
    await planner.stop()
