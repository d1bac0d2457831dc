"""Apply Alembic migrations (on start and by `fasthold db upgrade`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from service.platform.crypto import DataCipher
from service.platform.db.engine import normalise_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str, cipher: DataCipher | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    # For migrations that encrypt or decrypt personal data (0004: CPR numbers).
    cfg.attributes["data_cipher"] = cipher
    return cfg


def upgrade(url: str, revision: str = "head", cipher: DataCipher | None = None
            ) -> tuple[set[str], set[str]]:
    """Bring the schema to `revision` (blocking; runs its own event loop); the revisions
    before and after. `cipher` is needed only when stored plain CPR numbers must be
    encrypted (migration 0004). Raises SchemaAhead when a newer release migrated the database
    (a revision this one does not know: Alembic could only fail on it)."""
    cfg = alembic_config(url, cipher)
    before = asyncio.run(current_revisions(url))
    _refuse_ahead(before, ScriptDirectory.from_config(cfg))
    command.upgrade(cfg, revision)
    if cfg.attributes.get("scrub"):
        asyncio.run(scrub(url))
    return before, asyncio.run(current_revisions(url))


async def upgrade_async(url: str, cipher: DataCipher | None = None
                        ) -> tuple[set[str], set[str]]:
    """Same as `upgrade`, from inside a running event loop (runs in a worker thread)."""
    return await asyncio.to_thread(upgrade, url, "head", cipher)


class SchemaCheckFailed(Exception):
    """The schema version could not be checked (or is wrong, below)."""


class SchemaNotAtHead(SchemaCheckFailed):
    """The database's schema is not the code's: run `fasthold db upgrade` first."""


class SchemaAhead(SchemaNotAtHead):
    """The database was migrated by a newer release (a revision this one does not know):
    run the newer release; `fasthold db upgrade` of this one cannot help."""


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def current_revisions(url: str) -> set[str]:
    """The database's Alembic revisions (empty: never migrated). Raises SchemaCheckFailed
    when it cannot be read."""
    engine = create_async_engine(normalise_url(url), hide_parameters=True)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(_current))
    except (OSError, SQLAlchemyError) as exc:
        raise SchemaCheckFailed(f"cannot read the database's schema version: "
                                f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    finally:
        await engine.dispose()


async def check_not_ahead(url: str) -> set[str]:
    """The database's revisions, after checking that it can be read (SchemaCheckFailed) and
    that no newer release migrated it (SchemaAhead): what a process that migrates on start
    checks before it starts."""
    current = await current_revisions(url)
    _refuse_ahead(current, ScriptDirectory.from_config(alembic_config(url)))
    return current


def _refuse_ahead(current: set[str], script: ScriptDirectory) -> None:
    known = {r.revision for r in script.walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise SchemaAhead(
            f"the database schema is at {', '.join(unknown)}, newer than this release of "
            f"fasthold (which knows up to {', '.join(sorted(script.get_heads()))}): a newer "
            "release migrated it; run that release (this one cannot use or migrate it)")


async def check_at_head(url: str) -> None:
    """Raise SchemaNotAtHead unless the database is at the newest migration. With the job
    queue (PostgreSQL, several web processes and workers) only `fasthold db upgrade` migrates:
    processes starting at once must not race each other through the migrations, nor run code
    against a schema it was not written for."""
    script = ScriptDirectory.from_config(alembic_config(url))
    heads = set(script.get_heads())
    current = await current_revisions(url)
    _refuse_ahead(current, script)
    if current != heads:
        found = ", ".join(sorted(current)) or "empty"
        raise SchemaNotAtHead(
            f"the database schema is at {found}, not at {', '.join(sorted(heads))}: run "
            "`fasthold db upgrade` (with the same configuration and environment) first")


async def scrub(url: str) -> None:
    """Rewrite the cases table after plain values were replaced by ciphertexts, so that the
    old digits survive nowhere the service writes: SQLite rebuilds the file (VACUUM) and
    empties its write-ahead log; PostgreSQL rewrites the table without its dead rows."""
    engine = create_async_engine(normalise_url(url), isolation_level="AUTOCOMMIT",
                                 hide_parameters=True)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                await connection.exec_driver_sql("VACUUM")
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                await connection.exec_driver_sql("VACUUM FULL cases")
    finally:
        await engine.dispose()
