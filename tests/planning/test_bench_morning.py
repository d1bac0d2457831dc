"""`fasthold bench morning`: the national morning run, tiny (figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from service.commands.bench_morning import municipality_sizes

ROOT = Path(__file__).resolve().parents[2]


def test_the_municipalities_are_sized_like_denmarks() -> None:
    sizes = municipality_sizes(98)
    assert sizes[0] == 1500 and min(sizes) >= 30 and sizes == sorted(sizes, reverse=True)
    assert 12_000 <= sum(sizes) <= 16_000  # ~15,000 new target cases a month nationally


def test_bench_morning_prints_a_table_and_writes_json_of_valid_plans(tmp_path: Path) -> None:
    out = tmp_path / "morning.json"
    done = subprocess.run(
        [sys.executable, "-m", "service.commands.cli", "bench", "morning",
         "--municipalities", "3", "--largest", "90", "--team-size", "2",
         "--partition-cases", "40", "--time-limit", "1", "--processes", "2",
         "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "makespan s" in done.stdout and "on-time %" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in ("municipalities", "processes", "time_limit", "partitions", "cases",
                "makespan_s", "p95_partition_s", "max_partition_s", "on_time_share",
                "meetings_needed", "meetings_on_time", "unassigned", "second_round_cases",
                "invalid", "municipality_rows", "partition_rows"):
        assert key in report, key
    assert report["municipalities"] == 3 and report["processes"] == 2
    assert report["cases"] == sum(row["cases"] for row in report["municipality_rows"])
    # The largest municipality has teams and more cases than a partition: it was split.
    assert report["municipality_rows"][0]["partitions"] >= 2
    assert report["partitions"] > report["municipalities"]
    # Every partition's plan, and every municipality's joined plan, passes the validator.
    assert report["invalid"] == 0
    assert all(part["problems"] == [] for part in report["partition_rows"])
    assert all(row["problems"] == [] for row in report["municipality_rows"])
    assert 0 < report["on_time_share"] <= 1
