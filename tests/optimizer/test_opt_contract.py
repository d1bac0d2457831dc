"""Instance parsing errors, the CLI, determinism, CP-SAT vs greedy, and the validator."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import optimizer
from optimizer.generator import generate_instance
from service.commands.cli import main
from tests.optimizer.opt_helpers import by_case, case, consultant, instance, plan_both

CLI = (sys.executable, "-m", "service.commands.cli")


def _mutate(path: str, value: object) -> dict:
    data = instance([case("k1"), case("k2")], [consultant("c1"), consultant("c2")])
    *parents, last = path.split(".")
    node: object = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("cases.1.deadline", "2026-13-01", 'cases[1].deadline: not a date "2026-13-01"'),
    ("cases.0.consultant_id", "c9", 'cases[0].consultant_id: unknown consultant "c9"'),
    ("consultants.1.busy", [{"start": "2026-03-04 9", "end": "2026-03-04T10:00"}],
     "consultants[1].busy[0].start: malformed time"),
    ("consultants.1.id", "c1", 'consultants[1].id: duplicate id "c1"'),
    ("cases.1.id", "k1", 'cases[1].id: duplicate id "k1"'),
    ("cases.0.follow_up", "visit", "cases[0].follow_up:"),
    ("consultants.0.location", {"lat": 91, "lon": 8}, "consultants[0].location.lat:"),
    ("consultants.0.active_cases", -1, "consultants[0].active_cases:"),
    ("consultants.0.max_active_cases", "2", "consultants[0].max_active_cases:"),
    ("consultants.0.workplace_meetings", "yes", "consultants[0].workplace_meetings:"),
    ("slot_minutes", 0, "slot_minutes:"),
    ("as_of", KeyError, "as_of: missing"),
    ("travel", {"road_factor": -1}, "travel.road_factor:"),
    ("working_hours", {"mon": ["09:00", "08:00"]}, "working_hours.mon[1]:"),
    ("cases.0.meeting", {"start": "2026-03-04T09:00", "consultant_id": "c7"},
     "cases[0].meeting.consultant_id:"),
])
def test_parse_errors_name_the_field(path, value, message):
    with pytest.raises(optimizer.InstanceError) as info:
        optimizer.parse_instance(_mutate(path, value))
    assert str(info.value).startswith(message)


def test_defaults_applied():
    inst = optimizer.parse_instance(instance([case("k1")]))
    assert (inst.horizon_days, inst.slot_minutes, inst.min_notice_days) == (35, 15, 2)
    assert inst.meeting_minutes == {"workplace_meeting": 60, "jobcenter_meeting": 45}
    c = inst.consultants[0]
    assert c.max_meetings_per_day == 3 and c.working_hours[4] == (480, 780)


def test_cli_plan_invalid_instance_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_mutate("cases.1.deadline", "2026-13-01")))
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cases[1].deadline" in err and "2026-13-01" in err
    path.write_text("{not json")
    assert main(["plan", str(path)]) == 2


def test_cli_plan_prints_plan(tmp_path, capsys):
    path = tmp_path / "ok.json"
    data = instance([case("k1")])
    path.write_text(json.dumps(data))
    assert main(["plan", "--solver", "greedy", str(path)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert optimizer.validate(optimizer.parse_instance(data), plan) == []
    assert plan["metrics"]["solver"] == "greedy"


def test_cli_plan_stdin_subprocess(tmp_path):
    data = instance([case("k1")])
    done = subprocess.run([*CLI, "plan", "--time-limit", "2",
                           "-"], input=json.dumps(data), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert optimizer.validate(optimizer.parse_instance(data), plan) == []
    bad = subprocess.run([*CLI, "plan", "-"],
                         input='{"as_of": 5}', capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "as_of" in bad.stderr


def _without_time(plan: dict) -> dict:
    plan = json.loads(json.dumps(plan))
    plan["metrics"].pop("solve_seconds")
    return plan


def test_deterministic_for_a_seed():
    inst = optimizer.parse_instance(generate_instance(30, 3, seed=5))
    first = optimizer.solve(inst, solver="cpsat", time_limit=3, seed=7)
    second = optimizer.solve(inst, solver="cpsat", time_limit=3, seed=7)
    assert optimizer.validate(inst, first) == []
    assert _without_time(first.to_json()) == _without_time(second.to_json())
    assert generate_instance(30, 3, seed=5) == generate_instance(30, 3, seed=5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cpsat_never_worse_than_greedy(seed):
    inst = optimizer.parse_instance(generate_instance(40, 3, seed=seed, tight=True))
    greedy = optimizer.solve(inst, solver="greedy")
    cpsat = optimizer.solve(inst, solver="cpsat", time_limit=3, seed=0)
    assert optimizer.validate(inst, greedy) == []
    assert optimizer.validate(inst, cpsat) == []
    assert cpsat.metrics["meetings_on_time"] >= greedy.metrics["meetings_on_time"]
    assert cpsat.metrics["upper_bound_on_time"] >= cpsat.metrics["meetings_on_time"]


def test_cpsat_strictly_better_on_tight_instance():
    # One planning day before the deadline. Greedy gives k1 (first by id) to the least loaded
    # c1 (tie, by id), whose single meeting that day is then gone; k2's employer is fixed to
    # c1, so k2 is late. CP-SAT gives k1 to c2 and both are on time.
    data = instance(
        [case("k1", deadline="2026-03-04", cvr="1"), case("k2", deadline="2026-03-04",
                                                          cvr="2")],
        [consultant("c1", max_meetings_per_day=1, fixed_employers=["2"]),
         consultant("c2", max_meetings_per_day=1)])
    plans = plan_both(data)
    assert plans["greedy"]["metrics"]["meetings_on_time"] == 1
    assert plans["cpsat"]["metrics"]["meetings_on_time"] == 2
    assert by_case(plans["cpsat"])["k1"]["consultant_id"] == "c2"


def test_generated_instance_is_valid_and_both_plans_validate():
    data = generate_instance(60, 6, seed=3)
    assert {"consultants", "cases", "as_of"} <= set(data)
    plan_both(data, time_limit=3)
    teams = generate_instance(60, 60, seed=3)
    assert teams["consultants"][0]["id"].startswith("t1-")


# -- the validator catches violations -------------------------------------------------------

def _valid_plan() -> tuple[optimizer.Instance, dict]:
    data = instance([case("k1", deadline="2026-03-06", cvr="7"),
                     case("k2", deadline="2026-03-06")],
                    [consultant("c1", fixed_employers=["7"]), consultant("c2")])
    inst = optimizer.parse_instance(data)
    plan = optimizer.solve(inst, solver="greedy").to_json()
    assert optimizer.validate(inst, plan) == []
    return inst, plan


def test_validate_catches_overlap():
    inst, plan = _valid_plan()
    items = by_case(plan)
    items["k2"]["consultant_id"] = items["k1"]["consultant_id"]
    items["k2"]["meeting"] = dict(items["k1"]["meeting"])
    problems = optimizer.validate(inst, plan)
    assert any("overlap" in p for p in problems)


def test_validate_catches_holiday_and_grid():
    inst, plan = _valid_plan()
    meeting = by_case(plan)["k1"]["meeting"]
    meeting.update(start="2026-04-03T09:00", end="2026-04-03T10:00")  # Good Friday
    by_case(plan)["k1"]["on_time"] = False
    problems = optimizer.validate(inst, plan)
    assert any("not a working day" in p for p in problems)
    meeting.update(start="2026-03-05T09:07", end="2026-03-05T10:07")
    assert any("grid" in p for p in optimizer.validate(inst, plan))


def test_validate_catches_wrong_consultant_for_fixed_employer():
    inst, plan = _valid_plan()
    by_case(plan)["k1"]["consultant_id"] = "c2"
    problems = optimizer.validate(inst, plan)
    assert any("fixed" in p for p in problems)


def test_validate_catches_wrong_metrics_and_missing_case():
    inst, plan = _valid_plan()
    plan["metrics"]["meetings_on_time"] += 1
    plan["assignments"].pop()
    problems = optimizer.validate(inst, plan)
    assert any("metrics.meetings_on_time" in p for p in problems)
    assert any("neither assigned nor unassigned" in p for p in problems)
