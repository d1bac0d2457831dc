"""Helpers shared by subcommands: loading configuration with the contract's exit status."""

from __future__ import annotations

import sys

from service.config import ConfigError, MunicipalityConfig, config_path_from_env, load_config

EXIT_INVALID = 2


def load_config_or_exit(path: str | None) -> MunicipalityConfig:
    """Load the municipality configuration; on error print it and exit with status 2."""
    try:
        return load_config(config_path_from_env(path))
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None
