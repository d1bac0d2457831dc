"""`fasthold bench generate` and `fasthold bench plan` end to end (figures are not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import optimizer
from tests.cli import run_cli


def fasthold(*args: str) -> subprocess.CompletedProcess[str]:
    """The command's answer, in this process (`tests.cli.run_cli`: no 1.5 s of imports)."""
    return run_cli(*args, env=dict(os.environ))


def test_bench_generate_writes_a_valid_instance(tmp_path: Path) -> None:
    out = tmp_path / "instance.json"
    done = fasthold("bench", "generate", "--cases", "40", "--consultants", "4", "--seed", "7",
                    "--tight", "--as-of", "2026-12-01", "--out", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    instance = optimizer.parse_instance(data)
    assert len(data["cases"]) == 40 and len(data["consultants"]) == 4
    assert data["as_of"] == "2026-12-01"
    plan = optimizer.solve(instance, solver="greedy", time_limit=5, seed=0)
    assert optimizer.validate(instance, plan) == []
    again = fasthold("bench", "generate", "--cases", "40", "--consultants", "4", "--seed", "7",
                     "--tight", "--as-of", "2026-12-01")
    assert json.loads(again.stdout) == data  # deterministic for a seed


def test_bench_plan_prints_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = fasthold("bench", "plan", "--sizes", "S", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "S" in done.stdout and "gap" in done.stdout.lower()
    report = json.loads(out.read_text(encoding="utf-8"))
    row = report["sizes"][0]
    assert row["size"] == "S" and row["cases"] == 123 and row["consultants"] == 5
    assert row["problems_cpsat"] == [] and row["problems_greedy"] == []
    assert row["upper_bound"] >= row["on_time_cpsat"] >= row["on_time_greedy"]
    # What the private talks cost (issue 19): by default 20 % of the workplace cases ask for
    # one; the same instance is solved without the wishes too.
    assert report["talk_share"] == 0.2 and row["talk_wishes"] > 0
    assert row["private_talks"] > 0 and row["problems_without_talks"] == []
    assert row["talk_cost"] == row["on_time_without_talks"] - row["on_time_cpsat"]
    assert "talk cost" in done.stdout and "private talks (20% of workplace cases ask)" in \
        done.stdout


def test_bench_generate_with_talks(tmp_path: Path) -> None:
    out = tmp_path / "instance.json"
    done = fasthold("bench", "generate", "--cases", "40", "--consultants", "3", "--seed", "2",
                    "--talk-share", "0.3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    wishes = [c for c in data["cases"] if c.get("private_talk_first")]
    assert wishes and all(c["follow_up"] == "workplace_meeting" for c in wishes)
    instance = optimizer.parse_instance(data)
    plan = optimizer.solve(instance, solver="greedy")
    assert optimizer.validate(instance, plan) == [] and plan.metrics["private_talks"] > 0
    wrong = fasthold("bench", "generate", "--cases", "4", "--consultants", "1",
                     "--talk-share", "1.5")
    assert wrong.returncode == 2 and "--talk-share" in wrong.stderr
    assert "must be between 0 and 1" in wrong.stderr
