"""`fasthold rules evaluate` end to end, as a separate process (shared/spec/rules.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CLI = (sys.executable, "-m", "service.commands.cli")


def evaluate(*args: str, stdin: str = "", env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if k != "FASTHOLD_CONFIG"}
    run_env.update(env or {})
    return subprocess.run([*CLI, "rules", "evaluate", *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, env=run_env,
                          timeout=60)


def case(case_id: str, **changes: object) -> str:
    body: dict[str, object] = {"case_id": case_id, "first_absence_day": "2026-02-02",
                               "employment": "employed", "employer": {"cvr": "12345678"},
                               "visitation_category": 2}
    body.update(changes)
    return json.dumps(body)


def test_valid_lines_exit_0_in_order() -> None:
    stdin = "\n".join([case("a"), case("b", visitation_category=1),
                       case("c", employment="unemployed", employer=None)]) + "\n"
    done = evaluate("--as-of", "2026-03-02", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["case_id"] for o in out] == ["a", "b", "c"]
    assert out[0] == {"case_id": "a", "status": "target", "follow_up": "workplace_meeting",
                      "private_talk_first": False, "first_meeting_deadline": "2026-03-29",
                      "intervention_deadline": "2026-05-03",
                      "reasons": ["scope.category_2_3", "followup.workplace"]}
    assert out[1]["reasons"] == ["scope.category_1"]
    assert out[2]["reasons"] == ["scope.not_employed"]


def test_input_errors_per_line_and_exit_2(tmp_path: Path) -> None:
    lines = [
        case("ok1"),                                         # 1
        "",                                                  # 2: empty, skipped but counted
        "{not json",                                         # 3
        "[1, 2]",                                            # 4
        case("bad-cat", visitation_category="2"),            # 5
        case("late", first_absence_day="2026-03-03"),        # 6: after as_of
        case("nodate", first_absence_day="2026-02-30"),      # 7
        json.dumps({"first_absence_day": "2026-02-02"}),     # 8: no case_id
        case("nocvr", employer=None),                        # 9
        case("ok2", visitation_category=None),               # 10: incomplete is a decision
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = evaluate("--as-of", "2026-03-02", str(path))
    assert done.returncode == 2
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 9
    assert out[0]["case_id"] == "ok1" and out[0]["status"] == "target"
    errors = {o["line"]: o for o in out if "error" in o}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert set(errors[5]) == {"line", "case_id", "error"}
    assert errors[3]["case_id"] is None and "JSON" in errors[3]["error"]
    assert errors[4]["case_id"] is None and "object" in errors[4]["error"]
    assert errors[5]["case_id"] == "bad-cat"
    assert errors[5]["error"].startswith("visitation_category:")
    assert errors[6]["error"].startswith("first_absence_day:")
    assert "after" in errors[6]["error"]
    assert errors[7]["error"].startswith("first_absence_day:")
    assert errors[8]["case_id"] is None
    assert "case_id: is required" in errors[8]["error"]
    assert "employment: is required" in errors[8]["error"]
    assert errors[9]["error"].startswith("employer.cvr:")
    assert out[-1]["status"] == "incomplete" and out[-1]["missing"] == [
        "expected_absence_weeks"]


def test_case_as_of_overrides_option() -> None:
    stdin = case("a", as_of="2026-02-10", full_recovery_plan_date="2026-03-10") + "\n"
    done = evaluate("--as-of", "2026-03-02", "-", stdin=stdin)
    assert json.loads(done.stdout)["follow_up"] == "telephone"


def test_thresholds_from_config(tmp_path: Path) -> None:
    config = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    config = config.replace("first_meeting_deadline_days = 55", "first_meeting_deadline_days = 48")
    assert "first_meeting_deadline_days = 48" in config
    path = tmp_path / "muni.toml"
    path.write_text(config, encoding="utf-8")
    done = evaluate("--config", str(path), "--as-of", "2026-03-02", stdin=case("a") + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["first_meeting_deadline"] == "2026-03-22"


def test_bad_config_and_bad_as_of_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text((ROOT / "config" / "demo.toml").read_text(encoding="utf-8").replace(
        "first_meeting_deadline_days = 55", 'first_meeting_deadline_days = "soon"'),
        encoding="utf-8")
    done = evaluate("--config", str(path), stdin=case("a"))
    assert done.returncode == 2
    assert "first_meeting_deadline_days" in done.stderr and done.stdout == ""
    done = evaluate("--as-of", "2026-02-30", stdin=case("a"))
    assert done.returncode == 2 and "--as-of" in done.stderr
    done = evaluate(str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2 and "missing.jsonl" in done.stderr


def test_default_as_of_is_today() -> None:
    done = evaluate(stdin=case("a", first_absence_day="2020-01-06") + "\n")
    assert done.returncode == 0
    assert json.loads(done.stdout)["first_meeting_deadline"] == "2020-03-01"


def test_bench_rules_runs_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "rules.json"
    done = subprocess.run([*CLI, "bench", "rules", "--cases",
                           "2000", "--json", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "decisions/s" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases"] == 2000 and report["input_errors"] == 0
    assert sum(report["statuses"].values()) == 2000
    assert set(report["statuses"]) == {"target", "excluded", "not_target", "incomplete"}


def test_byte_order_mark_on_the_first_line_is_not_data(tmp_path: Path) -> None:
    path = tmp_path / "excel.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + case("a").encode() + b"\r\n" + case("b").encode())
    done = evaluate("--as-of", "2026-03-02", str(path))
    assert done.returncode == 0, done.stdout
    assert [json.loads(line)["case_id"] for line in done.stdout.splitlines()] == ["a", "b"]
