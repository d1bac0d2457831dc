"""Hand-written instances, one per hard rule of the planning contract; both solvers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import optimizer
from tests.optimizer.opt_helpers import IKAST, by_case, case, consultant, instance, plan_both


def _start(item: dict) -> datetime:
    return datetime.fromisoformat(item["meeting"]["start"])


def test_kept_owner_is_kept():
    data = instance([case("k1", consultant_id="c2")],
                    [consultant("c1"), consultant("c2", location=IKAST, active_cases=25)])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c2"
        assert "kept_owner" in item["reasons"]


def test_fixed_employer_goes_to_its_consultant():
    data = instance([case("k1", cvr="29189919")],
                    [consultant("c1"), consultant("c2", fixed_employers=["29189919"],
                                                  active_cases=20)])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c2"
        assert "fixed_employer" in item["reasons"]


def test_workplace_meeting_only_with_workplace_consultant():
    data = instance([case("k1"), case("k2", follow_up="jobcenter_meeting")],
                    [consultant("c1", workplace_meetings=False),
                     consultant("c2", active_cases=10)])
    for plan in plan_both(data).values():
        assert by_case(plan)["k1"]["consultant_id"] == "c2"
        assert "workplace_capable" in by_case(plan)["k1"]["reasons"]


def test_capacity_leaves_case_unassigned_with_reason():
    data = instance([case("k1"), case("k2", deadline="2026-03-25")],
                    [consultant("c1", max_active_cases=5, active_cases=4)])
    for plan in plan_both(data).values():
        assert len(plan["assignments"]) == 1
        assert plan["unassigned"] == [{"case_id": "k2",
                                       "reason": "no eligible consultant has room",
                                       "reason_code": "no_capacity:any"}]


def test_telephone_case_gets_no_meeting():
    data = instance([case("k1", follow_up="telephone")])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["meeting"] is None and item["on_time"] is True
        assert plan["metrics"]["meetings_needed"] == 0


def test_meeting_on_slot_grid():
    data = instance([case("k1", follow_up="jobcenter_meeting")], slot_minutes=20,
                    working_hours={d: ["08:10", "15:30"] for d in ("mon", "tue", "wed", "thu",
                                                                   "fri")})
    for plan in plan_both(data).values():
        start = _start(by_case(plan)["k1"])
        assert (start.hour * 60 + start.minute) % 20 == 0
        assert start.strftime("%H:%M") == "08:20"


def test_min_notice_days():
    data = instance([case("k1")], min_notice_days=5)  # Sat 7th -> Mon 9th
    for plan in plan_both(data).values():
        assert _start(by_case(plan)["k1"]).date().isoformat() == "2026-03-09"


@pytest.mark.parametrize(("as_of", "first_day"), [
    ("2026-12-22", "2026-12-28"),  # 25th Christmas Day, 26th-27th weekend
    ("2026-12-30", "2027-01-04"),  # 1st January
    ("2027-03-23", "2027-03-30"),  # Maundy Thursday .. Easter Monday 2027
])
def test_danish_holidays_are_not_working_days(as_of, first_day):
    data = instance([case("k1", deadline="2027-06-01")], as_of=as_of,
                    min_notice_days=2 if as_of != "2026-12-22" else 3)
    for plan in plan_both(data).values():
        assert _start(by_case(plan)["k1"]).date().isoformat() == first_day


def test_closed_date():
    data = instance([case("k1")], closed_dates=["2026-03-04"])
    for plan in plan_both(data).values():
        assert _start(by_case(plan)["k1"]).date().isoformat() == "2026-03-05"


def test_busy_time_is_avoided():
    busy = [{"start": "2026-03-04T08:00", "end": "2026-03-04T12:00"}]
    data = instance([case("k1")], [consultant("c1", busy=busy)])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        travel = item["meeting"]["travel_minutes"]
        assert _start(item) - timedelta(minutes=travel) >= datetime(2026, 3, 4, 12, 0)
        assert _start(item).date().isoformat() == "2026-03-04"


def test_employer_unavailable():
    unavailable = [{"start": "2026-03-04T00:00", "end": "2026-03-05T12:00"}]
    k1 = case("k1")
    k1["employer"]["unavailable"] = unavailable
    for plan in plan_both(instance([k1])).values():
        assert _start(by_case(plan)["k1"]) >= datetime(2026, 3, 5, 12, 0)


def test_travel_buffers_occupy_working_hours():
    # Ikast is ~11 km away: t = ceil(11.x * 1.3 / 50 * 60) minutes each way.
    data = instance([case("k1", location=IKAST)],
                    working_hours={d: ["08:00", "15:30"] for d in ("mon", "tue", "wed", "thu",
                                                                   "fri")})
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        t = item["meeting"]["travel_minutes"]
        assert t > 15
        assert _start(item) - timedelta(minutes=t) >= datetime(2026, 3, 4, 8, 0)
        assert _start(item).strftime("%H:%M") == "08:30"
        assert plan["metrics"]["travel_minutes"] == 2 * t


def test_travel_buffers_keep_meetings_apart():
    data = instance([case("k1", location=IKAST), case("k2", location=IKAST)],
                    working_hours={d: ["08:00", "11:00"] for d in ("mon", "tue", "wed", "thu",
                                                                   "fri")})
    for plan in plan_both(data).values():
        days = {_start(a).date() for a in plan["assignments"]}
        assert len(days) == 2  # 2 x (60 + 2t) minutes do not fit into 3 hours


def test_max_meetings_per_day():
    data = instance([case(f"k{n}", deadline="2026-03-06") for n in range(1, 4)],
                    [consultant("c1", max_meetings_per_day=1)])
    for plan in plan_both(data).values():
        days = [_start(a).date() for a in plan["assignments"]]
        assert len(set(days)) == 3
        assert plan["metrics"]["meetings_on_time"] == 3


def test_kept_meeting_unchanged_and_occupies():
    kept = case("k1", consultant_id="c1", follow_up="jobcenter_meeting",
                meeting={"start": "2026-03-04T08:00", "consultant_id": "c1"})
    data = instance([kept, case("k2", follow_up="jobcenter_meeting", deadline="2026-03-04")],
                    [consultant("c1", max_meetings_per_day=2)])
    for plan in plan_both(data).values():
        items = by_case(plan)
        assert items["k1"]["meeting"]["start"] == "2026-03-04T08:00"
        assert items["k1"]["meeting"]["end"] == "2026-03-04T08:45"
        assert _start(items["k2"]) >= datetime(2026, 3, 4, 8, 45)
        assert plan["metrics"]["meetings_on_time"] == 2


def test_late_is_better_than_missing():
    data = instance([case("k1", deadline="2026-03-01")])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["meeting"] is not None and item["on_time"] is False
        assert "late" in item["reasons"]
        assert "late:no_working_day" in item["reasons"]  # the deadline has passed
        assert plan["metrics"]["meetings_late"] == 1


def test_metrics_and_bound():
    data = instance([case("k1"), case("k2", follow_up="telephone")])
    plans = plan_both(data)
    assert plans["greedy"]["metrics"]["upper_bound_on_time"] is None
    metrics = plans["cpsat"]["metrics"]
    assert metrics["solver"] == "cpsat" and metrics["cases"] == 2
    assert metrics["upper_bound_on_time"] == 1 == metrics["meetings_on_time"]


def test_alternatives_same_consultant_other_days():
    data = instance([case("k1", deadline="2026-03-13")])
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="cpsat", time_limit=2)
    own = plan.assignment("k1").meeting
    slots = optimizer.alternatives(inst, plan, "k1", count=2)
    assert len(slots) == 2
    days = {s["start"][:10] for s in slots}
    assert len(days) == 2
    for slot in slots:
        start = datetime.fromisoformat(slot["start"])
        assert start.date() <= inst.cases[0].deadline
        assert not (start < own.end and own.start < datetime.fromisoformat(slot["end"]))
        # swapping the alternative in keeps the plan valid
        moved = plan.to_json()
        moved["assignments"][0]["meeting"].update(start=slot["start"], end=slot["end"])
        assert optimizer.validate(inst, moved) == []
