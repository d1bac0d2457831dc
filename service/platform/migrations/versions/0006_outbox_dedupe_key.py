"""The outbox refuses a message it already holds: `dedupe_key` (unique where set) names what
a meeting's message is — the meeting, the kind, the recipient and the meeting's time and
consultant as the message states them (what a new calendar SEQUENCE announces) — so that two
racing or repeated writes of the same message queue it once

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(length=64), nullable=True))
    # NULL (messages without a key) may repeat, on SQLite and PostgreSQL alike.
    op.create_index("uq_outbox_dedupe", "outbox", ["dedupe_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_outbox_dedupe", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dedupe_key")
