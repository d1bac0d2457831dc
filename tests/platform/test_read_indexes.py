"""The reads every planning and reminder run makes are answered from an index, not by
reading a table that grows with every message, meeting, closed case and done task
(migrations 0013 and 0014)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

# (what is read, the statement, the index that must answer it)
READS = [
    ("the reminders: a meetings' messages",
     "SELECT meeting_id, kind FROM outbox WHERE meeting_id IN (1, 2, 3)"
     " AND kind IN ('employer_reminder', 'employer_day_before')",
     "USING COVERING INDEX ix_outbox_meeting"),
    ("open meetings by status",
     "SELECT case_id FROM meetings WHERE municipality_id = 'demo' AND status = 'proposed'",
     "USING INDEX ix_meetings_status"),
    ("planning's open cases by deadline (without the closed ones, and no sort)",
     "SELECT id FROM cases WHERE municipality_id = 'demo' AND status = 'target'"
     " AND closed_on IS NULL ORDER BY first_meeting_deadline",
     "USING INDEX ix_cases_open"),
    ("the employers' wishes",
     "SELECT case_id, employer_preferences FROM meetings WHERE case_id IN (1, 2, 3)"
     " AND employer_preferences IS NOT NULL",
     "USING INDEX ix_meetings_wishes"),
    ("planning's open telephone follow-up calls (without the done tasks)",
     "SELECT id FROM consultant_tasks WHERE municipality_id = 'demo'"
     " AND kind = 'follow_up_call' AND done_at IS NULL",
     "USING INDEX ix_tasks_open"),
]


@pytest.mark.parametrize(("sql", "index"), [(sql, index) for _, sql, index in READS],
                         ids=[what for what, _, _ in READS])
def test_the_read_is_answered_by_its_index(sqlite_url: str, sql: str, index: str) -> None:
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as connection:
        plan = " | ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert index in plan and "TEMP B-TREE" not in plan, plan
