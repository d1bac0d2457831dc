"""`fasthold db upgrade`: apply the Alembic migrations."""

from __future__ import annotations

import argparse
import sys

from service.commands._common import load_config_or_exit
from service.config import ConfigError, Secrets
from service.platform.crypto import DataCipher
from service.platform.db.engine import default_sqlite_url
from service.platform.db.migrate import upgrade as alembic_upgrade


def upgrade(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args.config)
    try:
        secrets = Secrets.from_env(default_sqlite_url(config.municipality.id))
        # Migrations may encrypt stored CPR numbers: the data key is required (exit 2).
        cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
        before, after = alembic_upgrade(secrets.database_url, cipher=cipher)
    except (ConfigError, ValueError) as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    # (A database unreachable, or migrated by a newer release: one line from the CLI.)
    now = ", ".join(sorted(after)) or "empty"
    if before == after:
        print(f"database schema is up to date (at {now})")
    else:
        print(f"upgraded {', '.join(sorted(before)) or 'an empty database'} → {now}")
    return 0
