"""The simulation exercises the consultants' holidays and the long-absence hand-over: with
`[simulation] consultant_vacation_weeks`, each consultant registers a summer
holiday within `vacation_iso_weeks`, `vacation_notice_weeks` ahead; planning leaves its days
free; and intake hands the cases whose deadline falls in it to the colleague "Møder der skal
flyttes" suggests. Nothing is held by, and nobody registers anything as, a consultant on
holiday."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from service.config import ConfigError, MunicipalityConfig, load_config
from tests.simulation.absence_checks import assert_nothing_done_while_away
from tests.simulation.file_runs import run_into_file

JUNE = date(2027, 6, 1)


def test_holidays_are_registered_ahead_kept_free_and_their_cases_handed_over(
        small_town: MunicipalityConfig, tmp_path: Path) -> None:
    path = tmp_path / "holiday.db"
    result = run_into_file(small_town, path, seed=5, months=1, in_role=4, start=JUNE,
                           consultant_vacation_weeks=2, vacation_iso_weeks=[23, 28],
                           vacation_notice_weeks=1)
    counters = result.counters
    assert counters["cases_handed_over"] > 0
    assert "cases_handover_refused" not in counters
    with sqlite3.connect(path) as db:
        active = {key for (key,) in db.execute("SELECT key FROM consultants WHERE active")}
        holidays = db.execute(
            "SELECT c.key, a.first_day, a.last_day, a.created_at, a.created_by "
            "FROM consultant_absences a JOIN consultants c ON c.id = a.consultant_id "
            "WHERE a.reason = 'ferie' AND a.deleted_at IS NULL").fetchall()
        # one holiday for each (active) consultant, registered by themselves
        assert sorted(key for key, *_ in holidays) == sorted(active)
        assert counters["consultant_holidays"] == len(active)
        for key, first, last, created, by in holidays:
            first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
            # two whole weeks, Monday to Sunday, within ISO weeks 23-28
            assert first_day.isoweekday() == 1 and last_day - first_day == timedelta(days=13)
            assert 23 <= first_day.isocalendar().week <= 27
            # a week ahead, or on the run's first day when the holiday began a week later
            registered = date.fromisoformat(created[:10])
            assert registered == max(first_day - timedelta(weeks=1), JUNE), (key, created)
            assert by == f"consultant:simulering-{key}"
        # every hand-over is intake's owner override, away from a consultant whose holiday
        # begins within a working week (nine days here, with a weekend either side) or began
        by_key = {key: (date.fromisoformat(first), date.fromisoformat(last))
                  for key, first, last, *_ in holidays}
        handed = db.execute(
            "SELECT at, json_extract(details, '$.from'), json_extract(details, '$.to') "
            "FROM audit_log WHERE action = 'case.owner_override' "
            "AND actor = 'intake:simulering-intake' "
            "AND json_extract(details, '$.category') = 'capacity'").fetchall()
        assert len(handed) == counters["cases_handed_over"]
        for at, previous, colleague in handed:
            first_day, last_day = by_key[previous]
            assert first_day - timedelta(days=9) <= date.fromisoformat(at[:10]) <= last_day
            assert colleague != previous and colleague in active
        # each case once: the colleague suggested is not away on its deadline, and a
        # follow-up waits for its own consultant
        cases = [row[0] for row in db.execute(
            "SELECT case_id FROM audit_log WHERE action = 'case.owner_override' "
            "AND json_extract(details, '$.category') = 'capacity'")]
        assert len(cases) == len(set(cases))
        assert_nothing_done_while_away(db)


@pytest.mark.parametrize(("values", "expected"), [
    ("consultant_vacation_weeks = 7", "consultant_vacation_weeks"),
    ("vacation_iso_weeks = [30, 29]", "vacation_iso_weeks"),
    ("vacation_iso_weeks = [0, 3]", "vacation_iso_weeks"),
    ("consultant_vacation_weeks = 3\nvacation_iso_weeks = [27, 28]", "vacation_iso_weeks"),
    ("vacation_notice_weeks = -1", "vacation_notice_weeks"),
])
def test_holiday_settings_are_checked(tmp_path: Path, values: str, expected: str) -> None:
    demo = (Path(__file__).resolve().parents[2] / "config" / "demo.toml").read_text()
    path = tmp_path / "bad.toml"
    path.write_text(demo.replace("[simulation]\n", f"[simulation]\n{values}\n", 1))
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_a_holiday_early_in_the_year_is_registered_in_the_year_before(
        small_town: MunicipalityConfig, tmp_path: Path) -> None:
    """ISO weeks 1-2 with four weeks' notice: registered in December, not on New Year's."""
    path = tmp_path / "new-year.db"
    run_into_file(small_town, path, seed=2, months=1, in_role=2, start=date(2026, 12, 1),
                  consultant_vacation_weeks=1, vacation_iso_weeks=[1, 2],
                  vacation_notice_weeks=4)
    with sqlite3.connect(path) as db:
        holidays = db.execute("SELECT first_day, created_at FROM consultant_absences "
                              "WHERE reason = 'ferie'").fetchall()
    assert holidays
    for first, created in holidays:
        first_day = date.fromisoformat(first)
        assert first_day.isocalendar().week in (1, 2) and first_day.year in (2026, 2027)
        registered = date.fromisoformat(created[:10])
        assert registered.year == 2026 and first_day - registered <= timedelta(weeks=4)
