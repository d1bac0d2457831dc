"""The demo's history: half a year of the municipality, simulated through the real use cases
up to the present, so that every page, KPI and list has data when the demo starts — the
dashboard's figures, the week-13 intervention share included, for at least the two months
before this one (`covered_months`); intake staff printed each day's letters at midday
(`office.print_letters`), so "Breve til print" holds those of the last afternoon. The mail
of the last working day (invitations, confirmations, reminders) is left in the outbox: the
demo's mail sink and Slack page receive it when the service starts, and its links work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.kpis.figures import month_start, next_month
from service.platform.crypto import DataCipher
from service.platform.jobqueue import PLAN
from service.platform.workdays import previous_working_day
from service.simulation.run import drive
from service.simulation.solver import SimulationSolver
from service.simulation.staffing import StaffingPlan
from service.simulation.world import World

HISTORY_PREFIX = "demo"
# Half a year: a case's week 13 ends 13 weeks after its first absence day, and cases reach
# intake up to absence week 7, so the week-13 figures of a month need the months before it.
DEFAULT_WEEKS = 26


@dataclass(frozen=True)
class History:
    first_day: date
    cases: int
    counters: dict[str, int]


def last_working_day(day: date, world: World) -> date:
    """`day` when it is a working day, else the working day before it."""
    return previous_working_day(day + timedelta(days=1), world.config.planning.closed())


def first_day_of_history(now: datetime, weeks: int) -> date:
    """The Monday `weeks` weeks before `now`."""
    start = now.date() - timedelta(weeks=weeks)
    return start - timedelta(days=start.weekday())


def covered_months(first: date, today: date, intervention_deadline_days: int) -> list[date]:
    """The months that have ended whose every figure comes from the history: those whose
    week-13 cohort (cases whose week 13 ended in the month) all began their absence on or
    after the history's first day — and so whose first meetings, week 8 and interventions
    all happened in it. Months given by their first day."""
    earliest = first + timedelta(days=intervention_deadline_days)
    month = earliest if earliest.day == 1 else next_month(month_start(earliest))
    out = []
    while month < month_start(today):
        out.append(month)
        month = next_month(month)
    return out


async def seed_history(config: MunicipalityConfig, database_url: str, cipher: DataCipher,
                       secret_key: str, now: datetime, weeks: int, seed: int = 1,
                       on_day: Callable[[datetime], None] | None = None) -> History | None:
    """Simulate `weeks` weeks up to `now` (local wall-clock time) into the database, unless
    it already holds cases of the municipality (then None: nothing is added twice).
    `on_day` is told each new virtual day (a progress bar)."""
    first = first_day_of_history(now, weeks)
    sim = config.simulation
    clock = SettableClock(datetime.combine(first, time()), config.municipality.timezone)
    world = World(config, database_url, clock, SimulationSolver(sim.solver, seed), cipher,
                  secret_key, sim.time_limit_seconds)
    try:
        await world.open()
        if await world.has_cases():
            return None
        months = (now.year - first.year) * 12 + now.month - first.month + 1
        plan = StaffingPlan.from_config(sim, len(config.consultants), first.replace(day=1),
                                        months)
        world.hold_mail_from = last_working_day(now.date(), world)
        world.prints_letters = True
        ctx = await drive(world, seed, first, now, plan, HISTORY_PREFIX, on_day)
        # Today's planning run, its invitations still to be sent (by the demo service).
        clock.set(now)
        world.speak()
        await world.run_job(PLAN, "demo_start")
        return History(first, ctx.counters.get("cases_registered", 0), ctx.counters)
    finally:
        await world.close()
