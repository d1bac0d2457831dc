"""Follow-ups until recovery (issue 20 item 4): the case's next follow-up and which meetings
are follow-ups

- cases.next_follow_up_due: when the next follow-up is due (every `[followup] every_weeks`
  after the last meeting held); null before the first meeting is held and once the case is
  closed. Its kind is the case's follow-up as the rules decide it (telephone while a firm plan
  for full recovery within 4 weeks holds). Cases whose first meeting was held before this
  migration get no date (nothing is guessed): the next registered meeting sets it.
- meetings.purpose: "first_meeting" (every existing row) or "follow_up".

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("next_follow_up_due", sa.Date, nullable=True))
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=False,
                                   server_default="first_meeting"))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("next_follow_up_due")
