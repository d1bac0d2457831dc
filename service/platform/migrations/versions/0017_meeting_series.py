"""A meeting's place in its case's series of meetings (`meetings.series`): 0 for the first
meeting, n for the n-th follow-up (the held meetings before it). The calendar event's UID is
made of it (`MeetingNotifier.calendar_uid`): each follow-up is an event of its own in the
employer's and the consultant's calendars — one UID per case had a follow-up replace the held
meeting there, and the consultant's feed held several events of one UID.

Existing follow-ups get the count of their case's held meetings that began before them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("series", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.execute(sa.text(
        "UPDATE meetings SET series = (SELECT COUNT(*) FROM meetings AS held "
        "WHERE held.case_id = meetings.case_id AND held.status = 'held' "
        "AND held.kind <> 'private_talk' AND held.start < meetings.start) "
        "WHERE purpose = 'follow_up' AND kind <> 'private_talk'"))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("series")
