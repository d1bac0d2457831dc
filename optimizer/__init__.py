"""The planner: assign cases to consultants and schedule first meetings.

Pure (no I/O); the contract is /work/shared/spec/planning.md. Public API:
`parse_instance`, `InstanceError`, `solve`, `validate`, `alternatives`, and the `Plan` types.
"""

from __future__ import annotations

import time

from optimizer.alternatives import alternatives
from optimizer.candidates import prepare
from optimizer.cpsat import DEFAULT_TIME_LIMIT, solve_cpsat
from optimizer.greedy import greedy_schedule
from optimizer.instance import Instance, InstanceError, parse_instance
from optimizer.plan import Assignment, Plan, PlannedMeeting, PlannedTalk, Unassigned, build_plan
from optimizer.validate import validate

__all__ = ["Assignment", "Instance", "InstanceError", "Plan", "PlannedMeeting", "PlannedTalk",
           "Unassigned",
           "alternatives", "parse_instance", "solve", "validate"]


def solve(instance: Instance, solver: str = "cpsat",
          time_limit: float | None = DEFAULT_TIME_LIMIT, seed: int = 0) -> Plan:
    """Plan an instance with CP-SAT (default) or the greedy baseline.

    CP-SAT falls back to the greedy plan (status says so) if it finds nothing better; the
    result always keeps hard rules 1-10. `time_limit` bounds CP-SAT's search in seconds.
    """
    started = time.perf_counter()
    if solver == "greedy":
        p = prepare(instance)
        schedule = greedy_schedule(p)
        return build_plan(p, schedule, "greedy", "FEASIBLE", time.perf_counter() - started,
                          None)
    if solver == "cpsat":
        return solve_cpsat(instance, time_limit=time_limit, seed=seed, started=started)
    raise ValueError(f"unknown solver {solver!r} (expected cpsat or greedy)")
