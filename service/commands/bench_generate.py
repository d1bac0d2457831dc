"""`fasthold bench generate`: write a realistic planning instance (Herning area) as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from optimizer.generator import generate_instance
from service.commands._common import EXIT_INVALID


def run(args: argparse.Namespace) -> int:
    """Generate an instance deterministically from --seed and write it to --out (or stdout)."""

    as_of = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            print(f"fasthold bench generate: --as-of: not a date {args.as_of!r}",
                  file=sys.stderr)
            return EXIT_INVALID
    data = generate_instance(args.cases, args.consultants, seed=args.seed, tight=args.tight,
                             as_of=as_of, talk_share=args.talk_share)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0
