"""How the planner spends its time limit: on the wall clock, or reproducibly.

By default (the service) the limit is wall-clock time: the budget of each stage is what is
left of the limit when it starts, CP-SAT stops at its share of it (or at its deterministic
time, `DETERMINISTIC_PER_SECOND` units per second, whichever comes first) and the local
searches stop at their deadlines — a plan within the limit, whatever the machine's load.

`reproducible(per_second)` (the simulation) makes the plan a function of the instance and the
seed alone: inside it the budget reads a clock that does not move — every stage gets its
fixed share of the limit, the local searches run to their end — and CP-SAT stops only on
its deterministic time (`per_second` units per second of its share), its wall-clock limit
only a safety net `SAFETY_FACTOR` times the share. The same instance and seed give the same
plan on any machine and under any load; a slower machine takes longer instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ortools.sat.python import cp_model

# CP-SAT's second, reproducible stop (max_deterministic_time) per wall-clock second of the
# limit. On the 2-core development machine CP-SAT does 0.5-1 deterministic units per second on
# these models (bench S, M, L), so the wall-clock limit binds there; on a machine several times
# faster this stop binds instead and the plan no longer depends on the machine's load.
DETERMINISTIC_PER_SECOND = 4
# Reproducible runs: CP-SAT's wall-clock limit, as a multiple of its share, only against a
# machine so slow (or so loaded) that the deterministic stop would take far too long.
SAFETY_FACTOR = 20

# deterministic units per second of a share, when the run is reproducible (else None)
_REPRODUCIBLE: ContextVar[float | None] = ContextVar("optimizer_reproducible", default=None)


@contextmanager
def reproducible(per_second: float) -> Iterator[None]:
    """Plan reproducibly inside the block (see the module docstring)."""
    if not per_second > 0:
        raise ValueError("per_second must be positive")
    token = _REPRODUCIBLE.set(float(per_second))
    try:
        yield
    finally:
        _REPRODUCIBLE.reset(token)


def now() -> float:
    """The budget's clock in seconds: the wall clock's monotonic time, or — in a reproducible
    run — a clock that does not move (every deadline lies ahead, every elapsed time is 0)."""
    return 0.0 if _REPRODUCIBLE.get() is not None else time.perf_counter()


def limit_solver(params: cp_model.SatParameters, seconds: float) -> None:
    """Set CP-SAT's stops for a solve given `seconds` of the budget."""
    per_second = _REPRODUCIBLE.get()
    if per_second is None:
        params.max_time_in_seconds = seconds
        params.max_deterministic_time = DETERMINISTIC_PER_SECOND * seconds
    else:
        params.max_time_in_seconds = SAFETY_FACTOR * seconds
        params.max_deterministic_time = per_second * seconds
