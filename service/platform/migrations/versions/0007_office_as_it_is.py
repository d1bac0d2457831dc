"""The office as it really is (issue 18): consultants managed in the app, their absences and
imported calendars, each case's own workplace and nearest manager, placements with their
precision, and confirmed meetings whose consultant can no longer attend

- consultants: `address` (a base address typed in the app) with `location_precision`;
  `source` ("config": seeded from the TOML; "app": created in the app) and
  `changed_in_app_at` (the TOML never overwrites a row changed in the app).
- consultant_absences: days a consultant is away (ferie, sygdom, kursus, andet).
- calendar_entries: `source` (feed | caldav | manual), the event's `uid` and `all_day`.
- calendar_sources: one imported calendar per consultant (an .ics URL or a CalDAV calendar),
  its URL and password encrypted like CPR, and how the last import went.
- employers: `location_precision` of the company's default address.
- cases: the case's own workplace (address, coordinates, precision) and contact person (the
  sick employee's nearest manager); existing cases get their employer's values.
- meetings: `conflict_at` / `conflict_reason` (a confirmed meeting whose consultant can no
  longer attend: listed in "møder der skal flyttes") and `substitute_id` (the colleague the
  planner proposes in their place).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consultants") as batch:
        batch.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("location_precision", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=8), nullable=False,
                                   server_default="config"))
        batch.add_column(sa.Column("changed_in_app_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "consultant_absences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("consultant_id", sa.Integer, sa.ForeignKey("consultants.id"), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_absences_consultant", "consultant_absences",
                    ["municipality_id", "consultant_id", "first_day"])
    with op.batch_alter_table("calendar_entries") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False,
                                   server_default="manual"))
        batch.add_column(sa.Column("uid", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("all_day", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_calendar_entries_consultant", "calendar_entries",
                    ["consultant_id", "start"])
    op.create_table(
        "calendar_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("municipality_id", sa.String(length=32), nullable=False),
        sa.Column("consultant_id", sa.Integer, sa.ForeignKey("consultants.id"), nullable=False,
                  unique=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url_encrypted", sa.Text, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("password_encrypted", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("events", sa.Integer, nullable=False, server_default="0"),
    )
    with op.batch_alter_table("employers") as batch:
        batch.add_column(sa.Column("location_precision", sa.String(length=16), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("workplace_address", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("workplace_lat", sa.Float, nullable=True))
        batch.add_column(sa.Column("workplace_lon", sa.Float, nullable=True))
        batch.add_column(sa.Column("workplace_precision", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
    # Existing cases keep what their invitations used so far: the employer row's values.
    employers = sa.table("employers", sa.column("id"), sa.column("address"), sa.column("lat"),
                         sa.column("lon"), sa.column("contact_name"), sa.column("contact_email"),
                         sa.column("contact_phone"))
    cases = sa.table("cases", sa.column("employer_id"), sa.column("workplace_address"),
                     sa.column("workplace_lat"), sa.column("workplace_lon"),
                     sa.column("workplace_precision"), sa.column("contact_name"),
                     sa.column("contact_email"), sa.column("contact_phone"))

    def of_employer(column: str) -> sa.ScalarSelect:
        return (sa.select(employers.c[column]).where(employers.c.id == cases.c.employer_id)
                .scalar_subquery())

    op.execute(cases.update().where(cases.c.employer_id.is_not(None)).values(
        workplace_address=of_employer("address"), workplace_lat=of_employer("lat"),
        workplace_lon=of_employer("lon"), contact_name=of_employer("contact_name"),
        contact_email=of_employer("contact_email"), contact_phone=of_employer("contact_phone")))
    op.execute(cases.update().where(cases.c.workplace_lat.is_not(None))
               .values(workplace_precision="exact"))
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("conflict_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("conflict_reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("substitute_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("substitute_id")
        batch.drop_column("conflict_reason")
        batch.drop_column("conflict_at")
    with op.batch_alter_table("cases") as batch:
        for column in ("contact_phone", "contact_email", "contact_name", "workplace_precision",
                       "workplace_lon", "workplace_lat", "workplace_address"):
            batch.drop_column(column)
    with op.batch_alter_table("employers") as batch:
        batch.drop_column("location_precision")
    op.drop_table("calendar_sources")
    op.drop_index("ix_calendar_entries_consultant", table_name="calendar_entries")
    with op.batch_alter_table("calendar_entries") as batch:
        batch.drop_column("all_day")
        batch.drop_column("uid")
        batch.drop_column("source")
    op.drop_index("ix_absences_consultant", table_name="consultant_absences")
    op.drop_table("consultant_absences")
    with op.batch_alter_table("consultants") as batch:
        batch.drop_column("changed_in_app_at")
        batch.drop_column("source")
        batch.drop_column("location_precision")
        batch.drop_column("address")
