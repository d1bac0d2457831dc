"""Rule 10, the private talk: parsing, the contract's example extended with talks through
`fasthold plan`, hand-written instances per clause (both solvers, every plan validated), the
validator catching each violation, and the explanation naming the talk."""

from __future__ import annotations

import copy
import json
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import optimizer
from optimizer.explain import describe
from optimizer.generator import generate_instance
from tests.cli import run_cli
from tests.optimizer.opt_helpers import by_case, case, consultant, instance, plan_both

EXAMPLE = Path(__file__).resolve().parent / "data" / "spec_example_talks.json"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _talk_day(item: dict[str, Any]) -> date:
    return _time(item["private_talk"]["start"]).date()


def _meeting_day(item: dict[str, Any]) -> date:
    return _time(item["meeting"]["start"]).date()


def _busy_all_day(*days: str) -> list[dict[str, str]]:
    return [{"start": f"{d}T00:00", "end": f"{d}T23:59"} for d in days]


# -- parsing -------------------------------------------------------------------------------------

def test_defaults() -> None:
    inst = optimizer.parse_instance(instance([case("k1")]))
    assert inst.private_talk_minutes == 30
    assert inst.cases[0].private_talk_first is False and inst.cases[0].private_talk is None


def _with(path: str, value: object) -> dict[str, Any]:
    data = instance([case("k1", consultant_id="c1", private_talk_first=True), case("k2")],
                    [consultant("c1"), consultant("c2")])
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("private_talk_minutes", 0, "private_talk_minutes: must be at least 1"),
    ("private_talk_minutes", "30", "private_talk_minutes: expected an integer"),
    ("cases.1.private_talk_first", "ja", "cases[1].private_talk_first: expected true or false"),
    ("cases.0.private_talk", "2026-03-03T09:00", "cases[0].private_talk: expected an object"),
    ("cases.0.private_talk", {"consultant_id": "c1"}, "cases[0].private_talk.start: missing"),
    ("cases.0.private_talk", {"start": "2026-03-03 9", "consultant_id": "c1"},
     "cases[0].private_talk.start: malformed time"),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00"},
     "cases[0].private_talk.consultant_id: missing"),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00", "consultant_id": "c9"},
     'cases[0].private_talk.consultant_id: unknown consultant "c9"'),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00", "consultant_id": "c2"},
     "cases[0].private_talk.consultant_id: \"c2\" differs from the case's consultant_id"),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00", "consultant_id": "c1",
                              "room": "3"}, "cases[0].private_talk.room: unknown field"),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00", "consultant_id": "c1",
                              "kind": "workplace_meeting"}, "cases[0].private_talk.kind:"),
    ("cases.0.private_talk", {"start": "2026-03-03T09:00", "end": "2026-03-03T10:00",
                              "consultant_id": "c1"},
     "cases[0].private_talk.end: a private talk lasts private_talk_minutes (30 minutes), got 60"),
])
def test_parse_errors_name_the_field(path: str, value: object, message: str) -> None:
    with pytest.raises(optimizer.InstanceError) as info:
        optimizer.parse_instance(_with(path, value))
    assert str(info.value).startswith(message)


def test_kept_talk_must_be_with_the_kept_meetings_consultant() -> None:
    data = instance([case("k1", private_talk_first=True,
                          meeting={"start": "2026-03-05T09:00", "consultant_id": "c1"},
                          private_talk={"start": "2026-03-03T09:00", "consultant_id": "c2"})],
                    [consultant("c1"), consultant("c2")])
    with pytest.raises(optimizer.InstanceError, match=r"^cases\[0\]\.private_talk\.consultant_id"):
        optimizer.parse_instance(data)


def test_a_plans_talk_passes_back_as_a_kept_talk() -> None:
    data = instance([case("k1", private_talk_first=True)])
    plan = plan_both(data)["cpsat"]
    talk = by_case(plan)["k1"]["private_talk"]
    again = copy.deepcopy(data)
    again["cases"][0]["private_talk"] = talk  # start, end, kind and consultant_id
    for replan in plan_both(again).values():
        assert by_case(replan)["k1"]["private_talk"] == talk


