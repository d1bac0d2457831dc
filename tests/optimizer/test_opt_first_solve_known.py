"""The pair model's first solve is skipped when its answer is known (`_first_solve_known`):
the hint — a valid plan — already holds every case that has an on-time candidate on time, so
no plan holds more. What it stands in for must be what CP-SAT's first solve proves on the
same model: the same weighted on-time count as the bound, status OPTIMAL; and the plan
loses nothing by the skip (the same on-time, late and missing meetings). When the hint
leaves such a case out, CP-SAT solves as before."""

from __future__ import annotations

from typing import Any

import pytest
from ortools.sat.python import cp_model

import optimizer
from optimizer import pair_model
from optimizer.generator import generate_instance
from optimizer.timing import reproducible

COUNTS = ("meetings_needed", "meetings_on_time", "meetings_late", "meetings_missing")
KNOWN = pair_model._first_solve_known
RESULT = pair_model._PairSolve.result


def _plan(raw: dict[str, Any]) -> dict[str, Any]:
    with reproducible(1.0):
        plan = optimizer.solve(optimizer.parse_instance(raw), solver="cpsat", time_limit=2.0,
                               seed=1)
    data = plan.to_json()
    assert optimizer.validate(optimizer.parse_instance(raw), data) == []
    return data


def _first_solves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Record each first solve's (status, objective bound) from now on."""
    found: list[tuple[int, float]] = []

    def recording(solve: pair_model._PairSolve) -> Any:
        result = RESULT(solve)
        if not solve.second:
            found.append((result[0], result[2]))
        return result

    monkeypatch.setattr(pair_model._PairSolve, "result", recording)
    return found


# (tight instances whose hint turns out optimal: the skip is not only for ample room)
@pytest.mark.parametrize(("cases", "consultants", "seed", "talks"), [
    (30, 3, 1, 0.2), (25, 4, 3, 0.2), (40, 4, 3, 0.2), (30, 3, 2, 0.0),
])
def test_a_known_first_solve_is_what_cp_sat_proves(
        monkeypatch: pytest.MonkeyPatch, cases: int, consultants: int, seed: int,
        talks: float) -> None:
    raw = generate_instance(cases, consultants, seed=seed, tight=True, talk_share=talks)
    known: list[Any] = []
    monkeypatch.setattr(pair_model, "_first_solve_known",
                        lambda *args: known.append(KNOWN(*args)) or known[-1])
    solves = _first_solves(monkeypatch)
    skipped = _plan(raw)
    assert len(known) == 1 and known[0] is not None, "the hint is optimal"
    assert solves == [], "no first solve when its answer is known"

    monkeypatch.setattr(pair_model, "_first_solve_known", lambda *args: None)
    solved = _plan(raw)
    assert len(solves) == 1
    status, bound = solves[0]
    assert status == cp_model.OPTIMAL == known[0][0]
    assert bound == known[0][2]  # the weighted on-time count of every on-time case
    assert {k: skipped["metrics"][k] for k in COUNTS} == \
        {k: solved["metrics"][k] for k in COUNTS}


def test_a_hint_that_leaves_an_on_time_case_out_is_solved() -> None:
    on_keys = {(0, 0, 0): (60, 0, 60), (1, 0, 0): (60, 0, 60), (1, 1, 1): (60, 0, 60)}
    # case 1 can be on time but the hint has it late (day 2 is not an on-time key)
    assert KNOWN(on_keys, {(0, 0, 0), (1, 0, 2)}, {}, [1, 1]) is None
    assert KNOWN(on_keys, {(0, 0, 0)}, {}, [1, 1]) is None
    status, chosen, bound, talks = KNOWN(on_keys, {(0, 0, 0), (1, 1, 1)}, {1: 5}, [1, 3])
    assert (status, chosen, bound, talks) == \
        (cp_model.OPTIMAL, {(0, 0, 0), (1, 1, 1)}, 4.0, {1: 5})


@pytest.mark.parametrize(("cases", "consultants", "seed"), [(30, 5, 2), (40, 4, 1), (50, 3, 1)])
def test_a_hint_short_of_the_bound_is_solved_first(
        monkeypatch: pytest.MonkeyPatch, cases: int, consultants: int, seed: int) -> None:
    known: list[Any] = []
    monkeypatch.setattr(pair_model, "_first_solve_known",
                        lambda *args: known.append(KNOWN(*args)) or known[-1])
    solves = _first_solves(monkeypatch)
    _plan(generate_instance(cases, consultants, seed=seed, tight=True, talk_share=0.2))
    assert known == [None] and len(solves) == 1
