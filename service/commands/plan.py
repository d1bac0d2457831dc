"""`fasthold plan [--solver cpsat|greedy] [--time-limit S] [--seed N] INSTANCE.json`."""

from __future__ import annotations

import argparse
import json
import sys

import optimizer
from service.commands._common import EXIT_INVALID


def run(args: argparse.Namespace) -> int:
    """Print one plan (JSON) for the instance; exit 2 with a message if it is invalid."""

    try:
        if args.instance == "-":
            text = sys.stdin.read()
        else:
            with open(args.instance, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        print(f"fasthold plan: cannot read {args.instance}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"fasthold plan: not valid JSON: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        instance = optimizer.parse_instance(data)
    except optimizer.InstanceError as exc:
        print(f"fasthold plan: {exc}", file=sys.stderr)
        return EXIT_INVALID
    plan = optimizer.solve(instance, solver=args.solver, time_limit=args.time_limit,
                           seed=args.seed)
    json.dump(plan.to_json(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
