"""The planner's Python overhead (issue 22): the faster paths give exactly what the plain ones
give — alternatives from one shared schedule, the prepared instance passed on, intervals read
once, minutes without a new origin per call."""

from __future__ import annotations

import copy
import importlib
import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest

import optimizer
from optimizer import candidates
from optimizer.calendar import to_minutes
from optimizer.candidates import Schedule, prepare
from optimizer.generator import generate_instance
from optimizer.instance import minute_of, moment_of
from service.planning.solver import SolveRequest, solve_instance

# the module (the package's `alternatives` is the function of that name)
alternatives_module = importlib.import_module("optimizer.alternatives")


def _next_day(data: dict[str, Any], plan: dict[str, Any], seed: int) -> dict[str, Any]:
    """The instance a day later as the service sends it: of the plan's meetings some are
    proposals sent, some confirmed (kept meetings), some talks agreed (kept talks)."""
    rng = random.Random(seed)
    out = copy.deepcopy(data)
    cases = {c["id"]: c for c in out["cases"]}
    for item in plan["assignments"]:
        case = cases[item["case_id"]]
        meeting, talk = item["meeting"], item["private_talk"]
        roll = rng.random()
        if talk is not None and case.get("private_talk") is None and roll < 0.4:
            case["private_talk"] = {"start": talk["start"], "consultant_id": item["consultant_id"]}
            case["consultant_id"] = item["consultant_id"]
        elif meeting is not None and case["meeting"] is None and talk is None and roll < 0.3:
            case["meeting"] = {"start": meeting["start"], "consultant_id": item["consultant_id"]}
            case["consultant_id"] = item["consultant_id"]
        elif meeting is not None and case["meeting"] is None and talk is None and roll < 0.8:
            case["proposal"] = {"start": meeting["start"], "consultant_id": item["consultant_id"]}
    return out


def _instances() -> list[optimizer.Instance]:
    """Instances with talks wished for, kept meetings, kept talks and proposals."""
    out = []
    for seed in (3, 5):
        data = generate_instance(70, 5, seed=seed, talk_share=0.4)
        first = optimizer.solve(optimizer.parse_instance(data), solver="greedy").to_json()
        out.append(optimizer.parse_instance(_next_day(data, first, seed)))
    return out


@pytest.fixture(scope="module")
def instances() -> list[optimizer.Instance]:
    found = _instances()
    assert all(any(c.proposal for c in i.cases) and any(c.meeting for c in i.cases)
               and any(c.private_talk for c in i.cases) and any(c.wants_new_talk for c in i.cases)
               for i in found)
    return found


def _each_alone(instance: optimizer.Instance, plan: Any, ids: list[str], count: int
                ) -> dict[str, list[dict[str, Any]]]:
    return {case_id: optimizer.alternatives(instance, plan, case_id, count) for case_id in ids}


@pytest.mark.parametrize("solver", ["greedy", "cpsat"])
def test_alternatives_for_share_one_schedule_and_equal_each_case_alone(
        instances: list[optimizer.Instance], solver: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Schedule] = []

    class Counting(Schedule):
        def __init__(self, p: candidates.Prepared) -> None:
            super().__init__(p)
            built.append(self)

    for instance in instances:
        plan = optimizer.solve(instance, solver=solver, time_limit=1.0, seed=1)
        data = plan.to_json()
        # every case (also unknown ids, telephone cases, kept meetings, unassigned ones)
        ids = [c.id for c in instance.cases] + ["unknown", instance.cases[0].id]
        alone = _each_alone(instance, data, ids, 3)
        monkeypatch.setattr(alternatives_module, "Schedule", Counting)
        built.clear()
        together = optimizer.alternatives_for(instance, data, ids, count=3)
        monkeypatch.undo()
        assert len(built) == 1  # today's code built one schedule per case
        assert together == alone
        assert list(together) == list(dict.fromkeys(ids))
        assert sum(1 for slots in together.values() if slots) > 20


def test_alternatives_for_a_plan_missing_a_talk_or_naming_a_case_twice(
        instances: list[optimizer.Instance]) -> None:
    # A plan without a talk some meeting needs: the schedule chooses one, and what it chooses
    # depends on the meetings placed before (the case's own too), so each case gets its own.
    instance = instances[0]
    data = optimizer.solve(instance, solver="greedy").to_json()
    talks = [item for item in data["assignments"] if item["private_talk"] is not None
             and instance.case_by_id[item["case_id"]].wants_new_talk]
    assert len(talks) >= 2
    for item in talks[:2]:
        item["private_talk"] = None
    ids = [c.id for c in instance.cases]
    assert optimizer.alternatives_for(instance, data, ids, count=2) == \
        _each_alone(instance, data, ids, 2)
    twice = copy.deepcopy(data)
    twice["assignments"].append(copy.deepcopy(twice["assignments"][0]))
    assert optimizer.alternatives_for(instance, twice, ids, count=2) == \
        _each_alone(instance, twice, ids, 2)


