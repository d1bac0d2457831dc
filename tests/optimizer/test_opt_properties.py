"""Property test: random small instances -> both solvers' plans pass the validator (also with
private talks wished for and agreed, rule 10)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer

AS_OF = date(2026, 3, 30)  # the horizon holds Easter 2026
TOWNS = [(56.1393, 8.9738), (56.1388, 9.1577), (55.9437, 9.1296), (56.2653, 8.7869)]


@st.composite
def instances(draw: st.DrawFn, talks: bool = False) -> dict:
    n_consultants = draw(st.integers(1, 3))
    horizon = draw(st.integers(5, 20))
    consultants = []
    for k in range(n_consultants):
        busy = []
        for _ in range(draw(st.integers(0, 3))):
            day = AS_OF + timedelta(days=draw(st.integers(0, horizon)))
            start = draw(st.integers(16, 28)) * 30
            length = draw(st.integers(1, 8)) * 30
            busy.append({"start": f"{day}T{start // 60:02d}:{start % 60:02d}",
                         "end": f"{day}T{(start + length) // 60:02d}:{(start + length) % 60:02d}"})
        consultants.append({
            "id": f"c{k}", "location": dict(zip(("lat", "lon"), draw(st.sampled_from(TOWNS)),
                                                strict=True)),
            "workplace_meetings": draw(st.booleans()),
            "skills": draw(st.lists(st.sampled_from(["mental", "physical"]), max_size=2)),
            "max_active_cases": draw(st.integers(0, 8)), "active_cases": draw(st.integers(0, 3)),
            "max_meetings_per_day": draw(st.integers(1, 3)), "busy": busy,
            "fixed_employers": ["E1"] if draw(st.booleans()) and k == 0 else []})
    cases = []
    for n in range(draw(st.integers(1, 12))):
        follow_up = draw(st.sampled_from(["workplace_meeting", "workplace_meeting",
                                          "jobcenter_meeting", "telephone"]))
        owner = draw(st.one_of(st.none(), st.integers(0, n_consultants - 1)))
        unavailable = []
        if draw(st.booleans()):
            day = AS_OF + timedelta(days=draw(st.integers(0, horizon)))
            unavailable.append({"start": f"{day}T08:00", "end": f"{day}T12:00"})
        meeting = None
        if owner is not None and follow_up != "telephone" and draw(st.integers(0, 4)) == 0:
            day = AS_OF + timedelta(days=draw(st.integers(2, horizon)))
            meeting = {"start": f"{day}T{draw(st.integers(8, 13)):02d}:00",
                       "consultant_id": f"c{owner}"}
        extra = {}
        if talks:
            extra["private_talk_first"] = draw(st.booleans())
            if owner is not None and draw(st.integers(0, 3)) == 0:
                day = AS_OF + timedelta(days=draw(st.integers(1, horizon)))
                extra["private_talk"] = {
                    "start": f"{day}T{draw(st.integers(16, 28)) * 30 // 60:02d}:"
                             f"{draw(st.sampled_from(['00', '30']))}",
                    "consultant_id": f"c{owner}"}
        cases.append({
            **extra,
            "id": f"k{n}", "follow_up": follow_up,
            "deadline": str(AS_OF + timedelta(days=draw(st.integers(0, horizon + 3)))),
            "diagnosis_group": draw(st.sampled_from(["mental", "physical", "other"])),
            "employer": {"cvr": draw(st.sampled_from(["E1", "E2", "E3"])),
                         "location": dict(zip(("lat", "lon"), draw(st.sampled_from(TOWNS)),
                                              strict=True)),
                         "unavailable": unavailable},
            "consultant_id": None if owner is None else f"c{owner}", "meeting": meeting})
    top = {"private_talk_minutes": draw(st.sampled_from([15, 30, 45]))} if talks else {}
    return {**top, "as_of": str(AS_OF), "horizon_days": horizon,
            "slot_minutes": draw(st.sampled_from([15, 20, 30])),
            "min_notice_days": draw(st.integers(0, 3)),
            "closed_dates": [str(AS_OF + timedelta(days=3))] if draw(st.booleans()) else [],
            "consultants": consultants, "cases": cases}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_both_solvers_plans_validate(data):
    _check_both(data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(talks=True))
def test_both_solvers_keep_rule_10(data):
    plans = _check_both(data)
    for plan in plans:
        for item in plan.to_json()["assignments"]:
            case = next(c for c in data["cases"] if c["id"] == item["case_id"])
            wanted = case.get("private_talk") is not None or (
                case.get("private_talk_first") and case["follow_up"] == "workplace_meeting"
                and case["meeting"] is None and item["meeting"] is not None)
            assert (item["private_talk"] is not None) == bool(wanted)


def _check_both(data: dict) -> list[optimizer.Plan]:
    inst = optimizer.parse_instance(data)
    greedy = optimizer.solve(inst, solver="greedy")
    assert optimizer.validate(inst, greedy) == []
    cpsat = optimizer.solve(inst, solver="cpsat", time_limit=0.5, seed=1)
    assert optimizer.validate(inst, cpsat) == []
    assert cpsat.metrics["meetings_on_time"] >= greedy.metrics["meetings_on_time"]
    bound = cpsat.metrics["upper_bound_on_time"]
    assert bound is None or bound >= cpsat.metrics["meetings_on_time"]
    for item in cpsat.to_json()["assignments"]:
        if item["meeting"] is not None:
            optimizer.alternatives(inst, cpsat, item["case_id"], count=2)
    return [greedy, cpsat]
