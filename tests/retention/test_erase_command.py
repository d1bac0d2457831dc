"""`fasthold erase [--dry-run]`: the erasure now, or how many cases it would erase (before a
municipality turns `[retention]` on); a database behind the newest migration is refused."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service.commands.cli import main
from tests.support import today_local

CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "demo.toml")


def _add_case(path: str, ref: str, closed_on: date | None, status: str = "target") -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat(" ")
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO cases (municipality_id, case_ref, facts, cpr_encrypted, citizen_name,"
            " as_of, status, private_talk_first, first_meeting_deadline,"
            " intervention_deadline, reasons, missing, owner_reasons, owner_overridden,"
            " closed_on, created_at, updated_at) VALUES ('demo', ?, ?, 'v1.x.y', 'Ib',"
            " '2020-01-01', ?, 0, '2020-02-25', '2020-03-31', '[]', '[]', '[]', 0, ?, ?, ?)",
            (ref, json.dumps({"case_id": ref, "diagnosis_group": "mental"}), status,
             closed_on.isoformat() if closed_on else None, long_ago, long_ago))


def _add_absence(path: str, last_day: date) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO consultant_absences (municipality_id, consultant_id, first_day,"
            " last_day, reason, created_at) VALUES ('demo', 1, ?, ?, 'sygdom', ?)",
            ((last_day - timedelta(days=3)).isoformat(), last_day.isoformat(),
             datetime(2020, 1, 1, tzinfo=UTC).isoformat(" ")))


def _add_letter_to_print(path: str, ref: str) -> None:
    """A letter of the case still to print, queued now."""
    now = datetime.now(UTC).isoformat(" ")
    with sqlite3.connect(path) as connection:
        (case_id,), = connection.execute("SELECT id FROM cases WHERE case_ref = ?", (ref,))
        connection.execute(
            "INSERT INTO outbox (municipality_id, channel, kind, recipient, subject,"
            " body_text, payload, message_id, case_id, status, attempts, next_attempt_at,"
            " created_at) VALUES ('demo', 'letter', 'citizen_cancelled', 'Ib', 'Aflyst', '',"
            " '{}', ?, ?, 'pending', 0, ?, ?)", (f"<{ref}@test>", case_id, now, now))


def _absences(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [day for (day,) in connection.execute(
            "SELECT last_day FROM consultant_absences ORDER BY last_day")]


def _erased(path: str) -> dict[str, bool]:
    with sqlite3.connect(path) as connection:
        return {ref: erased is not None for ref, erased in connection.execute(
            "SELECT case_ref, erased_at FROM cases ORDER BY case_ref")}


def test_a_dry_run_counts_a_run_erases(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = sqlite_url.partition(":///")[2]
    today = today_local()
    _add_case(path, "old", today - timedelta(days=400))
    _add_case(path, "recent", today - timedelta(days=10))
    _add_case(path, "open", None)
    _add_case(path, "letter", today - timedelta(days=400))  # its letter still to print
    _add_letter_to_print(path, "letter")
    _add_absence(path, today - timedelta(days=400))  # a consultant's sick days, long over
    _add_absence(path, today - timedelta(days=5))
    monkeypatch.setenv("FASTHOLD_DATABASE_URL", sqlite_url)
    assert main(["erase", "--config", CONFIG, "--dry-run"]) == 0
    said = capsys.readouterr().out
    assert "1 case(s) ended before" in said and "1 consultants' absence(s)" in said
    assert "1 more case(s) ended then but wait for a message to be delivered" in said
    assert _erased(path) == {"letter": False, "old": False, "open": False, "recent": False}
    assert len(_absences(path)) == 2
    assert main(["erase", "--config", CONFIG]) == 0
    said = capsys.readouterr().out
    assert "erased the personal data of 1 case(s)" in said and "deleted 1 consultants'" in said
    assert "1 more case(s) ended then but wait" in said
    assert _erased(path) == {"letter": False, "old": True, "open": False, "recent": False}
    assert _absences(path) == [(today - timedelta(days=5)).isoformat()]
    assert main(["erase", "--config", CONFIG]) == 0
    assert "of 0 case(s)" in capsys.readouterr().out


def test_a_database_behind_the_migrations_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FASTHOLD_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["erase", "--config", CONFIG, "--dry-run"]) == 2
    assert "fasthold db upgrade" in capsys.readouterr().err
