"""The simulation exercises the consultants' absences: with `[simulation]
consultant_sick_days_per_month`, consultants call in sick in the morning (the absence
registered as the week page does), the morning's planning run withdraws their proposals and
lists their confirmed meetings to move, and intake moves each one at midday — to the
colleague the list proposes, or by asking the employer for new times. Nothing is held by, and
nobody registers anything as, a consultant on a day they are away."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.config import MunicipalityConfig
from tests.simulation.absence_checks import assert_nothing_done_while_away
from tests.simulation.file_runs import run_into_file


def test_sick_consultants_meetings_are_moved_and_they_do_nothing_while_away(
        small_town: MunicipalityConfig, tmp_path: Path) -> None:
    path = tmp_path / "sick.db"
    result = run_into_file(small_town, path, seed=5, months=1, in_role=3,
                           consultant_sick_days_per_month=6.0)
    counters = result.counters
    assert counters["consultant_sicknesses"] > 0
    assert counters.get("meetings_to_colleague", 0) + counters.get(
        "meetings_new_times_asked", 0) > 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM consultant_absences WHERE reason = 'sygdom'"
                          ).fetchone()[0] == counters["consultant_sicknesses"]
        assert_nothing_done_while_away(db)
