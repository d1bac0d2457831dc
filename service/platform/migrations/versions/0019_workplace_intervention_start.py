"""A case's `intervention_started_on` is the earliest start of a *workplace-oriented*
intervention (every kind but `education`, `service.followup.intervention_kinds`), as the
week-13 figure counts: an education alone no longer settles the week-13 reminder and the
next step. Cases with interventions registered get the earliest such start (or none).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE cases SET intervention_started_on = (SELECT MIN(i.started_on) "
        "FROM interventions AS i WHERE i.case_id = cases.id AND i.kind <> 'education') "
        "WHERE EXISTS (SELECT 1 FROM interventions AS i WHERE i.case_id = cases.id)"))


def downgrade() -> None:
    op.execute(sa.text(
        "UPDATE cases SET intervention_started_on = (SELECT MIN(i.started_on) "
        "FROM interventions AS i WHERE i.case_id = cases.id) "
        "WHERE EXISTS (SELECT 1 FROM interventions AS i WHERE i.case_id = cases.id)"))
