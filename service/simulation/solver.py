"""The planner's solver in the simulation: in this process (no worker process; the virtual
clock waits for it anyway), with the solver and the time limit the simulation asks for.

Determinism: greedy is fully deterministic. CP-SAT runs with a fixed seed and the optimizer's
own settings (one worker and a deterministic time limit on small models, `max_deterministic_time`
= 4 units per second of the limit on all); its local search and the larger model stop on the
wall clock too, so on a loaded machine a CP-SAT run may differ from another in rare cases —
the summary records the solver and limit used, and `--solver greedy` is exactly repeatable.
"""

from __future__ import annotations

import time
from dataclasses import replace

import optimizer
from service.planning.solver import (
    ALTERNATIVES_PER_PROPOSAL,
    SolveRequest,
    SolveResult,
    _slot_json,
    new_proposals,
    solve_instance,
)


class SimulationSolver:
    def __init__(self, solver: str, seed: int) -> None:
        if solver not in ("cpsat", "greedy"):
            raise ValueError(f"unknown solver {solver!r}")
        self.solver = solver
        self.seed = seed
        self.runs = 0
        self.seconds = 0.0

    async def solve(self, request: SolveRequest) -> SolveResult:
        started = time.perf_counter()
        try:
            if self.solver == "cpsat":
                return solve_instance(replace(request, seed=self.seed))
            return _greedy(request)
        finally:
            self.runs += 1
            self.seconds += time.perf_counter() - started

    def close(self) -> None:
        return None


def _greedy(request: SolveRequest) -> SolveResult:
    """The greedy baseline with the same alternatives as the service's solve."""
    instance = optimizer.parse_instance(request.instance)
    plan = optimizer.solve(instance, solver="greedy")
    data = plan.to_json()
    alternatives = {case_id: [_slot_json(a) for a in slots] for case_id, slots in
                    optimizer.alternatives_for(instance, data, new_proposals(data, request),
                                               count=ALTERNATIVES_PER_PROPOSAL,
                                               prepared=plan.prepared).items()}
    metrics = data["metrics"]
    return SolveResult(solver="greedy", status=str(metrics.get("status", "?")), metrics=metrics,
                       plan=data, alternatives=alternatives)
