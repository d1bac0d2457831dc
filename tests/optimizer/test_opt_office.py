"""Issue 18 in the planner: notice in working days and the preferred notice (item 10), the
fixed employer "hard | preferred" with teams (item 8), stable proposals (rule 11, item 7).
Both solvers, every plan validated (`plan_both`)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

import optimizer
from optimizer.explain import REASONS
from tests.optimizer.opt_helpers import IKAST, by_case, case, consultant, instance, plan_both

FRIDAY = "2026-03-06"  # as of a Friday (an invitation sent Friday 14:07)


def _day(item: dict) -> date:
    return datetime.fromisoformat(item["meeting"]["start"]).date()


# -- item 10: notice in working days, preferred notice -------------------------------------------

def test_working_day_notice_skips_monday_and_tuesday():
    """min_notice 2 as of Friday: calendar days allow Monday, working days not before
    Wednesday (Monday and Tuesday are the two whole working days of notice)."""
    data = instance([case("k1", deadline="2026-03-20")], as_of=FRIDAY)
    for plan in plan_both(data).values():
        assert _day(by_case(plan)["k1"]) == date(2026, 3, 9)  # today's rule: Monday
    data["notice_in_working_days"] = True
    for plan in plan_both(data).values():
        assert _day(by_case(plan)["k1"]) == date(2026, 3, 11)  # Wednesday


def test_working_day_notice_skips_holidays_and_closed_dates():
    # as of Wednesday 1 April 2026: Thursday 2 and Friday 3 April, Monday 6 April are
    # holidays (Easter); Tuesday 7 is closed: the two working days are 8 and 9 April
    data = instance([case("k1", deadline="2026-04-30")], as_of="2026-04-01",
                    notice_in_working_days=True, closed_dates=["2026-04-07"])
    for plan in plan_both(data).values():
        assert _day(by_case(plan)["k1"]) == date(2026, 4, 10)


def test_validator_counts_notice_in_working_days():
    data = instance([case("k1", deadline="2026-03-20")], as_of=FRIDAY,
                    notice_in_working_days=True)
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="greedy").to_json()
    item = by_case(plan)["k1"]
    item["meeting"].update(start="2026-03-10T09:00", end="2026-03-10T10:00")  # a Tuesday
    problems = optimizer.validate(inst, plan)
    assert any("outside the planning window (notice 2 working days" in p for p in problems)


def test_preferred_notice_with_far_and_tight_deadlines():
    """Friday with min_notice 2 (working days) and 3 preferred: a far deadline gets its
    meeting at least 3 working days out (Thursday); a tight one (Wednesday) stays on time."""
    data = instance([case("far", deadline="2026-03-27"),
                     case("tight", deadline="2026-03-11", cvr="22222222")],
                    as_of=FRIDAY, notice_in_working_days=True,
                    preferred_notice_working_days=3)
    for solver, plan in plan_both(data).items():
        items = by_case(plan)
        assert _day(items["far"]) >= date(2026, 3, 12), solver
        assert _day(items["tight"]) == date(2026, 3, 11), solver
        assert items["tight"]["on_time"] is True
        assert plan["metrics"]["meetings_short_notice"] == 1
        assert plan["metrics"]["meetings_on_time"] == 2


def test_preferred_notice_never_costs_an_on_time_meeting():
    """One slot a day (Wed, Thu): two cases due Thursday both on time, one on Wednesday
    (short notice) rather than one late."""
    busy = [{"start": f"2026-03-{d}T10:00", "end": f"2026-03-{d}T15:30"} for d in (11, 12)]
    data = instance([case("a", deadline="2026-03-12"),
                     case("b", deadline="2026-03-12", cvr="22222222")],
                    [consultant("c1", busy=busy)],
                    as_of=FRIDAY, notice_in_working_days=True,
                    preferred_notice_working_days=3)
    for plan in plan_both(data).values():
        assert plan["metrics"]["meetings_on_time"] == 2


def test_notice_fields_are_validated():
    for field, value in (("notice_in_working_days", "yes"),
                         ("preferred_notice_working_days", -1)):
        with pytest.raises(optimizer.InstanceError, match=field):
            optimizer.parse_instance(instance([case()], **{field: value}))


# -- item 8: fixed employers hard | preferred, teams ---------------------------------------------

def _full_fixed(rule: str | None) -> dict:
    """c1 is the employer's fixed consultant and full; c2 is of c1's team, c3 of another
    team and nearer and less loaded."""
    extra = {} if rule is None else {"fixed_employers_rule": rule}
    return instance([case("k1", cvr="29189919")],
                    [consultant("c1", fixed_employers=["29189919"], team="nord",
                                max_active_cases=20, active_cases=20),
                     consultant("c2", team="nord", location=IKAST, active_cases=25),
                     consultant("c3", team="syd", active_cases=0)], **extra)


def test_fixed_employer_hard_by_default_leaves_the_case_unassigned():
    for rule in (None, "hard"):
        for plan in plan_both(_full_fixed(rule)).values():
            assert plan["unassigned"][0]["reason_code"] == "no_capacity:fixed_employer"


def test_fixed_employer_preferred_goes_to_the_same_team():
    for plan in plan_both(_full_fixed("preferred")).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c2"
        assert "fixed_full:same_team" in item["reasons"]
        assert plan["unassigned"] == []


def test_fixed_employer_preferred_is_first_when_it_has_room():
    data = _full_fixed("preferred")
    data["consultants"][0]["max_active_cases"] = 30
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c1"
        assert "fixed_employer" in item["reasons"]


def test_fixed_employer_preferred_without_team_goes_to_anyone():
    data = _full_fixed("preferred")
    data["consultants"][1]["max_active_cases"] = 25  # the team is full too
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c3"
        assert "fixed_full:other_team" in item["reasons"]


def test_fixed_employer_preferred_yields_to_on_time():
    """The fixed consultant has room but no time before the deadline: on time comes first."""
    busy = [{"start": f"2026-03-{d:02d}T08:00", "end": f"2026-03-{d:02d}T15:30"}
            for d in range(4, 7)]
    data = instance([case("k1", cvr="29189919", deadline="2026-03-06")],
                    [consultant("c1", fixed_employers=["29189919"], team="nord", busy=busy),
                     consultant("c2", team="nord", active_cases=25)],
                    fixed_employers_rule="preferred")
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c2" and item["on_time"] is True
        assert "fixed_no_time:same_team" in item["reasons"]


def test_fixed_rule_and_team_are_validated():
    with pytest.raises(optimizer.InstanceError, match="fixed_employers_rule"):
        optimizer.parse_instance(instance([case()], fixed_employers_rule="soft"))
    with pytest.raises(optimizer.InstanceError, match=r"consultants\[0\].team"):
        optimizer.parse_instance(instance([case()], [consultant(team=3)]))


def test_every_new_reason_has_a_sentence():
    for code in ("fixed_full:same_team", "fixed_no_time:other_team", "proposal_kept",
                 "proposal_moved:impossible", "proposal_moved:on_time"):
        assert code in REASONS


# -- item 7: stable proposals (rule 11) ----------------------------------------------------------

def _proposed(start: str, cid: str = "c1") -> dict:
    return {"start": start, "consultant_id": cid}


def test_unrelated_new_case_does_not_move_proposals():
    """Two proposals sent for Friday; a new case due Wednesday gets its own time and the
    proposals stay, although the earliest-first planner would have put them earlier."""
    data = instance([case("p1", consultant_id="c1", proposal=_proposed("2026-03-06T09:00")),
                     case("p2", consultant_id="c1", cvr="22222222",
                          proposal=_proposed("2026-03-06T11:00")),
                     case("new", deadline="2026-03-04", cvr="33333333")])
    for solver, plan in plan_both(data).items():
        items = by_case(plan)
        assert items["p1"]["meeting"]["start"] == "2026-03-06T09:00", solver
        assert items["p2"]["meeting"]["start"] == "2026-03-06T11:00", solver
        assert "proposal_kept" in items["p1"]["reasons"]
        assert items["new"]["on_time"] is True
        assert plan["metrics"]["proposals_moved"] == 0


def test_busy_time_over_one_proposal_moves_only_that_one():
    data = instance([case("p1", consultant_id="c1", proposal=_proposed("2026-03-06T09:00")),
                     case("p2", consultant_id="c1", cvr="22222222",
                          proposal=_proposed("2026-03-06T11:00"))],
                    [consultant("c1", busy=[{"start": "2026-03-06T08:30",
                                             "end": "2026-03-06T10:30"}])])
    for solver, plan in plan_both(data).items():
        items = by_case(plan)
        assert items["p1"]["meeting"]["start"] != "2026-03-06T09:00", solver
        assert "proposal_moved:impossible" in items["p1"]["reasons"]
        assert items["p2"]["meeting"]["start"] == "2026-03-06T11:00", solver
        assert plan["metrics"]["proposals_moved"] == 1


def test_proposal_moves_when_that_makes_a_meeting_on_time():
    """One meeting a day; a proposal sits on the only day before an urgent case's deadline
    and the proposal's own deadline leaves it room later: it moves, and only it."""
    data = instance([case("p1", consultant_id="c1", deadline="2026-03-20",
                          proposal=_proposed("2026-03-04T09:00")),
                     case("p2", consultant_id="c1", cvr="22222222", deadline="2026-03-20",
                          proposal=_proposed("2026-03-09T09:00")),
                     case("urgent", consultant_id="c1", deadline="2026-03-04",
                          cvr="33333333")],
                    [consultant("c1", max_meetings_per_day=1)])
    for solver, plan in plan_both(data).items():
        items = by_case(plan)
        assert items["urgent"]["on_time"] is True, solver
        assert "proposal_moved:on_time" in items["p1"]["reasons"], solver
        assert items["p1"]["on_time"] is True
        assert items["p2"]["meeting"]["start"] == "2026-03-09T09:00", solver


