"""The migrations make the schema the models declare: Alembic's comparison of a database
migrated to head (SQLite and PostgreSQL) with `service.platform.db.models` finds nothing —
no table, column, index or type the one has and the other lacks (procrastinate's own tables
on PostgreSQL aside: its migration, not our models, declares them)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from service.platform.db.models import Base


def _differences(url: str) -> list[Any]:
    parsed = make_url(url)
    sync = parsed.set(drivername="sqlite" if parsed.drivername.startswith("sqlite")
                      else "postgresql+psycopg")
    engine = create_engine(sync)
    try:
        with engine.connect() as connection:
            found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    return [d for d in found if "procrastinate" not in repr(d)]


def test_the_migrated_schema_is_the_models(database_url: str) -> None:
    assert _differences(database_url) == []
