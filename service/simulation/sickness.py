"""Consultants' sick days (`[simulation] consultant_sick_days_per_month`).

Each working day, before the morning's planning run, a consultant may call in sick: they
register the absence themselves (whole working days, `SICKNESS_WORKING_DAYS`), as the week
page lets them; what it leaves behind is moved as for any absence (`absences`).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any

from service.simulation.absences import active_consultants, away_today, registers_absence
from service.simulation.context import SimContext

# Assumption (no data yet): a sickness lasts 1 to 3 working days, evenly.
SICKNESS_WORKING_DAYS = (1, 3)


def calls_in_sick(ctx: SimContext, day: date) -> Generator[Any, Any, None]:
    """Morning: who of the active consultants not already away falls ill today, each with
    `consultant_sick_days_per_month` sick days a month on average."""
    sim = ctx.sim
    low, high = SICKNESS_WORKING_DAYS
    # the chance a sickness begins on a working day: sick days a month over the month's
    # working days (about 21) and a sickness's mean length
    chance = sim.consultant_sick_days_per_month / 21 / ((low + high) / 2)
    away = yield ctx.bridge.call(lambda: away_today(ctx, day))
    keys = yield ctx.bridge.call(lambda: active_consultants(ctx))
    for key in keys:
        if key in away:
            continue
        rng = ctx.rng("sickness", key, day)
        if rng.random() >= chance:
            continue
        last = ctx.working_days_later(day, rng.randint(low, high) - 1)
        if (yield from registers_absence(ctx, key, day, last, "sygdom")):
            ctx.count("consultant_sicknesses")
