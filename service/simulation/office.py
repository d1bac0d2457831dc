"""The office's day on the virtual clock: the scheduled jobs of `service.jobs.catalog` and
the jobs use cases asked for run at fixed ticks; between them the consultants work and the
employers answer their mail. The staffing plan changes who does workplace meetings on the
first of each month."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, datetime, time, timedelta
from typing import Any

from service.platform.jobqueue import (
    DELIVER_OUTBOX,
    END_DECLINE_GRACE,
    PLAN,
    SEND_HELD_INVITATIONS,
    SEND_REMINDERS,
)
from service.simulation.absences import absences_simulated, meetings_to_move
from service.simulation.consultants import (
    interventions_and_endings,
    meetings_of_the_day,
    round_of_calls,
)
from service.simulation.context import SimContext
from service.simulation.employers import read_mail
from service.simulation.sickness import calls_in_sick
from service.simulation.staffing import StaffingPlan
from service.simulation.vacations import hands_cases_over, registers_holidays

# The office's fixed moments: consultants make their calls at midday (then the reminders are
# scanned) and register the day's meetings in the afternoon. Planning runs at the
# configured `[simulation] planning_times` (the service plans within seconds of every change;
# the simulation plans what changed since the last run, which keeps 15 months of a
# municipality within minutes); mail is delivered at the planning runs and at midday.
ABSENCES_AT = time(6, 0)
CALLS_AT = time(12, 0)
MEETINGS_AT = time(16, 30)


def _day_plan(ctx: SimContext) -> list[tuple[time, str]]:
    """The working day's moments, in order, with what happens then."""
    moments = [(time.fromisoformat(t), "plan") for t in ctx.sim.planning_times]
    moments += [(CALLS_AT, "calls"), (MEETINGS_AT, "meetings")]
    return sorted(moments)


def _tick(ctx: SimContext, scheduled: tuple[str, ...], later: tuple[str, ...] = ()
          ) -> Generator[Any, Any, None]:
    yield ctx.bridge.call(lambda: ctx.world.tick(scheduled, later))
    read_mail(ctx, ctx.world.mail.take())
    ctx.world.slack.take()


async def _month_load(ctx: SimContext, month: date, in_role: int) -> None:
    loads = await ctx.world.kpis.load()
    converted = set(c.id for c in ctx.world.config.consultants[:in_role])
    mine = [c.open_cases for c in loads if c.consultant_id in converted]
    ctx.staffing[month] = (in_role, sum(mine) / len(mine) if mine else None)


def print_letters(ctx: SimContext) -> Generator[Any, Any, None]:
    """Midday: intake staff print the letters waiting ("Breve til print", oldest first) and
    mark each one sent — the outbox's use cases, as the page calls them."""
    outbox, clerk = ctx.world.outbox_service, ctx.principal("intake")
    while True:
        page = yield ctx.bridge.call(lambda: outbox.letters(clerk))
        for letter in page.letters:
            yield ctx.bridge.call(lambda i=letter.id: outbox.printed(i, clerk))
            ctx.count("letters_printed")
        if len(page.letters) >= page.total:
            return


def office(ctx: SimContext, plan: StaffingPlan) -> Generator[Any, Any, None]:
    moments = _day_plan(ctx)
    day = ctx.bridge.moment().date()
    in_role = -1
    while day < ctx.end:
        month = day.replace(day=1)
        if plan.consultants(month) != in_role:
            in_role = plan.consultants(month)
            yield ctx.bridge.call(lambda n=in_role, m=month: ctx.world.staff(n, m))
        if ctx.working_day(day):
            if absences_simulated(ctx):
                # before the morning's planning run, which finds what the absence leaves
                yield ctx.bridge.wait_until(datetime.combine(day, min(ABSENCES_AT,
                                                                      moments[0][0])))
                if ctx.sim.consultant_vacation_weeks:
                    yield from registers_holidays(ctx, day)
                if ctx.sim.consultant_sick_days_per_month:
                    yield from calls_in_sick(ctx, day)
            for moment, what in moments:
                yield ctx.bridge.wait_until(datetime.combine(day, moment))
                if what == "plan":
                    yield from _tick(ctx, (PLAN, DELIVER_OUTBOX))
                    continue
                if what == "calls":
                    yield from round_of_calls(ctx)
                    if absences_simulated(ctx):
                        yield from meetings_to_move(ctx)
                    if ctx.sim.consultant_vacation_weeks:
                        yield from hands_cases_over(ctx, day)
                    if ctx.world.prints_letters:
                        yield from print_letters(ctx)
                    # Held invitations and declines' grace (counted in working days) too.
                    yield from _tick(ctx, (SEND_REMINDERS, SEND_HELD_INVITATIONS,
                                           END_DECLINE_GRACE), (PLAN,))
                else:
                    yield from meetings_of_the_day(ctx)
                    yield from interventions_and_endings(ctx)
                    # The afternoon's mail goes with the next morning's run.
                    yield from _tick(ctx, (), (PLAN, DELIVER_OUTBOX))
        following = day + timedelta(days=1)
        if following.month != day.month or following >= ctx.end:
            yield ctx.bridge.wait_until(datetime.combine(day, time(23, 0)))
            yield ctx.bridge.call(lambda m=month, n=in_role: _month_load(ctx, m, n))
        day = following
        yield ctx.bridge.wait_until(datetime.combine(day, time()))
