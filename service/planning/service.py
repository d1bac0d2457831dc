"""Planning one municipality: build the instance from the database, solve it away from the
web process, store owners and proposals, and tell the people a change concerns.

Run as the `plan` job (after intake and every change that may alter a case's follow-up, and
every working morning): a run plans whatever is open, so a rerun repairs an interrupted one.
No case is silently left unplanned — unassigned cases keep the planner's reason in words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.notifications import MeetingNotifier
from service.planning.instance import build_instance
from service.planning.partition import solve_partitioned
from service.planning.solver import Solver, SolveRequest
from service.planning.store import PlanStore, UnassignedListener
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import PlanningRun

log = logging.getLogger("fasthold.planning")


@dataclass
class PlanOutcome:
    solver: str
    status: str
    metrics: dict[str, Any]
    fallback_error: str | None = None


class Planner:
    """Plans one municipality; the job runner makes sure runs do not overlap."""

    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock, solver: Solver,
                 notifier: MeetingNotifier, time_limit: float | None = None,
                 before: Callable[[], Awaitable[object]] | None = None,
                 unassigned: UnassignedListener | None = None) -> None:
        """`before`: run first in every run (`MeetingConflicts.scan`: proposals that can no
        longer stand are withdrawn, so the plan proposes anew; confirmed meetings whose
        consultant cannot hold them are listed). `unassigned`: told of each case the plan
        leaves without an owner (Slack)."""
        self.before = before
        self.db = db
        self.config = config
        self.clock = clock
        self.solver = solver
        self.notifier = notifier
        self.store = PlanStore(db, notifier, clock, unassigned)
        self.time_limit = time_limit or config.planning.time_limit_seconds
        self.solving = False

    async def run_once(self, trigger: str = "manual") -> PlanOutcome:
        if self.before is not None:
            await self.before()
        as_of = self.clock.today()
        started = time.perf_counter()
        async with self.db.snapshot() as session:
            ctx = await build_instance(session, self.config, as_of)
        built = time.perf_counter()
        standing = {ref: (m.start.isoformat(timespec="minutes"),
                          ctx.consultant_keys.get(m.consultant_id, ""), m.kind)
                    for ref, case in ctx.cases.items()
                    if (m := ctx.active_meetings.get(case.id)) is not None}
        self.solving = True
        try:
            # A large municipality with teams: one part per team, side by side.
            result = await solve_partitioned(
                self.solver, SolveRequest(ctx.instance, self.time_limit, standing),
                self.config.planning.partition_cases)
        finally:
            self.solving = False
        solved = time.perf_counter()
        if result.fallback_error:
            log.error("CP-SAT failed, using the greedy plan: %s", result.fallback_error)
        await self.store.store(ctx, result)
        # The whole run's duration, for the operator (`GET /api/operations`).
        metrics = {**result.metrics, "run_seconds": round(time.perf_counter() - started, 3)}
        async with self.db.write() as session:
            session.add(PlanningRun(
                municipality_id=self.config.municipality.id, trigger=trigger[:32],
                solver=result.solver, status=result.status, metrics=metrics,
                error=result.fallback_error))
        log.info("planning run (%s): %s/%s, %s meetings on time of %s needed; build %.2f s, "
                 "solve %.2f s, store %.2f s", trigger, result.solver, result.status,
                 result.metrics.get("meetings_on_time"), result.metrics.get("meetings_needed"),
                 built - started, solved - built, time.perf_counter() - solved)
        return PlanOutcome(result.solver, result.status, result.metrics, result.fallback_error)

    async def recent_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            runs = (await session.execute(select(PlanningRun).where(
                PlanningRun.municipality_id == self.config.municipality.id)
                .order_by(PlanningRun.id.desc()).limit(limit))).scalars().all()
        return [{"id": r.id, "started_at": as_utc(r.started_at).isoformat(), "trigger": r.trigger,
                 "solver": r.solver, "status": r.status, "metrics": r.metrics,
                 "error": r.error} for r in runs]
