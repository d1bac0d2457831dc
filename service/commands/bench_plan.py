"""`fasthold bench plan`: generated instances S-XL, greedy vs CP-SAT, validated, with memory.

What the private talks cost (issue 19): `--talk-share` (default 0.2) of the workplace cases
ask for the private talk first (rule 10); each instance is also solved by CP-SAT with the
same cases without the wish (`private_talk_first` off everywhere, nothing else changed), and
the table and the JSON give both on-time counts and the difference ("talk cost": on-time
meetings the talks cost). A share of 0 skips the second solve.
"""

from __future__ import annotations

import argparse
import copy
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
           "gap %", "late", "missing", "talks", "on-time w/o talks", "talk cost",
           "travel min", "solve s", "peak MB"]
DEFAULT_TALK_SHARE = 0.2


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def without_talks(data: dict[str, Any]) -> dict[str, Any]:
    """The same instance with no citizen asking for the private talk first."""
    out = copy.deepcopy(data)
    for case in out["cases"]:
        case["private_talk_first"] = False
        case.pop("private_talk", None)
    return out


def bench_size(name: str, seed: int, talk_share: float = DEFAULT_TALK_SHARE
               ) -> dict[str, Any]:
    """Generate, solve with both solvers, validate both; one result row. `talk_share` of the
    workplace cases ask for the private talk first (rule 10); with a share, the same
    instance without the wishes is solved too (CP-SAT, same limit and seed) for the talks'
    cost in on-time meetings."""

    cases, consultants, tight, limit = SIZES[name]
    data = generate_instance(cases, consultants, seed=seed, tight=tight,
                             talk_share=talk_share)
    instance = optimizer.parse_instance(data)
    greedy = optimizer.solve(instance, solver="greedy", seed=seed)
    started = time.perf_counter()
    plan = optimizer.solve(instance, solver="cpsat", time_limit=limit, seed=seed)
    seconds = time.perf_counter() - started
    metrics = plan.metrics
    bound = metrics["upper_bound_on_time"]
    on_time = metrics["meetings_on_time"]
    gap = round(100 * (bound - on_time) / bound, 2) if bound else None
    wishes = sum(1 for case in instance.cases if case.private_talk_first)
    plain_on_time: int | None = None
    plain_problems: list[str] = []
    if wishes:
        plain = optimizer.parse_instance(without_talks(data))
        plain_plan = optimizer.solve(plain, solver="cpsat", time_limit=limit, seed=seed)
        plain_on_time = plain_plan.metrics["meetings_on_time"]
        plain_problems = optimizer.validate(plain, plain_plan)[:20]
    return {
        "size": name, "cases": cases, "consultants": consultants,
        "on_time_cpsat": on_time, "on_time_greedy": greedy.metrics["meetings_on_time"],
        "upper_bound": bound, "gap_percent": gap, "late": metrics["meetings_late"],
        "missing": metrics["meetings_missing"], "private_talks": metrics["private_talks"],
        "talk_wishes": wishes, "on_time_without_talks": plain_on_time,
        # on-time meetings the talks cost (negative: CP-SAT did better with them, by chance)
        "talk_cost": None if plain_on_time is None else plain_on_time - on_time,
        "travel_minutes": metrics["travel_minutes"],
        "solve_seconds": round(seconds, 2), "time_limit": limit, "status": metrics["status"],
        "peak_mb": round(_peak_mb(), 1),
        "problems_cpsat": optimizer.validate(instance, plan)[:20],
        "problems_greedy": optimizer.validate(instance, greedy)[:20],
        "problems_without_talks": plain_problems,
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
    share = getattr(args, "talk_share", DEFAULT_TALK_SHARE)
    for name in names:
        row = bench_size(name, args.seed, share)
        rows.append(row)
        cells = [row["size"], row["cases"], row["consultants"], row["on_time_cpsat"],
                 row["on_time_greedy"], row["upper_bound"], row["gap_percent"], row["late"],
                 row["missing"], row["private_talks"],
                 _cell(row["on_time_without_talks"]), _cell(row["talk_cost"]),
                 row["travel_minutes"],
                 row["solve_seconds"], row["peak_mb"]]
        print(" | ".join(str(c) for c in cells), flush=True)
        for label in ("cpsat", "greedy", "without_talks"):
            for problem in row[f"problems_{label}"]:
                print(f"  {label} INVALID: {problem}")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if share:
        lost = sum(r["talk_cost"] or 0 for r in rows)
        talks = sum(r["private_talks"] for r in rows)
        print(f"private talks ({share:.0%} of workplace cases ask): {talks} talks cost "
              f"{lost} on-time meetings in all")
    out.write_text(json.dumps({"seed": args.seed, "talk_share": share,
                               "sizes": rows}, indent=2) + "\n",
                   encoding="utf-8")
    invalid = any(r["problems_cpsat"] or r["problems_greedy"] or r["problems_without_talks"]
                  for r in rows)
    return 1 if invalid else 0


def _cell(value: int | None) -> str:
    return "–" if value is None else str(value)
