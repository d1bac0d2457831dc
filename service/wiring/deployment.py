"""What the municipalities of one deployment (`--config-dir`) must agree on, checked in one
place for every command that reads such a directory: `serve --config-dir`, `worker
--config-dir`, the per-municipality commands and `config check DIR` (which so passes exactly
the directories `serve` accepts). `service.config.load_config_dir` checks each file and what
they must not share (municipality, host) or must share (time zone); this adds what the shared
process needs: one job runner."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from service.config import ConfigError, MunicipalityConfig, load_config_dir


def check_deployment(configs: Sequence[MunicipalityConfig],
                     names: Sequence[str] | None = None) -> None:
    """Raise ConfigError unless `configs` can run as one deployment. `names`: each
    configuration's file, for the message."""
    if not configs:
        raise ConfigError("no municipality")
    shown = list(names) if names is not None else [c.municipality.id for c in configs]
    first = configs[0].jobs.runner
    for config, name in zip(configs, shown, strict=True):
        if config.jobs.runner != first:
            raise ConfigError(
                f"{name}: jobs.runner: all municipalities of one deployment use one runner "
                f"({shown[0]} has {first!r}, this one {config.jobs.runner!r})")


def load_deployment(path: str | os.PathLike[str]) -> list[MunicipalityConfig]:
    """A deployment's directory, read and checked as `serve --config-dir` runs it."""
    configs = load_config_dir(path)
    check_deployment(configs, [str(f) for f in sorted(Path(path).glob("*.toml"))])
    return configs
