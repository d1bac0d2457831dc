"""`fasthold config check FILE|DIR...`: validate municipality configuration files; a
directory is checked as `serve --config-dir` reads it (every file, and what they must agree
on: distinct municipalities and hosts, one time zone, one job runner —
`service.wiring.deployment.load_deployment`, the same function `serve` uses)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.config import ConfigError, load_config
from service.wiring.deployment import load_deployment


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            if Path(path).is_dir():
                configs = load_deployment(path)
                for config in configs:
                    print(f"{path}: {config.municipality.id}: ok ({config.municipality.name}, "
                          f"{len(config.consultants)} consultants)")
                continue
            config = load_config(path)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        print(f"{path}: ok ({config.municipality.name}, {len(config.consultants)} consultants)")
    return status
