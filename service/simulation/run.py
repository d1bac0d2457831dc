"""Run a simulation: the world's use cases on a throwaway (or given) database, driven through
virtual months by SimPy processes; the monthly figures come from the KPI service, read from
that database exactly as the dashboard reads them."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
import time as wallclock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.kpis.figures import MonthKpis
from service.platform.crypto import DataCipher, new_data_key
from service.platform.processes import process_alive
from service.simulation.arrivals import Inflow, arrivals
from service.simulation.bridge import Bridge
from service.simulation.context import SimContext
from service.simulation.office import office
from service.simulation.population import employers
from service.simulation.solver import SimulationSolver
from service.simulation.staffing import StaffingPlan, months_after
from service.simulation.world import World


@dataclass
class MonthRow:
    """One month of the table: the KPI service's figures and the staffing that month."""

    kpis: MonthKpis
    consultants: int
    mean_load: float | None


@dataclass
class SimulationResult:
    months: list[MonthRow]
    counters: dict[str, int]
    planning_runs: int
    planning_seconds: float
    wall_seconds: float
    earlier_target_cases: int
    use_case_calls: int
    use_case_seconds: float = 0.0
    # per use case, the most time first: {name: {"calls": n, "seconds": s}}
    use_cases: dict[str, dict[str, float]] = field(default_factory=dict)
    job_seconds: dict[str, float] = field(default_factory=dict)
    job_runs: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    process_id: int = 0  # the process that ran it (a comparison runs each in its own)
    # The dashboard's outcome figures (service.kpis.outcomes) of the months' cohorts: the
    # duration by the place of the first meeting, back at work by week 13 and 26.
    outcomes: dict[str, Any] = field(default_factory=dict)


async def drive(world: World, seed: int, first: date, until: datetime, plan: StaffingPlan,
                prefix: str = "sim", on_day: Callable[[datetime], None] | None = None
                ) -> SimContext:
    """Run the world from `first` (midnight) to `until`: cases arrive, jobs run, employers
    and consultants act. Returns the context (what happened, in counters)."""
    clock = world.clock
    origin = datetime.combine(first, time())
    clock.set(origin)
    bridge = Bridge(clock, origin)
    sim = world.config.simulation
    # The last day simulated is the day before `until`, or its day if it has begun.
    end = until.date() if until.time() == time() else until.date() + timedelta(days=1)
    ctx = SimContext(bridge=bridge, world=world, sim=sim, seed=seed, start=first, end=end)
    population = employers(world.config, sim.employers, random.Random(f"{seed}:employers"))
    bridge.env.process(office(ctx, plan))
    bridge.env.process(arrivals(ctx, Inflow(ctx, population, prefix)))
    await bridge.run(until, on_day)
    return ctx


async def simulate(config: MunicipalityConfig, world: World, *, seed: int, start: date,
                   months: int, plan: StaffingPlan,
                   on_day: Callable[[datetime], None] | None = None) -> SimulationResult:
    """`months` months from `start` (a first of month); the table covers those months."""
    started = wallclock.perf_counter()
    end = months_after(start, months)
    ctx = await drive(world, seed, start, datetime.combine(end, time()), plan, "sim", on_day)
    last = months_after(start, months - 1)
    figures = await world.kpis.monthly(start, last)
    # Cases handed over in the first months began their absence before them: the backlog
    # the first months' meetings also serve.
    earlier = await world.kpis.monthly(months_after(start, -2), months_after(start, -1))
    outcomes = (await world.kpis.outcomes(start, last)).to_dict(per_consultant=False)
    rows = [MonthRow(k, *ctx.staffing.get(k.month, (plan.consultants(k.month), None)))
            for k in figures]
    return SimulationResult(
        months=rows, counters=dict(sorted(ctx.counters.items())),
        planning_runs=world.solver.runs, planning_seconds=world.solver.seconds,
        wall_seconds=wallclock.perf_counter() - started,
        earlier_target_cases=sum(k.target_cases for k in earlier),
        use_case_calls=ctx.bridge.calls_made, use_case_seconds=ctx.bridge.call_seconds,
        use_cases={name: {"calls": ctx.bridge.calls_by_name[name], "seconds": round(seconds, 1)}
                   for name, seconds in ctx.bridge.seconds_by_name.most_common()},
        job_seconds={k: round(v, 1) for k, v in sorted(world.job_seconds.items())},
        job_runs=dict(sorted(world.job_runs.items())), process_id=os.getpid(),
        outcomes=outcomes)


def new_clock(config: MunicipalityConfig, first: date) -> SettableClock:
    return SettableClock(datetime.combine(first, time()), config.municipality.timezone)


@dataclass(frozen=True)
class RunOptions:
    seed: int
    start: date
    months: int
    solver: str
    time_limit: float
    plan: StaffingPlan
    database_url: str | None = None  # None: a throwaway SQLite file
    data_key: str | None = None


class DatabaseNotEmpty(Exception):
    """The given database already holds cases of this municipality."""


async def run_scenario(config: MunicipalityConfig, options: RunOptions, secret_key: str,
                       on_day: Callable[[datetime], None] | None = None) -> SimulationResult:
    """Open a world on its own database, simulate, read the figures, close."""
    with contextlib.ExitStack() as stack:
        url = options.database_url
        if url is None:
            parent = _fast_tmp()
            _sweep_stale(parent)
            folder = stack.enter_context(tempfile.TemporaryDirectory(
                prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent))
            url = f"sqlite+aiosqlite:///{Path(folder) / 'simulation.db'}"
        cipher = DataCipher.from_env_values(options.data_key or new_data_key())
        world = World(config, url, new_clock(config, options.start),
                      SimulationSolver(options.solver, options.seed), cipher, secret_key,
                      options.time_limit)
        try:
            await world.open()
            if await world.has_cases():
                raise DatabaseNotEmpty(f"the database already holds cases of "
                                       f"{config.municipality.id}; the simulation needs an "
                                       "empty one")
            result = await simulate(config, world, seed=options.seed, start=options.start,
                                    months=options.months, plan=options.plan, on_day=on_day)
        finally:
            await world.close()
    result.inputs = {
        "municipality": config.municipality.id, "seed": options.seed,
        "start": f"{options.start:%Y-%m}", "months": options.months,
        "solver": options.solver, "time_limit_seconds_per_planning_run": options.time_limit,
        "service_time_limit_seconds": config.planning.time_limit_seconds,
        "planning_times": list(config.simulation.planning_times),
        "staffing": options.plan.source,
        "database": "throwaway SQLite" if options.database_url is None else "FASTHOLD_DATABASE_URL",
        "scenario": config.simulation.model_dump(mode="json")}
    return result


# A simulation's throwaway database lives in `<tmp>/fasthold-sim-<pid>-<random>/` (RAM when
# /dev/shm is there), removed when the run ends — also on an error or Ctrl-C, not when the
# process is killed: the next run removes those whose process is gone (a killed 15-month
# run left hundreds of MB of RAM behind).
SCRATCH_PREFIX = "fasthold-sim-"


def _sweep_stale(parent: str | None) -> None:
    """Remove the scratch folders of simulations whose process no longer runs."""
    root = Path(parent or tempfile.gettempdir())
    for folder in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def _fast_tmp() -> str | None:
    """A RAM-backed temporary directory when there is one (the database is thrown away)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
