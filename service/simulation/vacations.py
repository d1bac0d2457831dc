"""The consultants' summer holiday (`[simulation] consultant_vacation_weeks`), and the intake
staff who hand a long-absent consultant's cases over — the product's long-absence handling,
as the office uses it.

Each consultant (those in the new role and the caseworkers not yet converted alike: all are
active, as for sick days) takes `consultant_vacation_weeks` consecutive weeks (Monday to
Sunday) once a year, starting in an ISO week drawn for them and the year so that the holiday
lies within `vacation_iso_weeks`. They register it themselves, as the week page lets them,
`vacation_notice_weeks` weeks before it begins — or, when the simulation begins later, on its
first morning while the holiday is still ahead. From then on planning proposes nothing on
those days and lists a confirmed meeting that falls in them to move (as for a sickness).

A holiday of at least `[planning] long_absence_working_days` working days is a long absence:
"Møder der skal flyttes" lists the consultant's open cases with a suggested colleague each.
At midday the intake staff go through the long absences that begin within
`HANDOVER_WORKING_DAYS` working days (or have begun) and hand each case whose first
meeting's deadline (absence week 8) falls in the absence, with no meeting confirmed before
it, to the colleague suggested (the owner override). The others stay with their consultant
— one consultant owns a case until recovery — whose meetings and follow-ups planning places
before or after the holiday.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, timedelta
from typing import Any

from service.simulation.absences import active_consultants, registers_absence
from service.simulation.bridge import Refused
from service.simulation.context import SimContext

# Assumption (no data yet): the intake staff hand a holiday's cases over in the last week
# before it (working days), and every day while it lasts (cases given to the consultant
# meanwhile).
HANDOVER_WORKING_DAYS = 5


def holiday_of(ctx: SimContext, key: str, year: int) -> tuple[date, date]:
    """The consultant's summer holiday in `year`: its first day (a Monday) and last (a
    Sunday), the same whenever it is asked."""
    weeks = ctx.sim.consultant_vacation_weeks
    first, last = ctx.sim.vacation_iso_weeks
    week = ctx.rng("vacation", key, year).randint(first, last - weeks + 1)
    begins = date.fromisocalendar(year, week, 1)
    return begins, begins + timedelta(weeks=weeks, days=-1)


def registers_holidays(ctx: SimContext, day: date) -> Generator[Any, Any, None]:
    """Morning: each active consultant whose holiday is due to be registered
    (`vacation_notice_weeks` ahead, or late when the simulation began after that) and still
    ahead registers it."""
    notice = timedelta(weeks=ctx.sim.vacation_notice_weeks)
    keys = yield ctx.bridge.call(lambda: active_consultants(ctx))
    for key in keys:
        # this year's holiday, or next year's when the notice reaches into it
        for year in (day.year, day.year + 1):
            done = (f"holiday {key}", year)
            if done in ctx.done:
                continue
            begins, ends = holiday_of(ctx, key, year)
            if day >= begins:  # the simulation began during (or after) this year's holiday
                ctx.done.add(done)
                continue
            if day < begins - notice:
                continue
            ctx.done.add(done)
            if (yield from registers_absence(ctx, key, begins, ends, "ferie")):
                ctx.count("consultant_holidays")


def hands_cases_over(ctx: SimContext, day: date) -> Generator[Any, Any, None]:
    """Midday: for each long absence beginning within `HANDOVER_WORKING_DAYS` working days
    (or begun), the cases listed with their first meeting's deadline in it go to the
    colleague suggested."""
    conflicts, clerk = ctx.world.services.conflicts, ctx.principal("intake")
    soon = ctx.working_days_later(day, HANDOVER_WORKING_DAYS)
    absences = yield ctx.bridge.call(lambda: conflicts.long_absences(clerk, soon))
    for absence in absences:
        for case in absence.cases:
            colleague = case["suggested_key"]
            if not case["needs_hand_over"] or case["deadline_kind"] != "first_meeting":
                continue
            if colleague is None:  # nobody free with room: it waits (counted once)
                if (f"no colleague {case['case_ref']}", 0) not in ctx.done:
                    ctx.done.add((f"no colleague {case['case_ref']}", 0))
                    ctx.count("cases_no_colleague_to_hand_over")
                continue
            result = yield ctx.bridge.call(
                lambda ref=case["case_ref"], to=colleague: conflicts.hand_over(ref, to, clerk))
            ctx.count("cases_handover_refused" if isinstance(result, Refused)
                      else "cases_handed_over")
