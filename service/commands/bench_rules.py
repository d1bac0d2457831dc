"""`fasthold bench rules`: decide generated cases through the CLI's path; decisions/s, memory."""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from collections import Counter
from datetime import date
from pathlib import Path

from rules.engine import RulesEngine
from rules.jsonl import evaluate_lines
from rules.samples import generate_cases

TARGET_PER_SECOND = 10_000
TARGET_PEAK_MB = 300


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> int:
    as_of = date(2026, 3, 2)
    engine = RulesEngine()
    # The input is generated before the clock starts: the figure is the evaluation path
    # (parse, validate, decide, serialise), as `fasthold rules evaluate` runs it on a file.
    lines = [json.dumps(case) for case in generate_cases(args.cases, args.seed, as_of)]
    statuses: Counter[str] = Counter()
    follow_ups: Counter[str] = Counter()
    errors = 0
    output_bytes = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    for result in evaluate_lines(engine, lines, as_of):
        output_bytes += len(result.to_jsonl())
        if result.ok:
            statuses[result.output["status"]] += 1
            follow_ups[str(result.output["follow_up"])] += 1
        else:
            errors += 1
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    per_second = args.cases / seconds
    peak = _peak_mb()
    report = {
        "benchmark": "rules",
        "cases": args.cases,
        "seed": args.seed,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "decisions_per_second": round(per_second),
        "peak_rss_mb": round(peak, 1),
        "input_errors": errors,
        "output_bytes": output_bytes,
        "statuses": dict(sorted(statuses.items())),
        "follow_ups": dict(sorted(follow_ups.items())),
        "targets": {"decisions_per_second": TARGET_PER_SECOND, "peak_rss_mb": TARGET_PEAK_MB,
                    "met": per_second >= TARGET_PER_SECOND and peak < TARGET_PEAK_MB},
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    rows = [
        ("cases", f"{args.cases:,}"),
        ("seconds", f"{seconds:.2f}"),
        ("decisions/s", f"{per_second:,.0f}  (target ≥ {TARGET_PER_SECOND:,})"),
        ("peak memory", f"{peak:.0f} MB  (target < {TARGET_PEAK_MB} MB)"),
        ("input errors", str(errors)),
        ("statuses", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        ("follow-ups", ", ".join(f"{k} {v}" for k, v in sorted(follow_ups.items()))),
    ]
    width = max(len(name) for name, _ in rows)
    print("fasthold bench rules (one core, the path of `fasthold rules evaluate`)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"  written to {out}")
    return 0
