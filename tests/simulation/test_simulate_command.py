"""`fasthold simulate` as a user runs it: the table and its files, a what-if comparison of two
consultants plans side by side, and plans that cannot be used (exit 2, naming file and line)."""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import date
from pathlib import Path

import pytest

from service.commands.cli import main
from service.commands.simulate import run_in_processes
from service.config import load_config
from service.simulation.run import RunOptions
from service.simulation.staffing import StaffingPlan, months_after

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """The demo municipality with a trickle of cases (a month takes seconds; what these
    tests assert needs no more than a few cases a month)."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    assert "inflow_per_month = 45" in text
    text = text.replace("inflow_per_month = 45", "inflow_per_month = 10")
    path = tmp_path / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_compare_two_plans_side_by_side(tiny_config: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    few.write_text("month,consultants\n2026-10,1\n", encoding="utf-8")
    many.write_text("month,consultants\n2026-10,5\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["simulate", "--config", str(tiny_config), "--months", "2", "--solver",
                 "greedy", "--seed", "3", "--out", str(out), "--compare", str(few),
                 str(many)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "greedy with 0.5 s per planning run in the simulation" in printed
    # (a month whose cases are still arriving is marked " *")
    assert "| 2026-10 " in printed and "| 2026-11 " in printed
    assert "Side by side: A = few, B = many" in printed
    assert printed.count("Duration by the place of the first meeting") == 2
    assert re.search(r"\| workplace +\| \d+ +\| (\d+|–) +\|", printed), printed
    assert "Back at work by week 13: " in printed
    side_by_side = printed.split("Side by side", 1)[1]
    assert re.search(r"\| 2026-10( \*)? +\| 1 / 5 +\|", side_by_side), side_by_side
    # A Markdown table: every row has the header's number of cells.
    rows = [line for line in side_by_side.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in rows}) == 1, rows
    for name in ("few", "many"):
        rows = list(csv.DictReader((out / name / "months.csv").open(encoding="utf-8")))
        assert [r["month"] for r in rows] == ["2026-10", "2026-11"]
        summary = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert summary["inputs"]["staffing"] == str(tmp_path / f"{name}.csv")
        assert summary["performance"]["job_runs"]["plan"] > 0
        # where the time went, per use case (the coroutine's name): every call counted once
        performance = summary["performance"]
        use_cases = performance["use_cases"]
        assert sum(u["calls"] for u in use_cases.values()) == performance["use_case_calls"]
        assert use_cases["IntakeService.upsert"]["calls"] > 0 and "World.tick" in use_cases
        seconds = [u["seconds"] for u in use_cases.values()]
        assert seconds == sorted(seconds, reverse=True)
        # The dashboard's outcome figures: the duration by the place of the first meeting.
        places = [d["place"] for d in summary["outcomes"]["durations"]]
        assert places == ["workplace", "jobcentre", "phone"]
        assert [b["week"] for b in summary["outcomes"]["back_at_work"]] == [13, 26]
        assert (out / name / "chart.svg").read_text(encoding="utf-8").startswith("<svg")


@pytest.mark.parametrize(("content", "message"), [
    ("month,consultants\n2026-13,2\n", "few.csv:2: month: not a month YYYY-MM"),
    ("month,consultants\n2026-10,9\n", "few.csv:2: consultants: must be a whole number "
                                       "from 0 to 5"),
    ("month,consultants\n2026-10,2\n2026-10,3\n", "few.csv:3: month 2026-10 listed twice"),
    ("month,consultants\n", "few.csv: no month,consultants rows"),
])
def test_a_plan_that_cannot_be_used_is_exit_2(tiny_config: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              content: str, message: str) -> None:
    plan = tmp_path / "few.csv"
    plan.write_text(content, encoding="utf-8")
    code = main(["simulate", "--config", str(tiny_config), "--consultants-plan", str(plan)])
    assert code == 2
    assert message in capsys.readouterr().err


def test_herning_conversion_plan_is_the_configured_one() -> None:
    """The shipped CSV (comments, a header) says what `[simulation] staffing_*` says: 5 in
    the new role from October 2026, 3 more each quarter, up to 23 (22 converted, 1 hired)."""
    config = load_config(ROOT / "config" / "herning.toml")
    start = date(2026, 10, 1)
    configured = StaffingPlan.from_config(config.simulation, len(config.consultants), start,
                                          21)
    shipped = StaffingPlan.from_csv(ROOT / "config" / "staffing" / "herning-conversion.csv",
                                    len(config.consultants))
    months = [months_after(start, n) for n in range(21)]
    assert [configured.consultants(m) for m in months] == \
        [shipped.consultants(m) for m in months]
    assert [configured.consultants(m) for m in months[::3]] == [5, 8, 11, 14, 17, 20, 23]
    assert shipped.consultants(date(2026, 9, 1)) == 0


def test_a_comparison_runs_its_scenarios_in_two_processes(tiny_config: Path) -> None:
    config = load_config(tiny_config)
    start = date(2026, 10, 1)
    scenarios = [RunOptions(seed=3, start=start, months=1, solver="greedy", time_limit=0.5,
                            plan=StaffingPlan.from_config(config.simulation,
                                                          len(config.consultants), start, 1))
                 for _ in range(2)]
    a, b = run_in_processes(config, scenarios)
    assert len({a.process_id, b.process_id, os.getpid()}) == 3
    # The same inputs in other processes: the same table.
    assert [r.kpis for r in a.months] == [r.kpis for r in b.months]
    assert a.counters == b.counters and a.counters.get("cases_registered", 0) > 0


@pytest.mark.parametrize("args, message", [
    (["--time-limit", "nan"], "argument --time-limit: must be a number > 0: 'nan'"),
    (["--time-limit", "inf"], "argument --time-limit: must be a number > 0: 'inf'"),
    (["--time-limit", "0"], "argument --time-limit: must be a number > 0: '0'"),
    (["--out", "/proc/no-such-place/out"], "--out: cannot write to /proc/no-such-place/out"),
])
def test_options_that_cannot_be_used_are_exit_2_before_any_month_is_simulated(
        tiny_config: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str) -> None:
    try:
        code = main(["simulate", "--config", str(tiny_config), "--months", "1", *args])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Side by side" not in err and "Wrote" not in err
