"""`fasthold config check FILE...`: validate municipality configuration files."""

from __future__ import annotations

import argparse
import sys

from service.config import ConfigError, load_config


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            config = load_config(path)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        print(f"{path}: ok ({config.municipality.name}, {len(config.consultants)} consultants)")
    return status
