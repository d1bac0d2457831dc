"""The months' figures as first reported (`kpi_reports`): once a month has ended and its
cases can no longer reach intake, its figures are kept as they stood, and the dashboard names
every figure that changed since (a late registration, a back-dated closing, a case decided
anew) — a manager who reported a figure to STAR or the city council sees that it moved.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("municipality_id", sa.String(32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("municipality_id", "month", name="uq_kpi_reports_month"),
    )


def downgrade() -> None:
    op.drop_table("kpi_reports")
