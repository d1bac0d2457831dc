"""The reads every planning and reminder run makes are answered from an index, not by
reading a table that grows with every message, meeting and closed case (migrations 0013 and
0014)."""

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


def test_open_cases_are_found_without_the_closed_ones(sqlite_url: str) -> None:
    """Planning's cases, by deadline: the partial index holds only open cases."""
    plan = _plan(sqlite_url, "SELECT id FROM cases WHERE municipality_id = 'demo' AND status ="
                             " 'target' AND closed_on IS NULL ORDER BY first_meeting_deadline")
    assert "USING INDEX ix_cases_open" in plan and "TEMP B-TREE" not in plan, plan


def test_the_employers_wishes_are_found_by_index(sqlite_url: str) -> None:
    plan = _plan(sqlite_url, "SELECT case_id, employer_preferences FROM meetings WHERE case_id IN"
                             " (1, 2, 3) AND employer_preferences IS NOT NULL")
    assert "USING INDEX ix_meetings_wishes" in plan, plan


def test_open_tasks_are_found_without_the_done_ones(sqlite_url: str) -> None:
    """Planning's open telephone follow-up calls."""
    plan = _plan(sqlite_url, "SELECT id FROM consultant_tasks WHERE municipality_id = 'demo'"
                             " AND kind = 'follow_up_call' AND done_at IS NULL")
    assert "USING INDEX ix_tasks_open" in plan, plan
