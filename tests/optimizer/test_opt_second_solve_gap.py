"""The pair model's second solve stops at a gap below one secondary point
(`SECOND_SOLVE_GAP_POINTS`): its objective must lie within that gap of what an exact second
solve reaches on the same model — so it loses no on-time meeting, no meeting and (but for
less than one point) nothing of the secondary goals; only ties may differ. Run on generated
instances small enough for the pair model, with follow-ups and private talks, planned
reproducibly."""

from __future__ import annotations

import pytest

import optimizer
from optimizer import pair_model
from optimizer.generator import generate_instance
from optimizer.timing import reproducible

COUNTS = ("meetings_needed", "meetings_on_time", "meetings_late", "meetings_missing")
RESULT = pair_model._PairSolve.result


def _plan(raw: dict, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[dict, list[tuple[int | None, float, int]]]:
    """The plan, and each second solve's (gap, objective, weight of a secondary point)."""
    seconds: list[tuple[int | None, float, int]] = []

    def recording(solve: pair_model._PairSolve) -> tuple:
        found = RESULT(solve)
        if solve.second:
            seconds.append((solve.gap, solve.solver.objective_value, solve.point))
        return found

    monkeypatch.setattr(pair_model._PairSolve, "result", recording)
    with reproducible(1.0):
        plan = optimizer.solve(optimizer.parse_instance(raw), solver="cpsat", time_limit=2.0,
                               seed=1)
    data = plan.to_json()
    assert optimizer.validate(optimizer.parse_instance(raw), data) == []
    return data, seconds


# (small instances where a gap of many points shows: each is worth a second solve)
@pytest.mark.parametrize(("cases", "consultants", "seed", "tight", "talks"), [
    (30, 3, 5, True, 0.2), (50, 3, 4, True, 0.0), (35, 3, 9, True, 0.3),
])
def test_the_gap_costs_no_meeting_and_under_a_point(
        monkeypatch: pytest.MonkeyPatch, cases: int, consultants: int, seed: int, tight: bool,
        talks: float) -> None:
    raw = generate_instance(cases, consultants, seed=seed, tight=tight, talk_share=talks)
    with_gap, gapped = _plan(raw, monkeypatch)
    monkeypatch.setattr(pair_model, "SECOND_SOLVE_GAP_POINTS", 0)
    exact, proven = _plan(raw, monkeypatch)
    assert len(gapped) == len(proven) == 1, "planned by the pair model, one second solve"
    (gap, found, point), (no_gap, best, _) = gapped[0], proven[0]
    assert gap is not None and no_gap is None
    assert 0 <= best - found < point  # less than one secondary point from the best
    assert {k: with_gap["metrics"][k] for k in COUNTS} == \
        {k: exact["metrics"][k] for k in COUNTS}
    assert with_gap["metrics"]["meetings_needed"] > 0
