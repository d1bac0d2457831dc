"""What the staff side needs: meeting outcomes and the case's contacts and intervention
(registered by consultants, read by the KPIs), Slack's event ids and posted messages, staff
users with their sessions, failed logins and calendar feeds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("citizen_called_at", TZ, nullable=True))
        batch.add_column(sa.Column("employer_called_at", TZ, nullable=True))
        batch.add_column(sa.Column("intervention_started_on", sa.Date(), nullable=True))
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("place", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("employer_took_part", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("outcome_registered_at", TZ, nullable=True))
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(length=64), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_table(
        "slack_posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=False,
                  unique=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True,
                  index=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("consultant_key", sa.String(length=64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ, nullable=True),
        sa.UniqueConstraint("municipality_id", "username", name="uq_staff_users_username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=False,
                  index=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Index("ix_login_failures_address", "address", "at"),
        sa.Index("ix_login_failures_username", "municipality_id", "username", "at"),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("consultant_id", sa.Integer(), sa.ForeignKey("consultants.id"),
                  nullable=False, index=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )


def downgrade() -> None:
    for table in ("calendar_feeds", "login_failures", "staff_sessions", "staff_users",
                  "slack_posts", "slack_events"):
        op.drop_table(table)
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("outcome_registered_at")
        batch.drop_column("employer_took_part")
        batch.drop_column("place")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("intervention_started_on")
        batch.drop_column("employer_called_at")
        batch.drop_column("citizen_called_at")
