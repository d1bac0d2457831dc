"""The planner: assign cases to consultants and schedule first meetings.

Pure (no I/O); the contract is /work/shared/spec/planning.md. Public API:
`parse_instance`, `InstanceError`, `solve`, `validate`, `alternatives` (`alternatives_for`
many cases at once), and the `Plan` types.
"""

from __future__ import annotations

import time

from optimizer import timing
from optimizer.alternatives import alternatives, alternatives_for
from optimizer.candidates import prepare
from optimizer.cpsat import DEFAULT_TIME_LIMIT, cpsat_schedule, finish_time
from optimizer.greedy import greedy_schedule
from optimizer.instance import Instance, InstanceError, parse_instance
from optimizer.plan import Assignment, Plan, PlannedMeeting, PlannedTalk, Unassigned, build_plan
from optimizer.proposals import has_proposals, keep_proposals, release
from optimizer.validate import validate

__all__ = ["Assignment", "Instance", "InstanceError", "Plan", "PlannedMeeting", "PlannedTalk",
           "Unassigned",
           "alternatives", "alternatives_for", "parse_instance", "solve", "validate"]


def solve(instance: Instance, solver: str = "cpsat",
          time_limit: float | None = DEFAULT_TIME_LIMIT, seed: int = 0) -> Plan:
    """Plan an instance with CP-SAT (default) or the greedy baseline.

    CP-SAT falls back to the greedy plan (status says so) if it finds nothing better; the
    result always keeps hard rules 1-10. Proposals already sent (rule 11) are kept while
    possible and moved only where that makes a meeting on time (`optimizer.proposals`).
    `time_limit` bounds CP-SAT's search in seconds (on the wall clock, or reproducibly
    inside `optimizer.timing.reproducible`).
    """
    wall = time.perf_counter()  # the plan's solve_seconds
    started = timing.now()  # the budget's clock (`optimizer.timing`)
    if solver not in ("cpsat", "greedy"):
        raise ValueError(f"unknown solver {solver!r} (expected cpsat or greedy)")
    proposals = has_proposals(instance)
    possible: dict[str, bool] = {}
    if proposals:
        # rule 11: proposals still possible are kept while solving, then `release` moves one
        # only where that makes a meeting on time
        planned, possible = keep_proposals(instance)
    else:
        planned = instance
    p = prepare(planned)
    bound: int | None
    if solver == "greedy":
        schedule, status, bound = greedy_schedule(p), "FEASIBLE", None
    else:
        schedule, status, bound = cpsat_schedule(p, time_limit, seed, started)
    if proposals:
        p, schedule, real_bound = release(instance, p, schedule, possible,
                                          finish_time(started, time_limit))
        if bound is not None:
            bound = real_bound
            if sum(1 for i, (_, d, _) in schedule.meeting.items()
                   if d <= (instance.cases[i].deadline - instance.as_of).days) < bound:
                status = status.replace("OPTIMAL", "FEASIBLE")
    return build_plan(p, schedule, solver, status, time.perf_counter() - wall, bound)
