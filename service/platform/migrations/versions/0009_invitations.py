"""Calls before letters and a decline that reaches the consultant first (issue 19 items 4
and 5)

- cases: `invitation_released_at` (with `[meetings] invitation = "after_calls"`: when the
  case's held employer invitation was let go).
- meetings: `invitation_held_at` (the proposal's invitation held since), and the employer's
  decline: `declined_at`, `decline_reason` (a fixed choice), `decline_note` (their words,
  staff only), `decline_outcome` ("moved" | "restored") and `decline_settled_at`.

Rows of before have none of these: their invitations went out at once, and a decline moved
the case at once (nothing to settle).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("invitation_released_at", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("invitation_held_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decline_reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("decline_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("decline_outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("decline_settled_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        for column in ("decline_settled_at", "decline_outcome", "decline_note",
                       "decline_reason", "declined_at", "invitation_held_at"):
            batch.drop_column(column)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("invitation_released_at")
