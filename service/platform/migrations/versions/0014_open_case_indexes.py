"""Indexes for the reads of what is under way: a municipality's open cases by status (and
deadline) — planning, the caseloads, the work lists and the simulated consultants read only
those, and the closed ones grow by every case ever handled —, its open tasks by kind (every
planning run reads the open telephone follow-up calls; done tasks grow alike) and the
employers' wishes for other times (a few meetings of the many, read by every planning run).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_on IS NULL")
WISHES = sa.text("employer_preferences IS NOT NULL")
NOT_DONE = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_cases_open", "cases",
                    ["municipality_id", "status", "first_meeting_deadline"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_meetings_wishes", "meetings", ["case_id"],
                    sqlite_where=WISHES, postgresql_where=WISHES)
    op.create_index("ix_tasks_open", "consultant_tasks", ["municipality_id", "kind"],
                    sqlite_where=NOT_DONE, postgresql_where=NOT_DONE)


def downgrade() -> None:
    op.drop_index("ix_tasks_open", table_name="consultant_tasks")
    op.drop_index("ix_meetings_wishes", table_name="meetings")
    op.drop_index("ix_cases_open", table_name="cases")
