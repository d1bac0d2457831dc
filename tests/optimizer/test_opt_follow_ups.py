"""Follow-up meetings (issue 20 item 4): an optional `"first_meeting": false` per case; first
meetings keep priority in the objective (a first meeting on time before a follow-up on time),
in both solvers, and the validator checks follow-ups like first meetings."""

from __future__ import annotations

import pytest

import optimizer
from tests.optimizer.opt_helpers import by_case, case, consultant, instance, plan_both


def _contested() -> dict:
    """One meeting a day; only Wednesday 4 March is on time for both cases. The follow-up
    sorts first by id (earliest deadline first alone would give it the day)."""
    return instance([case("k0", deadline="2026-03-04", first_meeting=False),
                     case("k1", deadline="2026-03-04")],
                    [consultant("c1", max_meetings_per_day=1)])


def test_a_first_meeting_wins_a_contested_slot_over_a_follow_up():
    for solver, plan in plan_both(_contested()).items():
        items = by_case(plan)
        assert items["k1"]["on_time"] is True, solver
        assert items["k1"]["meeting"]["start"].startswith("2026-03-04"), solver
        assert items["k0"]["on_time"] is False, solver
        assert items["k0"]["meeting"] is not None, solver  # late is better than none
        assert plan["metrics"]["follow_ups_on_time"] == 0, solver


def test_cpsat_puts_a_follow_up_on_time_where_it_costs_no_first_meeting():
    """(The greedy baseline places first meetings first, each at its earliest slot.)"""
    data = instance([case("k0", deadline="2026-03-04", first_meeting=False),
                     case("k1", deadline="2026-03-20")],
                    [consultant("c1", max_meetings_per_day=1)])
    for solver, plan in [("cpsat", plan_both(data)["cpsat"])]:
        items = by_case(plan)
        assert items["k0"]["on_time"] is True and items["k1"]["on_time"] is True, solver
        assert plan["metrics"]["follow_ups_on_time"] == 1, solver


def test_first_meeting_must_be_a_boolean():
    with pytest.raises(optimizer.InstanceError, match=r"cases\[0\]\.first_meeting"):
        optimizer.parse_instance(instance([case("k0", first_meeting="no")]))


def test_the_validator_checks_a_follow_up_against_its_deadline():
    inst = optimizer.parse_instance(_contested())
    plan = optimizer.solve(inst, solver="greedy", time_limit=2.0, seed=0).to_json()
    for item in plan["assignments"]:
        if item["case_id"] == "k0":
            item["on_time"] = True  # it is late: its due date is its deadline
    problems = optimizer.validate(inst, plan)
    assert any("k0: on_time is True" in p for p in problems), problems


def test_a_follow_up_proposal_gives_way_to_a_first_meeting():
    """Rule 11 with the first-meeting weighting: a follow-up's proposal already sent holds
    the only on-time day of a first meeting. Moving it late makes the first meeting on time
    — worth more than any follow-up on time — so the stable plan moves it (before, it moved
    only when it could stay on time, and the first meeting was late)."""
    data = _contested()
    data["cases"][0]["proposal"] = {"start": "2026-03-04T09:00", "consultant_id": "c1"}
    for solver, plan in plan_both(data).items():
        items = by_case(plan)
        assert items["k1"]["on_time"] is True, solver
        assert items["k0"]["on_time"] is False and items["k0"]["meeting"] is not None, solver
        assert "proposal_moved:on_time" in items["k0"]["reasons"], solver
