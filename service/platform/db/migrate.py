"""Apply Alembic migrations (on start and by `fasthold db upgrade`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
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


def upgrade(url: str, revision: str = "head", cipher: DataCipher | None = None) -> None:
    """Bring the schema to `revision` (blocking; runs its own event loop). `cipher` is needed
    only when stored plain CPR numbers must be encrypted (migration 0004)."""
    cfg = alembic_config(url, cipher)
    command.upgrade(cfg, revision)
    if cfg.attributes.get("scrub"):
        asyncio.run(scrub(url))


async def upgrade_async(url: str, cipher: DataCipher | None = None) -> None:
    """Same as `upgrade`, from inside a running event loop (runs in a worker thread)."""
    await asyncio.to_thread(upgrade, url, "head", cipher)


async def scrub(url: str) -> None:
    """Rewrite the cases table after plain values were replaced by ciphertexts, so that the
    old digits survive nowhere the service writes: SQLite rebuilds the file (VACUUM) and
    empties its write-ahead log; PostgreSQL rewrites the table without its dead rows."""
    engine = create_async_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                await connection.exec_driver_sql("VACUUM")
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                await connection.exec_driver_sql("VACUUM FULL cases")
    finally:
        await engine.dispose()
