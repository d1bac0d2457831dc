"""The simulation exercises planning rule 10: citizens who ask at intake for a talk with the
consultant without the employer first (`[simulation] citizen_private_talk_share`) get it
planned before the workplace meeting — with the meeting's consultant, on an earlier day —
and the consultants register how it went, as they do the meetings."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime
from pathlib import Path

from service.config import MunicipalityConfig
from service.platform.crypto import new_data_key
from service.simulation.run import RunOptions, run_scenario
from service.simulation.staffing import StaffingPlan

SECRET = "simulation-test-secret-" + "x" * 32
START = date(2026, 10, 1)


def test_every_citizen_asking_for_a_private_talk_gets_it_before_the_meeting(
        small_town: MunicipalityConfig, tmp_path: Path) -> None:
    config = small_town.model_copy(update={"simulation": small_town.simulation.model_copy(
        update={"citizen_private_talk_share": 1.0})})
    path = tmp_path / "talks.db"
    options = RunOptions(seed=3, start=START, months=1, solver="greedy", time_limit=1.0,
                         plan=StaffingPlan(((START, 3),), "3 in the role"),
                         database_url=f"sqlite+aiosqlite:///{path}", data_key=new_data_key())
    result = asyncio.run(run_scenario(config, options, SECRET))
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
