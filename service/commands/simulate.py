"""`fasthold simulate`: months of a municipality on a virtual clock, through the real use
cases; a monthly table beside the milestones, months.csv, summary.json and a chart."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import os
import secrets as random_secrets
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path

import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.commands._common import EXIT_INVALID, load_config_or_exit
from service.config import MunicipalityConfig
from service.kpis.figures import MAX_MONTHS
from service.platform.db.engine import PROJECT_ROOT
from service.platform.logs import configure_logging
from service.simulation.chart import chart_svg
from service.simulation.report import (
    ARRIVING,
    HEADERS,
    OUTCOME_HEADERS,
    back_at_work_line,
    compare_table,
    outcome_rows,
    render_table,
    table_rows,
    totals,
    write_outputs,
)
from service.simulation.run import DatabaseNotEmpty, RunOptions, SimulationResult, run_scenario
from service.simulation.staffing import StaffingError, StaffingPlan, month_of, months_after


def _plan(config: MunicipalityConfig, path: str | None, start: date, months: int
          ) -> StaffingPlan:
    if path is None:
        return StaffingPlan.from_config(config.simulation, len(config.consultants), start,
                                        months)
    return StaffingPlan.from_csv(Path(path), len(config.consultants))


def _progress_run(config: MunicipalityConfig, options: RunOptions, label: str
                  ) -> SimulationResult:
    console = Console(stderr=True)
    days = (months_after(options.start, options.months) - options.start).days
    with Progress(TextColumn(f"[bold]{label}[/bold] {{task.description}}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("days"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal
                  ) as progress:
        task = progress.add_task(f"{options.start:%Y-%m}", total=days)

        def on_day(moment: datetime) -> None:
            progress.update(task, completed=(moment.date() - options.start).days,
                            description=f"{moment:%Y-%m-%d}")

        # uvloop, as `serve` runs: the database driver's thread hands results over faster.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(run_scenario(config, options, random_secrets.token_urlsafe(48),
                                           on_day))


def _in_process(config: MunicipalityConfig, options: RunOptions) -> SimulationResult:
    """One scenario in a worker process (no progress bar: two would fight over the
    terminal)."""
    configure_logging(logging.WARNING)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_scenario(config, options, random_secrets.token_urlsafe(48)))


def run_in_processes(config: MunicipalityConfig, scenarios: list[RunOptions]
                     ) -> list[SimulationResult]:
    """Each scenario in a process of its own, at the same time; results in their order."""
    # spawn: a fresh interpreter, not a fork of one holding an event loop and its threads.
    with ProcessPoolExecutor(max_workers=len(scenarios),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_in_process, config, options) for options in scenarios]
        return [future.result() for future in futures]


def _describe(config: MunicipalityConfig, result: SimulationResult) -> str:
    i = result.inputs
    sim = config.simulation
    holiday = (f"; summer holiday: {sim.consultant_vacation_weeks} weeks a consultant within "
               f"ISO weeks {sim.vacation_iso_weeks[0]}-{sim.vacation_iso_weeks[1]}, "
               f"registered {sim.vacation_notice_weeks} weeks ahead"
               if sim.consultant_vacation_weeks else "")
    return (f"{config.municipality.name}: {i['months']} months from {i['start']}, seed "
            f"{i['seed']}; planner {i['solver']} with {i['time_limit_seconds_per_planning_run']} s "
            f"per planning run in the simulation (the service: "
            f"{i['service_time_limit_seconds']} s), planning at "
            f"{' and '.join(i['planning_times'])} each working day; staffing: "
            f"{i['staffing']}{holiday}; database: {i['database']}.")


def _performance(result: SimulationResult) -> str:
    jobs = ", ".join(f"{job} {result.job_runs.get(job, 0)} runs {seconds:.0f} s"
                     for job, seconds in result.job_seconds.items())
    # the largest use cases besides the office's ticks (whose time is the jobs')
    largest = ", ".join(f"{name} {use['calls']:.0f} calls {use['seconds']:.0f} s"
                        for name, use in list((n, u) for n, u in result.use_cases.items()
                                              if n != "World.tick")[:3])
    return (f"{result.wall_seconds:.0f} s in all, of which {result.use_case_seconds:.0f} s in "
            f"{result.use_case_calls} use case calls; jobs: {jobs}; the solver "
            f"{result.planning_seconds:.0f} s of planning"
            + (f"; the largest use cases: {largest}" if largest else ""))


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _print_result(config: MunicipalityConfig, result: SimulationResult, out: Path) -> None:
    print(_describe(config, result))
    print()
    print(render_table(HEADERS, table_rows(result)))
    t = totals(result)
    print()
    print(f"All months: {t['target_cases']} target cases, {t['first_meetings']} first meetings "
          f"({_share(t['workplace_share'])} at the workplace, {_share(t['before_week8_share'])} "
          f"before the end of week 8, {t['late_over_3_weeks']} late by more than 3 weeks), "
          f"intervention before week 13 {_share(t['intervention_share'])}; the model's "
          f"population (the excluded cases too, the figures the milestones are set for): "
          f"{_share(t['model_workplace_share'])} of {t['model_first_meetings']} first meetings "
          f"at the workplace, intervention before week 13 "
          f"{_share(t['model_intervention_share'])}.")
    print(f"Target cases count by the month of the first absence day: cases reach the "
          f"consultants up to absence week 7, so the months marked{ARRIVING} are still "
          f"arriving, and {result.earlier_target_cases} target cases that began before "
          f"{result.inputs['start']} are met in the first months. Shares: of the month's "
          "first meetings (week 13: of the cases whose week 13 ended in the month); \"model:\" "
          "the model's population, the headline the milestones are set for.")
    print()
    print("Duration by the place of the first meeting (the months' target cases closed with a "
          "held first meeting; days from the first absence day to the end, both counted):")
    print(render_table(OUTCOME_HEADERS, outcome_rows(result)))
    print(back_at_work_line(result))
    print("Events: " + ", ".join(f"{k} {v}" for k, v in result.counters.items()))
    print(f"Time: {_performance(result)}.")
    paths = write_outputs(result, out, chart_svg(
        result, f"{config.municipality.name}: simulering, seed {result.inputs['seed']}"))
    print(f"Wrote {paths['csv']}, {paths['summary']}, {paths['chart']}")


def run(args: argparse.Namespace) -> int:
    configure_logging(logging.WARNING)
    # Months of ORM objects: collect young garbage less often, never rescan what the imports
    # made (a few per cent of the run).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    config = load_config_or_exit(args.config)
    sim = config.simulation
    try:
        start = month_of(args.start or sim.start)
    except ValueError as exc:
        print(f"fasthold simulate: --start: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.months > MAX_MONTHS:
        print(f"fasthold simulate: --months: at most {MAX_MONTHS}", file=sys.stderr)
        return EXIT_INVALID
    database_url = os.environ.get("FASTHOLD_DATABASE_URL") or None
    compare = args.compare is not None or args.compare_solvers
    if compare and database_url:
        print("fasthold simulate: a comparison runs twice and needs throwaway databases: "
              "unset FASTHOLD_DATABASE_URL", file=sys.stderr)
        return EXIT_INVALID
    out = Path(args.out) if args.out else PROJECT_ROOT / "var" / "simulation" / \
        config.municipality.id
    try:  # a folder the files cannot go to is said now, not after the months are simulated
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError("not writable")
    except OSError as exc:
        print(f"fasthold simulate: --out: cannot write to {out}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        plans = [_plan(config, p, start, args.months) for p in
                 (args.compare or [args.consultants_plan])]
    except StaffingError as exc:
        print(f"fasthold simulate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    solvers = ["greedy", "cpsat"] if args.compare_solvers else [args.solver or sim.solver]
    runs = [(plan, solver) for plan in plans for solver in solvers]
    named: list[tuple[str, RunOptions]] = []
    for index, (plan, solver) in enumerate(runs):
        name = solver if args.compare_solvers else (
            Path(args.compare[index]).stem if args.compare else "")
        named.append((name, RunOptions(
            seed=args.seed, start=start, months=args.months, solver=solver,
            time_limit=args.time_limit or sim.time_limit_seconds, plan=plan,
            database_url=database_url, data_key=os.environ.get("FASTHOLD_DATA_KEY") or None)))
    if len(named) == 1:
        try:
            outcomes = [_progress_run(config, named[0][1], named[0][0] or "simulating")]
        except DatabaseNotEmpty as exc:
            print(f"fasthold simulate: {exc}", file=sys.stderr)
            return EXIT_INVALID
    else:
        # A comparison: each scenario on its own throwaway database in a process of its own.
        print(f"Simulating {' and '.join(n for n, _ in named)} side by side "
              f"({len(named)} processes)…", file=sys.stderr, flush=True)
        outcomes = run_in_processes(config, [options for _, options in named])
    results: list[tuple[str, SimulationResult]] = []
    for (name, _), result in zip(named, outcomes, strict=True):
        results.append((name, result))
        if name:
            print(f"== {name} ==")
        _print_result(config, result, out / name if name else out)
        print()
    if len(results) == 2:
        (name_a, a), (name_b, b) = results
        print(f"Side by side: A = {name_a}, B = {name_b}")
        print(compare_table(a, b))
    return 0
