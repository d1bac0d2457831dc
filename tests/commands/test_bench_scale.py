"""`fasthold bench scale` end to end, tiny: one deployment of two generated municipalities on
a throwaway PostgreSQL, 2 web processes and 2 workers, one worker SIGKILLed while every
worker holds a planning job. Figures are never asserted (they depend on the machine); that
nothing was lost, duplicated or failed is, and that the killed worker's job ran again
(after three missed heartbeats of 2 s: the workers' `--heartbeat`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.commands.bench_scale import KEYS, cpr_number, write_config_dir
from service.config import load_config_dir
from service.platform.throwaway_postgres import postgres_bindir
from tests.commands.test_service_cli import FASTHOLD, ROOT

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.mark.postgres
def test_a_tiny_run_kills_a_worker_and_loses_nothing(tmp_path: Path) -> None:
    if postgres_bindir() is None:
        message = "PostgreSQL server not installed (/usr/lib/postgresql/*/bin/postgres)"
        if IN_CI:
            pytest.fail(message + "; the test command should have installed it")
        pytest.skip(message)
    out = tmp_path / "scale.json"
    done = subprocess.run([FASTHOLD, "bench", "scale", "--municipalities", "2", "--web", "2",
                           "--workers", "2", "--duration", "2", "--cases", "8",
                           "--time-limit", "2", "--heartbeat", "2", "--json", str(out),
                           "--keep-logs"],
                          capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr + _process_logs(done.stdout)
    _remove_logs(done.stdout)
    assert "metric | value | note" in done.stdout.splitlines()
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(KEYS) <= set(report)
    assert report["error"] is None
    assert (report["municipalities"], report["web_processes"], report["workers"]) == (2, 2, 2)
    assert report["cases"] == 16 and report["cases_target"] == 16
    assert report["worker_killed"] is True
    if report["killed_holding_planning_job"]:
        assert report["stalled_jobs_retried"] >= 1  # the queue's stalled-job task
    # On a loaded machine the worker may finish its job between the look and the kill: then
    # it held none at its death, which the report says (no job of before the kill is left).
    assert isinstance(report["kill_landed_between_jobs"], bool)
    assert report["errors"] == report["messages_lost"] == report["messages_duplicated"] == 0
    assert report["cases_unowned"] == 0
    assert report["messages"] > 0  # the plans' invitations, every one received once
    assert report["messages_received"] == report["message_statuses"]["sent"]
    assert report["read"]["ok"] > 0 and report["bare"]["ok"] > 0
    assert report["read_per_s"] > 0 and report["p99_ms"] > 0
    assert report["planning_makespan_s"] > 0
    assert report["reads_per_cpu_s"] > 0 and report["bare_reads_per_cpu_s"] > 0
    assert report["read_cpu_ratio"] > 0
    # Every process of the deployment stopped when asked (the killed one was not asked).
    assert [name for name, status in report["exit_statuses"].items() if status not in (0, None)
            ] == []


def _logs_folder(stdout: str) -> Path | None:
    line = next((x for x in stdout.splitlines() if x.startswith("logs kept in ")), None)
    return Path(line.removeprefix("logs kept in ").strip()) if line else None


def _process_logs(stdout: str) -> str:
    """The end of each process's log, to say why a run failed."""
    folder = _logs_folder(stdout)
    if folder is None or not folder.is_dir():
        return ""
    return "".join(f"\n--- {log.name}\n" + "\n".join(
        log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        for log in sorted(folder.glob("*.log")))


def _remove_logs(stdout: str) -> None:
    folder = _logs_folder(stdout)
    if folder is not None and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def test_generated_municipalities_are_one_valid_deployment(tmp_path: Path) -> None:
    write_config_dir(tmp_path, 3, time_limit=1.5)
    configs = load_config_dir(tmp_path)
    assert [c.municipality.id for c in configs] == ["m01", "m02", "m03"]
    assert all(c.jobs.runner == "procrastinate" for c in configs)
    assert all(c.planning.time_limit_seconds == 1.5 for c in configs)
    consultants = [k.id for c in configs for k in c.consultants]
    assert len(consultants) == len(set(consultants))
    assert len({cpr_number(k) for k in range(50_000)}) == 50_000


@pytest.mark.parametrize(("args", "option"), [
    (["--workers", "1"], "--workers"),
    (["--municipalities", "100"], "--municipalities"),
    (["--duration", "0"], "--duration"),
    (["--heartbeat", "0"], "--heartbeat"),
])
def test_bad_arguments_exit_2_naming_the_option(tmp_path: Path, args: list[str],
                                                option: str) -> None:
    out = tmp_path / "scale.json"
    done = subprocess.run([FASTHOLD, "bench", "scale", *args, "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert option in done.stderr
    assert not out.exists()
