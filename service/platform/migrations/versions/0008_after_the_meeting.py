"""After the first meeting (issue 20): the meeting's minutes and real date, interventions
with a kind, agreements as consultant tasks with a due date, and the closing outcomes as one
list

- meetings: `held_at` (when it was really held, local time), `agreements`, `return_plan`,
  `retention_plan_requested` and `minutes_note` (staff only).
- consultant_tasks: `due_on` (an agreement's date).
- interventions: several per case, each with its kind, start, end and weekly hours. Every
  case with a registered start (`cases.intervention_started_on`) gets one row of kind
  "other" with that start, so the figures by kind count what was registered before.
- cases.close_outcome: "moved" (moved to another municipality) is renamed
  "other_municipality" (the same meaning, the closing list's new key). "partly_recovered"
  is no longer a closing outcome (a partial return is an intervention that keeps the case
  open); closed rows with it keep it and are shown in words — nothing is guessed for them.
  The downgrade renames back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("held_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("agreements", sa.JSON, nullable=True))
        batch.add_column(sa.Column("return_plan", sa.JSON, nullable=True))
        batch.add_column(sa.Column("retention_plan_requested", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("minutes_note", sa.Text, nullable=True))
    with op.batch_alter_table("consultant_tasks") as batch:
        batch.add_column(sa.Column("due_on", sa.Date, nullable=True))
    op.create_table(
        "interventions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=True),
        sa.Column("hours_per_week", sa.Float, nullable=True),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_interventions_case", "interventions", ["case_id", "started_on"])
    cases = sa.table("cases", sa.column("id"), sa.column("municipality_id"),
                     sa.column("intervention_started_on"), sa.column("updated_at"),
                     sa.column("close_outcome"))
    interventions = sa.table("interventions", sa.column("municipality_id"),
                             sa.column("case_id"), sa.column("kind"), sa.column("started_on"),
                             sa.column("registered_by"), sa.column("created_at"))
    op.execute(interventions.insert().from_select(
        ["municipality_id", "case_id", "kind", "started_on", "registered_by", "created_at"],
        sa.select(cases.c.municipality_id, cases.c.id, sa.literal("other"),
                  cases.c.intervention_started_on, sa.literal("system:migration"),
                  cases.c.updated_at).where(cases.c.intervention_started_on.is_not(None))))
    op.execute(cases.update().where(cases.c.close_outcome == "moved")
               .values(close_outcome="other_municipality"))


def downgrade() -> None:
    cases = sa.table("cases", sa.column("close_outcome"))
    op.execute(cases.update().where(cases.c.close_outcome == "other_municipality")
               .values(close_outcome="moved"))
    op.drop_index("ix_interventions_case", table_name="interventions")
    op.drop_table("interventions")
    with op.batch_alter_table("consultant_tasks") as batch:
        batch.drop_column("due_on")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("minutes_note")
        batch.drop_column("retention_plan_requested")
        batch.drop_column("return_plan")
        batch.drop_column("agreements")
        batch.drop_column("held_at")
