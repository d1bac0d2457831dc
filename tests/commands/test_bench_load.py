"""`fasthold bench load` end to end: it starts the service, loads it, prints a table and
writes JSON. Figures are never asserted (they depend on the machine); the shape is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.commands.bench_load import _union
from service.platform.throwaway_postgres import postgres_bindir

ROOT = Path(__file__).resolve().parents[2]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")
IN_CI = os.environ.get("CI", "").lower() == "true"
HEADER = ("database | phase | concurrency | requests/s | p50 ms | p95 ms | p99 ms | errors | "
          "peak RSS MB | web CPU ms/req")


def bench_load(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FASTHOLD, "bench", "load", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def check_run(database: str, out: Path) -> dict[str, Any]:
    done = bench_load("--databases", database, "--concurrency", "1", "--duration", "0.5",
                      "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert HEADER in lines
    for phase in ("intake", "read"):
        row = next(line for line in lines if line.startswith(f"{database} | {phase} | 1 | "))
        assert len(row.split(" | ")) == len(HEADER.split(" | "))
    assert "targets:" in lines
    assert any(line.startswith("planning during the phases (") for line in lines)

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["benchmark"] == "load"
    assert report["duration_seconds"] == 0.5 and report["concurrency"] == [1]
    assert report["error"] is None and report["skipped"] == {}
    assert [d["database"] for d in report["databases"]] == [database]
    assert report["databases"][0]["cases_created"] > 0
    assert report["databases"][0]["service_exit_status"] is not None  # it was stopped
    assert [(r["database"], r["phase"], r["concurrency"]) for r in report["rows"]] == [
        (database, "intake", 1), (database, "read", 1)]
    for row in report["rows"]:
        assert row["requests"] > 0 and row["ok"] == row["requests"]
        assert row["errors"] == 0  # valid, distinct cases; reads of cases that exist
        assert set(row["outcomes"]) <= {"200", "201"}
        assert row["requests_per_second"] > 0
        latency = row["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
        assert row["peak_rss_mb"] > 0
        assert row["web_cpu_ms_per_request"] > 0
        # within the phase's span (its requests' `seconds` and the sampling around them:
        # longer than `seconds` by more than a second on a loaded machine)
        span = datetime.fromisoformat(row["ended_at"]) - datetime.fromisoformat(
            row["started_at"])
        assert row["seconds"] <= span.total_seconds() + 0.01
        assert 0 <= row["planning_seconds"] <= span.total_seconds() + 0.05
        assert row["solver_cpu_seconds"] >= 0
    intake = report["rows"][0]
    assert intake["outcomes"] == {"201": intake["requests"]}  # every case was new
    targets = {(t["database"], t["phase"]): t for t in report["targets"]}
    assert set(targets) == {("postgresql", "intake"), ("postgresql", "read"),
                            ("sqlite", "intake"), ("sqlite", "read")}
    for (db, _phase), target in targets.items():
        if db == database:
            assert isinstance(target["met"], bool) and target["best"]["concurrency"] == 1
        else:
            assert target["met"] is None  # not measured
    return report


def test_sqlite_prints_table_and_writes_json(tmp_path: Path) -> None:
    check_run("sqlite", tmp_path / "bench" / "load.json")


@pytest.mark.postgres
def test_postgresql_prints_table_and_writes_json(tmp_path: Path) -> None:
    if postgres_bindir() is None:
        message = "PostgreSQL server not installed (/usr/lib/postgresql/*/bin/postgres)"
        if IN_CI:
            pytest.fail(message + "; the test command should have installed it")
        pytest.skip(message)
    check_run("postgresql", tmp_path / "load.json")


@pytest.mark.parametrize(("args", "option"), [
    (["--databases", "mysql"], "--databases"),
    (["--concurrency", "10,zero"], "--concurrency"),
    (["--concurrency", "0"], "--concurrency"),
    (["--duration", "0"], "--duration"),
    (["--config", "config/nowhere.toml"], "--config"),
])
def test_bad_arguments_exit_2_naming_the_option(tmp_path: Path, args: list[str],
                                                option: str) -> None:
    out = tmp_path / "load.json"
    done = bench_load(*args, "--json", str(out))
    assert done.returncode == 2
    assert option in done.stderr
    assert not out.exists()


def test_overlapping_planning_runs_count_once() -> None:
    """A run's span may overlap the one before it (it waited for the solver process that run
    still held): the planner's busy time is their union, never more than the phase."""
    at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    spans = [(at + timedelta(seconds=a), at + timedelta(seconds=b))
             for a, b in ((0.0, 1.5), (1.0, 2.2), (3.0, 4.0), (3.5, 3.8))]
    assert _union(spans) == [(at, at + timedelta(seconds=2.2)),
                             (at + timedelta(seconds=3), at + timedelta(seconds=4))]
