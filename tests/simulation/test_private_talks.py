"""The simulation exercises planning rule 10: citizens who ask at intake for a talk with the
consultant without the employer first (`[simulation] citizen_private_talk_share`) get it
planned before the workplace meeting — with the meeting's consultant, on an earlier day —
and the consultants register how it went, as they do the meetings."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from service.config import MunicipalityConfig
from tests.simulation.file_runs import run_into_file


def test_every_citizen_asking_for_a_private_talk_gets_it_before_the_meeting(
        small_town: MunicipalityConfig, tmp_path: Path) -> None:
    path = tmp_path / "talks.db"
    result = run_into_file(small_town, path, seed=3, months=1, in_role=3,
                           citizen_private_talk_share=1.0)
    assert result.counters["private_talks_held"] > 0
    with sqlite3.connect(path) as db:
        held = db.execute(
            "SELECT t.case_id, t.consultant_id, t.start FROM meetings t "
            "WHERE t.kind = 'private_talk' AND t.status = 'talk_held'").fetchall()
        assert len(held) == result.counters["private_talks_held"]
        meetings = {case_id: (consultant, start) for case_id, consultant, start in db.execute(
            "SELECT case_id, consultant_id, start FROM meetings WHERE kind = "
            "'workplace_meeting' AND status IN ('confirmed', 'held')")}
        # the wish, in the case's facts (`private_talk_first` is cleared when the meeting
        # moves to the jobcentre: a declining employer)
        wished = {case_id for (case_id,) in db.execute(
            "SELECT id FROM cases WHERE json_extract(facts, '$.citizen_wants_private_talk')")}
        cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert len(wished) == cases  # a share of 1: every citizen asked
    before = 0
    for case_id, consultant, start in held:
        assert case_id in wished
        if case_id in meetings:
            meeting_consultant, meeting_start = meetings[case_id]
            assert meeting_consultant == consultant
            assert datetime.fromisoformat(start).date() < datetime.fromisoformat(
                meeting_start).date()
            before += 1
    assert before > 0
