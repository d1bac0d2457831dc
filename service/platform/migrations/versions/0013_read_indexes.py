"""Indexes for the reads every planning and reminder run makes: the outbox's messages of
given meetings (the reminder scan asks which of the open meetings had their reminder — without
an index a scan of the whole outbox, which grows by every message ever sent), and a
municipality's meetings by status (planning, the conflict scan and the reminders read the
proposed and confirmed ones, a small part of all meetings ever held).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_meeting", "outbox", ["meeting_id", "kind"])
    op.create_index("ix_meetings_status", "meetings", ["status", "municipality_id"])


def downgrade() -> None:
    op.drop_index("ix_meetings_status", table_name="meetings")
    op.drop_index("ix_outbox_meeting", table_name="outbox")
