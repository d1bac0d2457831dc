"""Letters that reach people (issue 19 item 6): the citizen's postal address on the case
(`cases.citizen_address`, optional), for the letters staff print ("Breve til print") and
for Digital Post.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("citizen_address", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("citizen_address")
