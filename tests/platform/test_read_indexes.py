"""The reads every planning and reminder run makes are answered from an index, not by
reading a table that grows with every message and meeting (migration 0013)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url


def _plan(sqlite_url: str, sql: str) -> str:
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as connection:
        return " | ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))


def test_the_reminders_find_a_meetings_messages_by_index(sqlite_url: str) -> None:
    plan = _plan(sqlite_url, "SELECT meeting_id, kind FROM outbox WHERE meeting_id IN (1, 2, 3)"
                             " AND kind IN ('employer_reminder', 'employer_day_before')")
    assert "USING COVERING INDEX ix_outbox_meeting" in plan, plan


def test_open_meetings_are_found_by_status(sqlite_url: str) -> None:
    plan = _plan(sqlite_url, "SELECT case_id FROM meetings WHERE municipality_id = 'demo'"
                             " AND status = 'proposed'")
    assert "USING INDEX ix_meetings_status" in plan, plan
