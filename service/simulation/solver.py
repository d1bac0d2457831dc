"""The planner's solver in the simulation: in this process (no worker process; the virtual
clock waits for it anyway), with the solver and the time limit the simulation asks for.

Determinism: the same seed gives the same plans. Greedy is deterministic; CP-SAT runs with a
fixed seed, one worker on the models the simulation's instances make, and reproducibly
(`optimizer.timing.reproducible`): it stops on its deterministic time alone,
`DETERMINISTIC_PER_SECOND` units per second of each solve's share of the limit, and the
stages' budgets and the local searches do not read the clock — on any machine, under any
load. (On the wall clock, as the service plans, the runs that use their whole limit — the
busiest mornings — came out a little differently from one run to the next.)
"""

from __future__ import annotations

import time
from dataclasses import replace

import optimizer
from service.planning.solver import SolveRequest, SolveResult, solve_instance, solve_result

# CP-SAT's deterministic units per second of a solve's share of the limit: about what this
# 2-core development machine does in a second on these models (0.5-1), so a run takes about as
# long as on the wall clock here.
DETERMINISTIC_PER_SECOND = 1.0


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
                return solve_instance(replace(request, seed=self.seed,
                                              reproducible=DETERMINISTIC_PER_SECOND))
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
    return solve_result(instance, plan, plan.to_json(), request)
