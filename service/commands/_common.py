"""Helpers shared by subcommands: loading configuration with the contract's exit status."""

from __future__ import annotations

import argparse
import os
import sys

from service.config import (
    ConfigError,
    MunicipalityConfig,
    config_path_from_env,
    load_config,
)
from service.platform.db.engine import default_sqlite_url
from service.wiring.deployment import load_deployment

EXIT_INVALID = 2
# The embedded default database of a deployment of many municipalities (`--config-dir`
# without FASTHOLD_DATABASE_URL): var/fasthold-shared.db.
SHARED_DATABASE = "shared"


def load_config_or_exit(path: str | None) -> MunicipalityConfig:
    """Load the municipality configuration; on error print it and exit with status 2."""
    try:
        return load_config(config_path_from_env(path))
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def config_dir_of(args: argparse.Namespace) -> str | None:
    """The directory of a deployment of many municipalities, or None for one: `--config`
    wins, then `--config-dir`, then $FASTHOLD_CONFIG, then $FASTHOLD_CONFIG_DIR. Both options
    at once are a usage error (exit 2): one of them would be ignored without a word."""
    explicit = getattr(args, "config_dir", None)
    if getattr(args, "config", None) and explicit:
        print("fasthold: --config and --config-dir: give one of them (one municipality, or "
              "a directory of many)", file=sys.stderr)
        raise SystemExit(EXIT_INVALID)
    if getattr(args, "config", None):
        return None
    if explicit:
        return str(explicit)
    if os.environ.get("FASTHOLD_CONFIG"):
        return None
    return os.environ.get("FASTHOLD_CONFIG_DIR") or None


def load_configs_or_exit(directory: str) -> list[MunicipalityConfig]:
    """A deployment's directory as `serve --config-dir` runs it (`load_deployment`: each file
    and what they must agree on); on error print it and exit with status 2."""
    try:
        return load_deployment(directory)
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def municipality_or_exit(args: argparse.Namespace) -> tuple[MunicipalityConfig, str]:
    """One municipality's configuration and the default database URL: `--config FILE` as
    ever, or `--config-dir DIR --municipality ID` (the deployment's shared database)."""
    directory = config_dir_of(args)
    if directory is None:
        config = load_config_or_exit(getattr(args, "config", None))
        return config, default_sqlite_url(config.municipality.id)
    configs = load_configs_or_exit(directory)
    wanted = getattr(args, "municipality", None)
    ids = [c.municipality.id for c in configs]
    found = [c for c in configs if c.municipality.id == wanted] if wanted else (
        configs if len(configs) == 1 else [])
    if not found:
        print(f"fasthold: --municipality: {'no ' + repr(wanted) if wanted else 'required'} "
              f"in {directory} (one of {', '.join(ids)})", file=sys.stderr)
        raise SystemExit(EXIT_INVALID)
    return found[0], default_sqlite_url(SHARED_DATABASE)
