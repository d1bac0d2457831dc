"""`fasthold bench morning`: the national morning planning run on generated data.

98 municipalities (a synthetic list sized like Denmark's: from Copenhagen's ~1,500 target
cases a month down to a few dozen, about 14,000 in all), each municipality's month of open
cases generated (`optimizer.generator`), split as the planner splits it
(`service.planning.partition`: by team where a large municipality has teams, then a second
round across teams for what the parts left) and solved in N solver processes, each part with
the time budget. Every part's plan and every municipality's joined plan is checked by the
validator. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import math
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optimizer
from optimizer.generator import generate_instance
from service.planning.partition import solve_partitioned
from service.planning.solver import SolveRequest, SolveResult, solve_instance

LARGEST_CASES = 1500  # a month of new target cases in the largest municipality
SMALLEST_CASES = 30
ZIPF = 0.75  # municipality sizes fall off like rank^-0.75 (sum for 98: ~14,000 a month)
CASES_PER_CONSULTANT = 18
COLUMNS = ["municipalities", "partitions", "cases", "processes", "budget s", "makespan s",
           "p95 part s", "max part s", "on-time %", "unassigned", "2nd round", "invalid"]


def municipality_sizes(count: int, largest: int = LARGEST_CASES) -> list[int]:
    """Target cases a month per municipality, largest first (synthetic, Danish-like)."""
    return [max(SMALLEST_CASES, round(largest / (rank + 1) ** ZIPF)) for rank in range(count)]


def municipality_instance(index: int, cases: int, seed: int, team_size: int
                          ) -> dict[str, Any]:
    """A month of open cases for one municipality; consultants in teams of `team_size` when
    there are at least two teams' worth."""
    consultants = max(2, math.ceil(cases / CASES_PER_CONSULTANT))
    instance = generate_instance(cases, consultants, seed=seed * 1000 + index)
    teams = consultants // team_size if consultants >= 2 * team_size else 1
    for k, consultant in enumerate(instance["consultants"]):
        consultant["team"] = f"team{k % teams + 1}" if teams > 1 else None
    return instance


@dataclass
class Part:
    municipality: str
    cases: int
    consultants: int
    seconds: float
    status: str
    solver: str
    problems: list[str]
    second_round: bool


def solve_and_check(request: SolveRequest) -> tuple[SolveResult, float, list[str]]:
    """In a solver process: solve one part (as the planner's solver does) and validate it."""
    started = time.perf_counter()
    result = solve_instance(request)
    seconds = time.perf_counter() - started
    problems = optimizer.validate(optimizer.parse_instance(request.instance), result.plan)
    return result, seconds, problems[:20]


def check_plan(instance: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    return optimizer.validate(optimizer.parse_instance(instance), plan)[:20]


@dataclass
class PoolSolver:
    """The planner's `Solver` over the bench's process pool, noting every part it solves."""

    pool: concurrent.futures.ProcessPoolExecutor
    municipality: str
    whole_cases: int
    parts: list[Part] = field(default_factory=list)

    async def solve(self, request: SolveRequest) -> SolveResult:
        loop = asyncio.get_running_loop()
        result, seconds, problems = await loop.run_in_executor(self.pool, solve_and_check,
                                                               request)
        cases = request.instance["cases"]
        second = len(cases) == self.whole_cases and len(self.parts) > 0
        self.parts.append(Part(self.municipality, len(cases),
                               len(request.instance["consultants"]), round(seconds, 3),
                               result.status, result.solver, problems, second))
        return result

    def close(self) -> None:
        return None


async def morning(count: int, processes: int, time_limit: float, partition_cases: int,
                  team_size: int, seed: int, largest: int) -> dict[str, Any]:
    sizes = municipality_sizes(count, largest)
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=processes, mp_context=multiprocessing.get_context("forkserver"))
    loop = asyncio.get_running_loop()
    try:
        instances = [municipality_instance(i, cases, seed, team_size)
                     for i, cases in enumerate(sizes)]
        solvers = [PoolSolver(pool, f"m{i + 1:02d}", len(inst["cases"]))
                   for i, inst in enumerate(instances)]

        async def plan(i: int) -> dict[str, Any]:
            started = time.perf_counter()
            result = await solve_partitioned(
                solvers[i], SolveRequest(instances[i], time_limit, seed=seed), partition_cases)
            problems = await loop.run_in_executor(pool, check_plan, instances[i], result.plan)
            metrics = result.metrics
            return {"municipality": solvers[i].municipality, "cases": sizes[i],
                    "consultants": len(instances[i]["consultants"]),
                    "teams": len({c["team"] for c in instances[i]["consultants"]}),
                    "partitions": int(metrics.get("partitions", 1)),
                    "second_round_cases": int(metrics.get("second_round_cases", 0)),
                    "done_at_s": round(time.perf_counter() - started, 3),
                    "status": result.status, "meetings_needed": metrics["meetings_needed"],
                    "meetings_on_time": metrics["meetings_on_time"],
                    "unassigned": len(result.plan["unassigned"]), "problems": problems}

        started = time.perf_counter()
        # Largest first: the longest parts start at once, the small ones fill in after.
        rows = await asyncio.gather(*(plan(i) for i in range(count)))
        makespan = time.perf_counter() - started
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    parts = [p for s in solvers for p in s.parts]
    seconds = sorted(p.seconds for p in parts)
    needed = sum(r["meetings_needed"] for r in rows)
    on_time = sum(r["meetings_on_time"] for r in rows)
    invalid = sum(1 for p in parts if p.problems) + sum(1 for r in rows if r["problems"])
    return {
        "municipalities": count, "processes": processes, "time_limit": time_limit,
        "partition_cases": partition_cases, "team_size": team_size, "seed": seed,
        "cases": sum(sizes), "partitions": len(parts),
        "second_round_cases": sum(r["second_round_cases"] for r in rows),
        "makespan_s": round(makespan, 2),
        "p95_partition_s": round(seconds[min(len(seconds) - 1,
                                             math.ceil(0.95 * len(seconds)) - 1)], 2),
        "max_partition_s": round(seconds[-1], 2),
        "meetings_needed": needed, "meetings_on_time": on_time,
        "on_time_share": round(on_time / needed, 4) if needed else 1.0,
        "unassigned": sum(r["unassigned"] for r in rows), "invalid": invalid,
        "cpu_count": os.cpu_count(),
        "municipality_rows": rows,
        "partition_rows": [p.__dict__ for p in parts],
    }


def run(args: argparse.Namespace) -> int:
    processes = args.processes or os.cpu_count() or 1
    result = asyncio.run(morning(args.municipalities, processes, args.time_limit,
                                 args.partition_cases, args.team_size, args.seed,
                                 args.largest))
    print(" | ".join(COLUMNS))
    cells = [result["municipalities"], result["partitions"], result["cases"],
             result["processes"], result["time_limit"], result["makespan_s"],
             result["p95_partition_s"], result["max_partition_s"],
             round(100 * result["on_time_share"], 1), result["unassigned"],
             result["second_round_cases"], result["invalid"]]
    print(" | ".join(str(c) for c in cells), flush=True)
    for row in result["municipality_rows"]:
        for problem in row["problems"]:
            print(f"  {row['municipality']} INVALID: {problem}", file=sys.stderr)
    for part in result["partition_rows"]:
        for problem in part["problems"]:
            print(f"  {part['municipality']} part INVALID: {problem}", file=sys.stderr)
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["invalid"] else 0
