"""Specific reasons for late, missing and unassigned cases: one small instance per reason in
which it is the true reason, with both solvers (and every plan validated)."""

from __future__ import annotations

from typing import Any

import pytest

import optimizer
from optimizer.candidates import Schedule, prepare
from optimizer.explain import REASONS, describe
from optimizer.generator import generate_instance
from optimizer.plan import build_plan
from tests.optimizer.opt_helpers import IKAST, by_case, case, consultant, instance, plan_both

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _busy(start: str, end: str) -> list[dict[str, str]]:
    return [{"start": start, "end": end}]


def _unavailable(item: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    item["employer"]["unavailable"] = _busy(start, end)
    return item


def _specific(item: dict[str, Any]) -> list[str]:
    """The specific not-on-time codes of an assignment (after the plain `late`)."""
    return [r for r in item["reasons"] if r.startswith(("late:", "no_meeting:"))]


def _only_unassigned(data: dict[str, Any], case_id: str, code: str, text: str) -> None:
    for plan in plan_both(data).values():
        assert plan["unassigned"] == [{"case_id": case_id, "reason": text, "reason_code": code}]


# -- unassigned ----------------------------------------------------------------------------------

def test_unassigned_fixed_consultant_has_no_room():
    data = instance([case("k1", cvr="29189919")],
                    [consultant("c1"), consultant("c2", fixed_employers=["29189919"],
                                                  max_active_cases=5, active_cases=5)])
    _only_unassigned(data, "k1", "no_capacity:fixed_employer",
                     "the employer's fixed consultants have no room")


def test_unassigned_no_workplace_consultant_has_room():
    data = instance([case("k1"), case("k2", follow_up="jobcenter_meeting")],
                    [consultant("c1", workplace_meetings=False),
                     consultant("c2", max_active_cases=5, active_cases=5)])
    for plan in plan_both(data).values():
        assert by_case(plan)["k2"]["consultant_id"] == "c1"  # room there, for other cases
    _only_unassigned(data, "k1", "no_capacity:workplace",
                     "no consultant doing workplace meetings has room")


def test_unassigned_generic_when_no_single_rule_is_to_blame():
    # c1 has room but is neither the employer's fixed consultant nor doing workplace meetings:
    # lifting either rule alone would not help, so the contract's generic sentence.
    data = instance([case("k1", cvr="29189919")],
                    [consultant("c1", workplace_meetings=False),
                     consultant("c2", fixed_employers=["29189919"], max_active_cases=5,
                                active_cases=5)])
    _only_unassigned(data, "k1", "no_capacity:any", "no eligible consultant has room")


def test_unassigned_nobody_does_workplace_meetings():
    data = instance([case("k1")], [consultant("c1", workplace_meetings=False)])
    _only_unassigned(data, "k1", "no_eligible:workplace",
                     "no consultant holds workplace meetings")


def test_unassigned_fixed_consultant_does_no_workplace_meetings():
    data = instance([case("k1", cvr="29189919")],
                    [consultant("c1"), consultant("c2", workplace_meetings=False,
                                                  fixed_employers=["29189919"])])
    _only_unassigned(data, "k1", "no_eligible:fixed_employer",
                     "none of the employer's fixed consultants holds workplace meetings")


# -- late meetings -------------------------------------------------------------------------------

def _late(data: dict[str, Any], case_id: str) -> list[list[str]]:
    """Per solver, the specific codes of a case whose meeting must be late."""
    out = []
    for plan in plan_both(data).values():
        item = by_case(plan)[case_id]
        assert item["meeting"] is not None and item["on_time"] is False, item
        assert "late" in item["reasons"]
        out.append(_specific(item))
    return out


def test_late_calendar_full_until_busy():
    data = instance([case("k1", deadline="2026-03-10")],
                    [consultant("c1", busy=_busy("2026-03-04T00:00", "2026-03-12T00:00"))])
    for codes in _late(data, "k1"):
        assert codes == ["late:calendar_full_until:2026-03-12"]
    assert describe("late:calendar_full_until:2026-03-12") == (
        "the consultant's calendar is full until 12 March 2026, the first day with a free slot "
        "long enough for this meeting")


def test_late_calendar_full_with_other_meetings():
    # One 45-minute meeting fits in a day (08:00-09:00): two cases take Wed and Thu, the third
    # is late; its consultant's first free day is Friday.
    data = instance([case(f"k{n}", follow_up="jobcenter_meeting", deadline="2026-03-05")
                     for n in (1, 2, 3)],
                    working_hours={d: ["08:00", "09:00"] for d in WEEKDAYS})
    for plan in plan_both(data).values():
        late = [a for a in plan["assignments"] if not a["on_time"]]
        assert len(late) == 1
        assert late[0]["meeting"]["start"].startswith("2026-03-06")
        assert _specific(late[0]) == ["late:calendar_full_until:2026-03-06"]


def test_late_daily_limit():
    data = instance([case(f"k{n}", follow_up="jobcenter_meeting", deadline="2026-03-05")
                     for n in (1, 2, 3)],
                    [consultant("c1", max_meetings_per_day=1)])
    for plan in plan_both(data).values():
        late = [a for a in plan["assignments"] if not a["on_time"]]
        assert len(late) == 1 and _specific(late[0]) == ["late:daily_limit"]


def test_late_employer_unavailable():
    k1 = _unavailable(case("k1", deadline="2026-03-10"), "2026-03-04T00:00", "2026-03-11T00:00")
    for codes in _late(instance([k1]), "k1"):
        assert codes == ["late:employer_unavailable"]


def test_late_consultant_off():
    # Works Monday and Tuesday only: Wed-Fri before the Friday deadline are off.
    data = instance([case("k1", deadline="2026-03-06")],
                    [consultant("c1", working_hours={"mon": ["08:00", "15:30"],
                                                     "tue": ["08:00", "15:30"]})])
    for codes in _late(data, "k1"):
        assert codes == ["late:consultant_off"]


def test_late_travel_too_long():
    # Wed-Fri are 90 minutes long; a meeting in Ikast occupies 60 + 2 x ~18 minutes.
    hours = {"mon": ["08:00", "15:30"], "tue": ["08:00", "15:30"], "wed": ["08:00", "09:30"],
             "thu": ["08:00", "09:30"], "fri": ["08:00", "09:30"]}
    data = instance([case("k1", deadline="2026-03-06", location=IKAST)], working_hours=hours)
    for codes in _late(data, "k1"):
        assert codes == ["late:travel_too_long"]


def test_late_no_working_day_closed_dates():
    data = instance([case("k1", deadline="2026-03-05")],
                    closed_dates=["2026-03-04", "2026-03-05"])
    for codes in _late(data, "k1"):
        assert codes == ["late:no_working_day"]


def test_late_kept_meeting():
    k1 = case("k1", deadline="2026-03-10", consultant_id="c1",
              meeting={"start": "2026-03-11T09:00", "consultant_id": "c1"})
    for codes in _late(instance([k1]), "k1"):
        assert codes == ["late:kept_meeting"]


# -- missing meetings ----------------------------------------------------------------------------

def _missing(data: dict[str, Any], case_id: str) -> list[list[str]]:
    """Per solver, the specific codes of an assigned case that must have no meeting."""
    out = []
    for plan in plan_both(data).values():
        item = by_case(plan)[case_id]
        assert item["meeting"] is None and item["on_time"] is False, item
        assert "late" in item["reasons"]
        out.append(_specific(item))
    return out


def test_no_meeting_kept_consultant_not_workplace_capable():
    data = instance([case("k1", consultant_id="c1")],
                    [consultant("c1", workplace_meetings=False), consultant("c2")])
    for codes in _missing(data, "k1"):
        assert codes == ["no_meeting:not_workplace_capable"]


def test_no_meeting_calendar_full():
    # horizon 7 days: Wed 4th to Fri 6th, all busy
    data = instance([case("k1")], [consultant(
        "c1", busy=_busy("2026-03-04T00:00", "2026-03-07T00:00"))], horizon_days=7)
    for codes in _missing(data, "k1"):
        assert codes == ["no_meeting:calendar_full"]


def test_no_meeting_employer_unavailable():
    k1 = _unavailable(case("k1"), "2026-03-04T00:00", "2026-03-07T00:00")
    for codes in _missing(instance([k1], horizon_days=7), "k1"):
        assert codes == ["no_meeting:employer_unavailable"]


def test_no_meeting_daily_limit():
    data = instance([case(f"k{n}", follow_up="jobcenter_meeting") for n in (1, 2, 3, 4)],
                    [consultant("c1", max_meetings_per_day=1)], horizon_days=7)
    for plan in plan_both(data).values():
        missing = [a for a in plan["assignments"] if a["meeting"] is None]
        assert len(missing) == 1 and _specific(missing[0]) == ["no_meeting:daily_limit"]


def test_no_meeting_consultant_off():
    data = instance([case("k1")], [consultant("c1", working_hours={"mon": ["08:00", "15:30"]})],
                    horizon_days=7)
    for codes in _missing(data, "k1"):
        assert codes == ["no_meeting:consultant_off"]


def test_no_meeting_travel_too_long():
    data = instance([case("k1", location=IKAST)],
                    working_hours={d: ["08:00", "09:30"] for d in WEEKDAYS})
    for codes in _missing(data, "k1"):
        assert codes == ["no_meeting:travel_too_long"]


def test_no_meeting_no_working_day():
    for codes in _missing(instance([case("k1")], horizon_days=2), "k1"):
        assert codes == ["no_meeting:no_working_day"]


# -- a free slot left (the search stopped) -------------------------------------------------------

def test_search_stopped_when_a_slot_is_still_free():
    # A hand-made schedule as a search cut short would leave it: k1 on Thursday 12th although
    # it could be on time, k2 assigned without a meeting although slots are free.
    inst = optimizer.parse_instance(instance([case("k1", deadline="2026-03-10"), case("k2")]))
    p = prepare(inst)
    schedule = Schedule(p)
    start = schedule.starts(0, 0, 10)[0]  # day 10 = Thursday 12 March
    schedule.place(0, 0, 10, start)
    schedule.assign(1, 0)
    plan = build_plan(p, schedule, "test", "FEASIBLE", 0.0, None).to_json()
    assert optimizer.validate(inst, plan) == []
    items = by_case(plan)
    assert _specific(items["k1"]) == ["late:search_stopped"]
    assert _specific(items["k2"]) == ["no_meeting:search_stopped"]


# -- the table -----------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["greedy", "cpsat"])
def test_every_code_has_a_sentence(solver):
    # A capacity-tight generated instance: late, missing and unassigned cases.
    inst = optimizer.parse_instance(generate_instance(80, 3, seed=1, tight=True))
    plan = optimizer.solve(inst, solver=solver, time_limit=2, seed=0).to_json()
    assert optimizer.validate(inst, plan) == []
    for item in plan["assignments"]:
        for code in item["reasons"]:
            assert describe(code) != code, code
        # exactly one specific reason when not on time, none otherwise
        assert len(_specific(item)) == (0 if item["on_time"] else 1), item
    for item in plan["unassigned"]:
        assert item["reason"] == describe(item["reason_code"]) != item["reason_code"]
    assert any(not a["on_time"] for a in plan["assignments"]) and plan["unassigned"]


def test_describe():
    assert describe("no_capacity:any") == "no eligible consultant has room"
    assert describe("skill_match:mental") == (
        "the consultant's skills include the case's diagnosis group mental")
    assert describe("late:calendar_full_until:2027-01-04").startswith(
        "the consultant's calendar is full until 4 January 2027,")
    assert describe("something_new") == "something_new"
    assert all(sentence and not sentence.endswith(".") for sentence in REASONS.values())
