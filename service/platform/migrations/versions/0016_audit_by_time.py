"""The audit log by period: the Revisionslog (service.staff.audit_log) searches a
municipality's entries of some days, newest first; the log grows by every read of a case.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_at", "audit_log", ["municipality_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
