"""`fasthold rules evaluate [--config FILE] [--as-of DATE] [FILE|-]` (shared/spec/rules.md)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from rules.engine import RulesEngine
from rules.jsonl import evaluate_lines
from rules.thresholds import Thresholds
from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, load_config_or_exit


def _parse_as_of(text: str | None) -> date:
    if text is None:
        return SystemClock().today()  # the contract: today in Europe/Copenhagen
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        print(f'fasthold rules evaluate: --as-of: must be a date YYYY-MM-DD, got "{text}"',
              file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def _thresholds(config_path: str | None) -> Thresholds:
    """The contract's defaults, unless a configuration is named (option or FASTHOLD_CONFIG)."""
    if config_path is None and not os.environ.get("FASTHOLD_CONFIG"):
        return Thresholds()
    return load_config_or_exit(config_path).rules.thresholds()


def run(args: argparse.Namespace) -> int:
    as_of = _parse_as_of(args.as_of)
    engine = RulesEngine(_thresholds(args.config))
    if args.file == "-":
        source = sys.stdin.buffer
    else:
        try:
            source = open(args.file, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            print(f"fasthold rules evaluate: {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_INVALID
    status = 0
    # UTF-8 bytes whatever the locale: error messages may hold non-ASCII (e.g. "≥").
    out = sys.stdout.buffer
    try:
        for result in evaluate_lines(engine, source, as_of):
            out.write(result.to_jsonl())
            if not result.ok:
                status = EXIT_INVALID
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        out.flush()
    return status