# -- the contract's example with talks -----------------------------------------------------------

def test_spec_example_with_talks_through_the_command() -> None:
    done = run_cli("plan", "--seed", "3", "--time-limit", "3", str(EXAMPLE),
                   env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    items = by_case(plan)
    k1, k4, k5, k6 = items["k1"], items["k4"], items["k5"], items["k6"]
    # k1 asked for the talk: 30 minutes with c1 on the grid, on a working day before the meeting
    talk = k1["private_talk"]
    assert talk["kind"] == "private_talk" and talk["consultant_id"] == k1["consultant_id"]
    assert _time(talk["end"]) - _time(talk["start"]) == timedelta(minutes=30)
    assert _time(talk["start"]).minute % 15 == 0
    assert date(2026, 3, 3) <= _talk_day(k1) < _meeting_day(k1)
    assert _talk_day(k1) != date(2026, 3, 6)  # closed
    assert k1["on_time"] is True
    # k4's agreed talk unchanged, its meeting on a later date (after the closed Friday: late)
    assert k4["private_talk"] == {"start": "2026-03-05T10:00", "end": "2026-03-05T10:30",
                                  "kind": "private_talk", "consultant_id": "c1"}
    assert _meeting_day(k4) > date(2026, 3, 5) and k4["on_time"] is False
    assert k4["reasons"][-2:] == ["late", "late:private_talk_agreed"]
    # a kept meeting and a jobcenter meeting get no talk
    assert k5["private_talk"] is None and k5["meeting"]["start"] == "2026-03-10T09:00"
    assert k6["private_talk"] is None and k6["meeting"]["kind"] == "jobcenter_meeting"
    assert items["k2"]["private_talk"] is None and items["k3"]["private_talk"] is None
    assert plan["metrics"]["private_talks"] == 2
    inst = optimizer.parse_instance(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert optimizer.validate(inst, plan) == []
    for solver in ("cpsat", "greedy"):
        result = optimizer.solve(inst, solver=solver, time_limit=3, seed=0)
        assert optimizer.validate(inst, result) == []
        assert result.metrics["private_talks"] == 2


def test_the_command_names_a_wrong_talk_field(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["cases"][3]["private_talk"]["consultant_id"] = "c7"
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = run_cli("plan", str(path), env=dict(os.environ))
    assert done.returncode == 2
    assert 'cases[3].private_talk.consultant_id: unknown consultant "c7"' in done.stderr


# -- the clauses, both solvers -------------------------------------------------------------------

def test_talk_strictly_before_the_meeting_with_its_length_on_the_grid() -> None:
    data = instance([case("k1", private_talk_first=True)], private_talk_minutes=40,
                    slot_minutes=20)
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        talk = item["private_talk"]
        start, end = _time(talk["start"]), _time(talk["end"])
        assert (end - start).total_seconds() == 40 * 60
        assert (start.hour * 60 + start.minute) % 20 == 0
        assert _talk_day(item) < _meeting_day(item)
        assert plan["metrics"]["private_talks"] == 1


def test_talk_needs_no_notice_but_a_day_after_as_of() -> None:
    # Notice 5: the first meeting day is Mon 9 March, which is full, so the meeting is on the
    # 10th; the talk may be before the notice ends (Tue 3rd - Fri 6th), not on as_of itself.
    data = instance([case("k1", deadline="2026-03-10", private_talk_first=True)],
                    [consultant("c1", busy=_busy_all_day("2026-03-09"))], min_notice_days=5)
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert _meeting_day(item) == date(2026, 3, 10) and item["on_time"] is True
        assert date(2026, 3, 3) <= _talk_day(item) <= date(2026, 3, 9)


def test_without_notice_the_talk_day_comes_first() -> None:
    # Notice 0: a meeting could be on as_of (Mon 2nd), but a talk is from the 3rd, so the
    # meeting is on the 4th at the earliest; without the wish it is on time on the 2nd.
    wish = instance([case("k1", deadline="2026-03-03", private_talk_first=True)],
                    min_notice_days=0)
    for plan in plan_both(wish).values():
        item = by_case(plan)["k1"]
        assert _talk_day(item) == date(2026, 3, 3)
        assert _meeting_day(item) == date(2026, 3, 4) and item["on_time"] is False
        assert item["reasons"][-1] == "late:private_talk"
    plain = instance([case("k1", deadline="2026-03-03")], min_notice_days=0)
    for plan in plan_both(plain).values():
        assert by_case(plan)["k1"]["on_time"] is True


def test_talks_do_not_count_towards_the_meetings_per_day() -> None:
    # Two working days for meetings (Wed 4th, Thu 5th), one meeting a day; Tue 3rd is full, so
    # k1's talk must be on Wed 4th, the day of k2's meeting: allowed (rule 8 counts meetings).
    data = instance([case("k1", deadline="2026-03-05", private_talk_first=True),
                     case("k2", deadline="2026-03-04", follow_up="jobcenter_meeting")],
                    [consultant("c1", max_meetings_per_day=1,
                                busy=_busy_all_day("2026-03-03"))], horizon_days=4)
    for plan in plan_both(data).values():
        k1, k2 = by_case(plan)["k1"], by_case(plan)["k2"]
        assert _meeting_day(k2) == date(2026, 3, 4) and _talk_day(k1) == date(2026, 3, 4)
        assert _meeting_day(k1) == date(2026, 3, 5)
        assert plan["metrics"]["meetings_on_time"] == 2


def test_talk_fits_around_busy_time_and_other_meetings() -> None:
    # Tue 3rd has only 10:00-10:30 free; Wed 4th only the morning, which k2's meeting takes:
    # k1's talk goes into the half hour on the 3rd, its meeting after.
    busy = [{"start": "2026-03-03T08:00", "end": "2026-03-03T10:00"},
            {"start": "2026-03-03T10:30", "end": "2026-03-03T15:30"},
            {"start": "2026-03-04T09:00", "end": "2026-03-04T15:30"}]
    data = instance([case("k1", deadline="2026-03-05", private_talk_first=True),
                     case("k2", deadline="2026-03-04", follow_up="jobcenter_meeting")],
                    [consultant("c1", busy=busy)])
    for plan in plan_both(data).values():
        k1 = by_case(plan)["k1"]
        assert k1["private_talk"]["start"] == "2026-03-03T10:00"
        assert by_case(plan)["k2"]["meeting"]["start"] == "2026-03-04T08:00"
        assert _meeting_day(k1) > date(2026, 3, 3)


def test_talk_with_the_meetings_consultant() -> None:
    # c2 (less loaded) has time for the meeting on Fri 6th, the horizon's last day, but not
    # for a talk before it; the case goes to c1, who has both (same consultant).
    data = instance([case("k1", deadline="2026-03-06", private_talk_first=True)],
                    [consultant("c1", active_cases=5),
                     consultant("c2", busy=_busy_all_day("2026-03-03", "2026-03-04",
                                                          "2026-03-05"))], horizon_days=5)
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c1" == item["private_talk"]["consultant_id"]
        assert item["on_time"] is True


def test_kept_talk_unchanged_and_blocks_the_consultant() -> None:
    # k1's agreed talk is Wed 4th 08:00-08:30; k2 (no wish) cannot have its meeting then.
    data = instance([case("k1", deadline="2026-03-20", consultant_id="c1",
                          private_talk_first=True,
                          private_talk={"start": "2026-03-04T08:00", "consultant_id": "c1"}),
                     case("k2", deadline="2026-03-04", follow_up="jobcenter_meeting")],
                    [consultant("c1", busy=[{"start": "2026-03-04T08:45",
                                             "end": "2026-03-04T15:30"}])])
    for plan in plan_both(data).values():
        k1, k2 = by_case(plan)["k1"], by_case(plan)["k2"]
        assert k1["private_talk"]["start"] == "2026-03-04T08:00"
        assert _meeting_day(k1) > date(2026, 3, 4)
        assert k2["meeting"] is None or _meeting_day(k2) > date(2026, 3, 4)
        assert plan["metrics"]["private_talks"] == 1


def test_kept_talk_ties_a_new_case_to_its_consultant() -> None:
    data = instance([case("k1", private_talk_first=True,
                          private_talk={"start": "2026-03-03T09:00", "consultant_id": "c2"})],
                    [consultant("c1"), consultant("c2", active_cases=20)])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["consultant_id"] == "c2" and _meeting_day(item) > date(2026, 3, 3)


@pytest.mark.parametrize("extra", [
    {"meeting": {"start": "2026-03-05T09:00", "consultant_id": "c1"}, "consultant_id": "c1"},
    {"follow_up": "jobcenter_meeting"},
    {"follow_up": "telephone"},
    {"private_talk_first": False},
])
def test_no_talk_for_other_cases(extra: dict[str, Any]) -> None:
    data = instance([case("k1", **{"private_talk_first": True, **extra})])
    for plan in plan_both(data).values():
        assert by_case(plan)["k1"]["private_talk"] is None
        assert plan["metrics"]["private_talks"] == 0


def test_no_talk_without_a_meeting() -> None:
    # The consultant has no free day before the last day of the horizon: no meeting, no talk.
    data = instance([case("k1", private_talk_first=True)],
                    [consultant("c1", busy=_busy_all_day("2026-03-03", "2026-03-04"))],
                    horizon_days=3, min_notice_days=0)
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["meeting"] is None and item["private_talk"] is None
        assert item["reasons"][-1] == "no_meeting:private_talk"


# -- the validator -------------------------------------------------------------------------------

def _valid() -> tuple[dict[str, Any], dict[str, Any]]:
    """k1 with a talk on Tue 3rd and its meeting on Wed 4th; k2 a jobcenter meeting."""
    data = instance([case("k1", deadline="2026-03-04", private_talk_first=True),
                     case("k2", deadline="2026-03-20", follow_up="jobcenter_meeting")],
                    [consultant("c1"), consultant("c2", active_cases=10)])
    plan = {
        "assignments": [
            {"case_id": "k1", "consultant_id": "c1", "on_time": True,
             "meeting": {"start": "2026-03-04T10:00", "end": "2026-03-04T11:00",
                         "kind": "workplace_meeting", "travel_minutes": 2},
             "private_talk": {"start": "2026-03-03T09:00", "end": "2026-03-03T09:30",
                              "kind": "private_talk", "consultant_id": "c1"}},
            {"case_id": "k2", "consultant_id": "c1", "on_time": True,
             "meeting": {"start": "2026-03-05T10:00", "end": "2026-03-05T10:45",
                         "kind": "jobcenter_meeting", "travel_minutes": 0},
             "private_talk": None}],
        "unassigned": [],
        "metrics": {"cases": 2, "meetings_needed": 2, "meetings_on_time": 2, "meetings_late": 0,
                    "meetings_missing": 0, "travel_minutes": 4, "private_talks": 1}}
    return data, plan


def _problems(data: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    return optimizer.validate(optimizer.parse_instance(data), plan)


def test_validator_accepts_the_valid_plan() -> None:
    data, plan = _valid()
    assert _problems(data, plan) == []


def _set_talk(plan: dict[str, Any], start: str | None, end: str | None = None,
              **extra: Any) -> dict[str, Any]:
    item = plan["assignments"][0]
    if start is None:
        item["private_talk"] = None
        return plan
    end = end or (_time(start) + timedelta(minutes=30)).isoformat(timespec="minutes")
    item["private_talk"] = {"start": start, "end": end, "kind": "private_talk", **extra}
    return plan


@pytest.mark.parametrize(("start", "extra", "expected"), [
    ("2026-03-04T08:00", {}, "k1: private talk on 2026-03-04 is not before the meeting's date "
                             "2026-03-04 (rule 10)"),
    ("2026-03-05T08:00", {}, "k1: private talk on 2026-03-05 is not before the meeting's date"),
    ("2026-03-03T09:00", {"consultant_id": "c2"},
     "k1: private talk with c2, but the case is c1's (same consultant, rule 10)"),
    ("2026-03-03T07:00", {}, "k1: private talk 2026-03-03T07:00-07:30 outside c1's working "
                             "hours (rule 10)"),
    ("2026-03-03T15:15", {}, "k1: private talk 2026-03-03T15:15-15:45 outside c1's working "
                             "hours (rule 10)"),
    ("2026-03-03T09:10", {}, "k1: private talk at 09:10 is off the 15-minute grid (rule 10)"),
    ("2026-03-02T09:00", {}, "k1: private talk on 2026-03-02 outside the talk window"),
    ("2026-02-28T09:00", {}, "k1: private talk on 2026-02-28, not a working day"),
    ("2026-03-03T09:00", {"kind": "workplace_meeting"},
     "k1: private talk of kind 'workplace_meeting' (rule 10)"),
])
def test_validator_catches_a_misplaced_talk(start: str, extra: dict[str, Any],
                                            expected: str) -> None:
    data, plan = _valid()
    _set_talk(plan, start, **extra)
    assert any(p.startswith(expected) for p in _problems(data, plan)), _problems(data, plan)


def test_validator_catches_a_talk_of_the_wrong_length() -> None:
    data, plan = _valid()
    _set_talk(plan, "2026-03-03T09:00", "2026-03-03T10:00")
    assert "k1: private talk lasts 1:00:00, expected 30 min (rule 10)" in _problems(data, plan)


def test_validator_catches_a_talk_over_busy_time() -> None:
    data, plan = _valid()
    data["consultants"][0]["busy"] = [{"start": "2026-03-03T09:15", "end": "2026-03-03T12:00"}]
    assert "k1: private talk overlaps c1's busy time 2026-03-03T09:15 (rule 10)" in \
        _problems(data, plan)


def test_validator_catches_a_talk_over_another_meeting() -> None:
    data, plan = _valid()
    plan["assignments"][1]["meeting"].update(start="2026-03-03T08:45", end="2026-03-03T09:30")
    assert "k2 and k1 (private talk): c1's occupied times overlap on 2026-03-03 (rule 10)" in \
        _problems(data, plan)


def test_validator_catches_two_talks_overlapping() -> None:
    data, plan = _valid()
    data["cases"][1] = case("k2", deadline="2026-03-20", private_talk_first=True)
    plan["assignments"][1] = copy.deepcopy(plan["assignments"][0])
    plan["assignments"][1]["case_id"] = "k2"
    plan["assignments"][1]["meeting"].update(start="2026-03-05T10:00", end="2026-03-05T11:00")
    plan["metrics"].update(private_talks=2)
    problems = _problems(data, plan)
    assert "k1 (private talk) and k2 (private talk): c1's occupied times overlap on " \
           "2026-03-03 (rule 10)" in problems


def test_validator_catches_a_missing_talk() -> None:
    data, plan = _valid()
    _set_talk(plan, None)
    plan["metrics"]["private_talks"] = 0
    assert _problems(data, plan) == [
        "k1: new workplace meeting without the private talk the citizen asked for (rule 10)"]


def test_validator_catches_a_talk_nobody_asked_for() -> None:
    data, plan = _valid()
    data["cases"][0]["private_talk_first"] = False
    assert _problems(data, plan) == [
        "k1: has a private talk although the citizen did not ask for one (rule 10)"]


def test_validator_catches_a_talk_for_a_kept_meeting() -> None:
    data, plan = _valid()
    data["cases"][0].update(consultant_id="c1",
                            meeting={"start": "2026-03-04T10:00", "consultant_id": "c1"})
    assert _problems(data, plan) == [
        "k1: has a private talk although its workplace meeting is a kept one (rule 10)"]


def test_validator_catches_a_talk_for_a_jobcenter_meeting() -> None:
    data, plan = _valid()
    plan["assignments"][1]["private_talk"] = {"start": "2026-03-03T10:00",
                                              "end": "2026-03-03T10:30", "kind": "private_talk"}
    data["cases"][1]["private_talk_first"] = True
    plan["metrics"]["private_talks"] = 2
    assert _problems(data, plan) == [
        "k2: has a private talk although its follow-up is jobcenter_meeting (rule 10)"]


def test_validator_catches_a_talk_without_a_meeting() -> None:
    data, plan = _valid()
    plan["assignments"][0].update(meeting=None, on_time=False)
    plan["metrics"].update(meetings_on_time=1, meetings_missing=1, travel_minutes=0)
    assert _problems(data, plan) == [
        "k1: has a private talk although it has no new workplace meeting (rule 10)"]


def _kept(data: dict[str, Any], start: str = "2026-03-03T09:00") -> None:
    data["cases"][0].update(consultant_id="c1",
                            private_talk={"start": start, "consultant_id": "c1"})


def test_validator_accepts_a_kept_talk_unchanged() -> None:
    data, plan = _valid()
    _kept(data)
    assert _problems(data, plan) == []


def test_validator_catches_a_kept_talk_moved() -> None:
    data, plan = _valid()
    _kept(data, "2026-03-03T08:00")
    assert _problems(data, plan) == [
        "k1: kept private talk moved from 2026-03-03T08:00 to 2026-03-03T09:00 (rule 10)"]


def test_validator_catches_a_kept_talk_missing() -> None:
    data, plan = _valid()
    _kept(data)
    _set_talk(plan, None)
    plan["metrics"]["private_talks"] = 0
    assert _problems(data, plan) == ["k1: kept private talk 2026-03-03T09:00 missing (rule 10)"]


def test_validator_catches_a_meeting_not_after_the_kept_talk() -> None:
    data, plan = _valid()
    _kept(data, "2026-03-04T08:00")
    _set_talk(plan, "2026-03-04T08:00")
    assert _problems(data, plan) == [
        "k1: meeting on 2026-03-04 is not after the agreed private talk on 2026-03-04 (rule 10)"]


def test_validator_catches_a_kept_talk_with_another_consultant() -> None:
    data, plan = _valid()
    data["cases"][0]["private_talk"] = {"start": "2026-03-03T09:00", "consultant_id": "c2"}
    problems = _problems(data, plan)
    assert "k1: kept private talk belongs to c2, case given to c1 (rule 10)" in problems
    assert "k1: kept meeting belongs to" not in " ".join(problems)


def test_validator_catches_an_unassigned_case_with_a_kept_talk() -> None:
    data, plan = _valid()
    _kept(data)
    data["cases"][0]["consultant_id"] = None
    plan["assignments"].pop(0)
    plan["unassigned"] = [{"case_id": "k1", "reason": "no eligible consultant has room"}]
    plan["metrics"].update(meetings_on_time=1, meetings_missing=1, travel_minutes=0,
                           private_talks=0)
    assert "k1: has an owner but is unassigned (rule 1)" in _problems(data, plan)


def test_validator_recounts_the_talks() -> None:
    data, plan = _valid()
    plan["metrics"]["private_talks"] = 0
    assert _problems(data, plan) == ["metrics.private_talks is 0, recomputed 1"]


def test_talks_do_not_count_for_rule_8_in_the_validator() -> None:
    data, plan = _valid()
    data["consultants"][0]["max_meetings_per_day"] = 1
    data["min_notice_days"] = 1
    plan["assignments"][1]["meeting"].update(start="2026-03-03T10:00", end="2026-03-03T10:45")
    assert _problems(data, plan) == []


# -- the explanation -----------------------------------------------------------------------------

def test_explanation_names_the_talk() -> None:
    assert describe("late:private_talk").startswith("the citizen's private talk")
    assert describe("late:private_talk_agreed").startswith("the meeting must come after")
    assert describe("no_meeting:private_talk").startswith("the citizen's private talk")
    assert describe("no_meeting:private_talk_agreed").startswith("the meeting must come after")


def test_late_because_of_the_talk_not_because_of_the_calendar() -> None:
    # The consultant is busy all Tue 3rd and Wed 4th: the earliest talk is Thu 5th, so the
    # meeting is on Fri 6th, after the deadline; the meeting alone would fit on Thu 5th.
    data = instance([case("k1", deadline="2026-03-05", private_talk_first=True)],
                    [consultant("c1", busy=_busy_all_day("2026-03-03", "2026-03-04"))])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert _talk_day(item) == date(2026, 3, 5) and _meeting_day(item) == date(2026, 3, 6)
        assert item["reasons"][-2:] == ["late", "late:private_talk"]


def test_late_for_another_reason_is_not_blamed_on_the_talk() -> None:
    # The consultant is busy until after the deadline: the calendar, not the talk.
    data = instance([case("k1", deadline="2026-03-05", private_talk_first=True)],
                    [consultant("c1", busy=_busy_all_day("2026-03-04", "2026-03-05"))])
    for plan in plan_both(data).values():
        item = by_case(plan)["k1"]
        assert item["reasons"][-1] == "late:calendar_full_until:2026-03-06"


def test_alternatives_come_after_the_talk() -> None:
    data = instance([case("k1", deadline="2026-03-20", private_talk_first=True)],
                    [consultant("c1", busy=_busy_all_day("2026-03-03"))])
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="greedy")
    talk_day = _talk_day(by_case(plan.to_json())["k1"])
    slots = optimizer.alternatives(inst, plan, "k1", count=3)
    assert slots and all(_time(s["start"]).date() > talk_day for s in slots)


# -- generated instances -------------------------------------------------------------------------

@pytest.mark.parametrize(("seed", "cases", "consultants", "tight"), [
    (1, 30, 2, True), (2, 40, 3, False), (3, 25, 2, True), (4, 60, 4, True)])
def test_generated_instances_with_talks_keep_rule_10(seed: int, cases: int, consultants: int,
                                                     tight: bool) -> None:
    data = generate_instance(cases, consultants, seed=seed, tight=tight, talk_share=0.3)
    inst = optimizer.parse_instance(data)
    wishes = {c.id for c in inst.cases if c.wants_new_talk}
    assert wishes  # about 30 % of the workplace cases
    greedy = optimizer.solve(inst, solver="greedy")
    cpsat = optimizer.solve(inst, solver="cpsat", time_limit=1, seed=0)
    for plan in (greedy, cpsat):
        assert optimizer.validate(inst, plan) == []
        with_meeting = {a.case_id for a in plan.assignments
                        if a.meeting is not None and a.case_id in wishes}
        assert {a.case_id for a in plan.assignments if a.private_talk} == with_meeting
        assert plan.metrics["private_talks"] == len(with_meeting)
    bound = cpsat.metrics["upper_bound_on_time"]
    assert bound >= cpsat.metrics["meetings_on_time"] >= greedy.metrics["meetings_on_time"]


def test_the_generator_draws_talks_apart() -> None:
    plain = generate_instance(40, 3, seed=5)
    talks = generate_instance(40, 3, seed=5, talk_share=0.3)
    for case_plain, case_talk in zip(plain["cases"], talks["cases"], strict=True):
        case_talk.pop("private_talk_first", None)
        assert case_plain == case_talk  # the rest of the instance is the same
