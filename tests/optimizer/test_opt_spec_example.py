"""The planning contract's own example instance (plus a telephone case and an employer-less
jobcenter case) through `fasthold plan`, checked field by field and by the validator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import optimizer
from tests.cli import run_cli

EXAMPLE = Path(__file__).resolve().parent / "data" / "spec_example.json"


def test_spec_example_through_the_command() -> None:
    done = run_cli("plan", "--seed", "3", str(EXAMPLE), env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    by_case = {a["case_id"]: a for a in plan["assignments"]}
    assert set(by_case) == {"k1", "k2", "k3"} and plan["unassigned"] == []
    k1, k2, k3 = by_case["k1"], by_case["k2"], by_case["k3"]
    assert k1["meeting"]["kind"] == "workplace_meeting" and k1["on_time"] is True
    assert k1["meeting"]["travel_minutes"] == 7  # ceil(4.08 km * 1.3 / 50 km/h * 60)
    assert k1["meeting"]["start"] >= "2026-03-04"  # two days' notice
    assert not k1["meeting"]["start"].startswith("2026-03-06")  # closed date
    assert k2["meeting"] is None and k2["on_time"] is True  # telephone: no meeting
    assert "fixed_employer" in k2["reasons"]
    assert k3["meeting"]["kind"] == "jobcenter_meeting"
    assert k3["meeting"]["travel_minutes"] == 0
    metrics = plan["metrics"]
    assert metrics["cases"] == 3 and metrics["meetings_needed"] == 2
    assert metrics["meetings_on_time"] == 2 and metrics["upper_bound_on_time"] == 2
    assert metrics["travel_minutes"] == 14 and metrics["solver"] == "cpsat"
    instance = optimizer.parse_instance(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    for solver in ("cpsat", "greedy"):
        result = optimizer.solve(instance, solver=solver, time_limit=5, seed=0)
        assert optimizer.validate(instance, result) == []


def test_workplace_case_still_needs_an_employer() -> None:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["cases"][0]["employer"] = None
    try:
        optimizer.parse_instance(data)
    except optimizer.InstanceError as exc:
        assert "cases[0].employer" in str(exc)
    else:
        raise AssertionError("a workplace meeting without an employer must be refused")
