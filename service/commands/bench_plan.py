"""`fasthold bench plan`: generated instances S-XL, greedy vs CP-SAT, validated, with memory."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import optimizer
from optimizer.generator import generate_instance
from service.commands._common import EXIT_INVALID

# name: (cases, consultants, tight, CP-SAT time limit in seconds)
SIZES: dict[str, tuple[int, int, bool, float]] = {
    "S": (123, 5, True, 5.0),  # Herning's first-phase month, capacity-tight
    "M": (300, 23, False, 5.0),
    "L": (1000, 60, False, 20.0),
    "XL": (3000, 150, False, 60.0),  # 6 teams of 25
}
COLUMNS = ["size", "cases", "consultants", "on-time cpsat", "on-time greedy", "upper bound",
           "gap %", "late", "missing", "talks", "travel min", "solve s", "peak MB"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_size(name: str, seed: int, talk_share: float = 0.0) -> dict[str, Any]:
    """Generate, solve with both solvers, validate both; one result row. `talk_share` of the
    workplace cases ask for the private talk first (rule 10)."""

    cases, consultants, tight, limit = SIZES[name]
    instance = optimizer.parse_instance(generate_instance(cases, consultants, seed=seed,
                                                          tight=tight, talk_share=talk_share))
    greedy = optimizer.solve(instance, solver="greedy", seed=seed)
    started = time.perf_counter()
    plan = optimizer.solve(instance, solver="cpsat", time_limit=limit, seed=seed)
    seconds = time.perf_counter() - started
    metrics = plan.metrics
    bound = metrics["upper_bound_on_time"]
    on_time = metrics["meetings_on_time"]
    gap = round(100 * (bound - on_time) / bound, 2) if bound else None
    return {
        "size": name, "cases": cases, "consultants": consultants,
        "on_time_cpsat": on_time, "on_time_greedy": greedy.metrics["meetings_on_time"],
        "upper_bound": bound, "gap_percent": gap, "late": metrics["meetings_late"],
        "missing": metrics["meetings_missing"], "private_talks": metrics["private_talks"],
        "travel_minutes": metrics["travel_minutes"],
        "solve_seconds": round(seconds, 2), "time_limit": limit, "status": metrics["status"],
        "peak_mb": round(_peak_mb(), 1),
        "problems_cpsat": optimizer.validate(instance, plan)[:20],
        "problems_greedy": optimizer.validate(instance, greedy)[:20],
    }


def run(args: argparse.Namespace) -> int:
    """Run the sizes in --sizes, print a table and write JSON to --json."""
    names = [s.strip().upper() for s in (getattr(args, "sizes", None) or "S,M,L,XL").split(",")
             if s.strip()]
    unknown = [s for s in names if s not in SIZES]
    if unknown:
        print(f"fasthold bench plan: unknown size {unknown[0]!r} (S, M, L, XL)",
              file=sys.stderr)
        return EXIT_INVALID
    print(" | ".join(COLUMNS))
    rows = []
    for name in names:
        row = bench_size(name, args.seed, getattr(args, "talk_share", 0.0))
        rows.append(row)
        cells = [row["size"], row["cases"], row["consultants"], row["on_time_cpsat"],
                 row["on_time_greedy"], row["upper_bound"], row["gap_percent"], row["late"],
                 row["missing"], row["private_talks"], row["travel_minutes"],
                 row["solve_seconds"], row["peak_mb"]]
        print(" | ".join(str(c) for c in cells), flush=True)
        for label in ("cpsat", "greedy"):
            for problem in row[f"problems_{label}"]:
                print(f"  {label} INVALID: {problem}")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seed": args.seed, "talk_share": getattr(args, "talk_share", 0.0),
                               "sizes": rows}, indent=2) + "\n",
                   encoding="utf-8")
    invalid = any(r["problems_cpsat"] or r["problems_greedy"] for r in rows)
    return 1 if invalid else 0
