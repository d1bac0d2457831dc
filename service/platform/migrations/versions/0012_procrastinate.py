"""The PostgreSQL job queue's schema (issue 21): procrastinate's tables, types and functions,
on PostgreSQL only (SQLite keeps the in-process runner and gets nothing).

The SQL is the schema that ships with the installed procrastinate (its own schema API,
`SchemaManager.get_schema()`), run as one script by the driver — so `fasthold db upgrade` is
the only migration path, never `procrastinate schema --apply`. A later procrastinate whose
release notes add SQL migrations gets an Alembic migration of ours that runs those files.
The downgrade drops what the schema created.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.util import await_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _run_script(sql: str) -> None:
    """A multi-statement script with PL/pgSQL bodies: asyncpg's simple query protocol runs
    it whole (a prepared statement takes one statement only)."""
    driver = op.get_bind().connection.driver_connection
    await_only(driver.execute(sql))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run_script("""
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
            procrastinate_job_to_defer_v1 CASCADE;
    """)