def test_proposal_inside_the_notice_is_kept_without_new_notice():
    """Sent last week for tomorrow: min_notice 2 does not move it (notice was given)."""
    data = instance([case("p1", consultant_id="c1",
                          proposal=_proposed("2026-03-03T09:00"))])
    for plan in plan_both(data).values():
        assert by_case(plan)["p1"]["meeting"]["start"] == "2026-03-03T09:00"


def test_a_proposal_on_time_only_where_it_is_keeps_the_bound_proven():
    """Sent last week for tomorrow, due tomorrow: only the proposal itself is on time (no new
    meeting may be placed inside the notice). The plan keeps it, and the proven upper bound
    counts it (it once said 0 < 1 on time: CP-SAT's plan failed validation and the service
    fell back to greedy)."""
    data = instance([case("p1", consultant_id="c1", deadline="2026-03-03",
                          proposal=_proposed("2026-03-03T09:00")),
                     case("k2", deadline="2026-03-20")])
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="cpsat", time_limit=2)
    assert optimizer.validate(inst, plan) == []
    assert plan.metrics["meetings_on_time"] == 2 == plan.metrics["upper_bound_on_time"]


def test_proposal_is_validated():
    with pytest.raises(optimizer.InstanceError, match=r"cases\[0\].proposal.consultant_id"):
        optimizer.parse_instance(instance([case(proposal=_proposed("2026-03-04T09:00", "x"))]))
    with pytest.raises(optimizer.InstanceError, match="kept meeting has no proposal"):
        optimizer.parse_instance(instance([case(
            meeting={"start": "2026-03-04T09:00", "consultant_id": "c1"},
            proposal=_proposed("2026-03-05T09:00"))]))


def test_alternatives_prefer_the_preferred_notice():
    data = instance([case("k1", deadline="2026-03-27")], as_of=FRIDAY,
                    notice_in_working_days=True, preferred_notice_working_days=3)
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="greedy")
    slots = optimizer.alternatives(inst, plan, "k1", count=2)
    assert len(slots) == 2
    assert all(s["start"][:10] >= "2026-03-12" for s in slots)  # not Wednesday 11th
