"""Reproducible planning (`optimizer.timing.reproducible`): the plan depends on the instance
and the seed alone, not on how fast the clock runs; outside it, the limit is wall-clock time."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from ortools.sat.python import cp_model

import optimizer
from optimizer import timing
from optimizer.generator import generate_instance


def _plan(data: dict[str, Any], seed: int = 7) -> dict[str, Any]:
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="cpsat", time_limit=1.0, seed=seed)
    assert optimizer.validate(inst, plan) == []
    out = plan.to_json()
    out["metrics"] = {k: v for k, v in out["metrics"].items() if k != "solve_seconds"}
    return out


def _slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine so loaded that every look at the clock finds another 0.3 s gone."""
    ticks = itertools.count()
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0 + 0.3 * next(ticks))


def test_a_reproducible_plan_does_not_depend_on_the_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = generate_instance(40, 3, seed=2, tight=True)
    with timing.reproducible(1.0):
        calm = _plan(data)
    _slow_clock(monkeypatch)
    with timing.reproducible(1.0):
        assert _plan(data) == calm
    # on the wall clock the same loaded machine gives up its searches early: another plan
    # (the service's choice — a plan within the limit)
    assert _plan(data) != calm


def test_solver_stops_on_the_wall_clock_or_on_deterministic_time_alone() -> None:
    params = cp_model.CpSolver().parameters
    timing.limit_solver(params, 0.5)
    assert params.max_time_in_seconds == 0.5
    assert params.max_deterministic_time == timing.DETERMINISTIC_PER_SECOND * 0.5
    with timing.reproducible(1.5):
        assert timing.now() == timing.now() == 0.0
        timing.limit_solver(params, 0.5)
        assert params.max_deterministic_time == 0.75
        assert params.max_time_in_seconds == timing.SAFETY_FACTOR * 0.5
    assert timing.now() > 0  # the wall clock again after the block


def test_reproducible_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="per_second"), timing.reproducible(0):
        pass
