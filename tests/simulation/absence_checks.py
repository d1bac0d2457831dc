"""What must hold in a simulated database whose consultants were away (sick, on holiday)."""

from __future__ import annotations

import sqlite3


def assert_nothing_done_while_away(db: sqlite3.Connection) -> None:
    """No meeting held, or standing, on a day its consultant is away, and nothing registered
    by a consultant on such a day but the absence itself."""
    on_absence = db.execute(
        "SELECT m.status, count(*) FROM meetings m JOIN consultant_absences a "
        "ON a.consultant_id = m.consultant_id AND a.deleted_at IS NULL "
        "AND date(m.start) BETWEEN a.first_day AND a.last_day "
        "GROUP BY m.status").fetchall()
    assert {status for status, _ in on_absence} <= {"cancelled", "not_held",
                                                 "talk_cancelled"}, on_absence
    acted = db.execute(
        "SELECT count(*) FROM audit_log l JOIN consultants c "
        "ON l.actor = 'consultant:simulering-' || c.key JOIN consultant_absences a "
        "ON a.consultant_id = c.id AND date(l.at) BETWEEN a.first_day AND a.last_day "
        "WHERE l.action NOT LIKE 'consultant.absence%'").fetchone()[0]
    assert acted == 0