def test_the_solved_plan_hands_its_prepared_instance_to_alternatives(
        instances: list[optimizer.Instance], monkeypatch: pytest.MonkeyPatch) -> None:
    instance = instances[1]
    plan = optimizer.solve(instance, solver="greedy")
    assert plan.prepared is not None and plan.prepared.instance is instance
    ids = [a.case_id for a in plan.assignments if a.meeting is not None]
    expected = _each_alone(instance, plan.to_json(), ids, 2)
    calls: list[object] = []
    real_prepare = alternatives_module.prepare
    monkeypatch.setattr(alternatives_module, "prepare",
                        lambda inst: calls.append(inst) or real_prepare(inst))
    assert optimizer.alternatives_for(instance, plan, ids, count=2) == expected
    assert optimizer.alternatives_for(instance, plan.to_json(), ids, count=2,
                                      prepared=plan.prepared) == expected
    assert calls == []  # today's code prepared the instance again
    # another instance's prepared data is not used
    other = optimizer.parse_instance(generate_instance(20, 2, seed=9))
    assert optimizer.alternatives_for(instance, plan.to_json(), ids, count=2,
                                      prepared=prepare(other)) == expected
    assert calls == [instance]


def test_solve_instance_prepares_the_real_instance_once(
        instances: list[optimizer.Instance], monkeypatch: pytest.MonkeyPatch) -> None:
    data = generate_instance(70, 5, seed=3, talk_share=0.4)
    first = optimizer.solve(optimizer.parse_instance(data), solver="greedy").to_json()
    request = SolveRequest(instance=_next_day(data, first, 3), time_limit=1.0, seed=1)
    prepared: list[object] = []
    for module in (optimizer, alternatives_module, optimizer.proposals):
        real = module.prepare
        monkeypatch.setattr(module, "prepare",
                            lambda inst, real=real: prepared.append(inst) or real(inst))
    result = solve_instance(request)
    assert result.alternatives
    # the derived instance (proposals kept) and the real one; today's code prepared the
    # real one a second time for the alternatives
    assert len(prepared) == 2


def test_parse_reads_each_interval_once_and_keeps_its_errors() -> None:
    data = generate_instance(30, 3, seed=4)
    blocked = [{"start": "2026-03-25T08:00", "end": "2026-03-25T12:00"},
               {"start": "2026-03-26T08:00", "end": "2026-03-26T10:00"}]
    for case in data["cases"]:
        if case.get("employer"):
            case["employer"]["unavailable"] = copy.deepcopy(blocked)
    instance = optimizer.parse_instance(data)
    lists = [c.employer.unavailable for c in instance.cases if c.employer.unavailable]
    assert len(lists) > 10
    assert all(x == lists[0] for x in lists)
    assert all(x[0] is lists[0][0] for x in lists)  # one object per interval read
    assert len({id(x) for x in lists}) == len(lists)  # each case its own list
    p = prepare(instance)
    assert p.unavailable == [to_minutes(instance, c.employer.unavailable)
                             for c in instance.cases]
    # an interval seen before, but now with another field or a wrong type, is still an error
    for bad, message in (({"start": "2026-03-25T08:00", "end": "2026-03-25T12:00", "x": 1},
                          "unavailable[1].x: unknown field"),
                         ({"start": "2026-03-25T12:00", "end": "2026-03-25T08:00"},
                          "unavailable[1].end: must be after start"),
                         ({"start": "2026-03-25T08:00"}, "unavailable[1].end: missing"),
                         ({"start": ["2026-03-25T08:00"], "end": "2026-03-25T12:00"},
                          "unavailable[1].start: malformed time")):
        broken = copy.deepcopy(data)
        employer = next(c for c in broken["cases"] if c.get("employer"))["employer"]
        employer["unavailable"] = [blocked[0], bad]
        with pytest.raises(optimizer.InstanceError, match=message.replace("[", r"\[")
                           .replace("]", r"\]")):
            optimizer.parse_instance(broken)


def _minute_of_by_total_seconds(as_of: date, moment: datetime) -> int:
    """The definition: whole minutes since midnight of as_of."""
    delta = moment - datetime.combine(as_of, datetime.min.time())
    return int(delta.total_seconds() // 60)


def test_minute_of_is_whole_minutes_since_midnight_of_as_of() -> None:
    instance = optimizer.parse_instance(generate_instance(5, 1, seed=2))
    rng = random.Random(22)
    origin = datetime.combine(instance.as_of, datetime.min.time())
    for _ in range(20000):
        moment = origin + timedelta(days=rng.randrange(-40, 400),
                                    seconds=rng.randrange(0, 86400),
                                    microseconds=rng.choice([0, 0, rng.randrange(1_000_000)]))
        assert minute_of(instance, moment) == _minute_of_by_total_seconds(instance.as_of, moment)
        minute = rng.randrange(-60 * 1440, 400 * 1440)
        assert minute_of(instance, moment_of(instance, minute)) == minute
