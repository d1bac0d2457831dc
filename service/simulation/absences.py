"""The consultants' absences in the simulation, whatever their cause (`sickness`,
`vacations`): who is in the role and who is away today, registering an absence as the week
page does, and the intake staff who move the meetings an absence leaves behind — the
product's absence handling, as the office uses it.

Planning withdraws an absent consultant's proposals on those days and lists their confirmed
meetings as meetings to move (`MeetingConflicts`), each with a free colleague if one is
found. At midday the intake staff work through that list as its page offers: the colleague
takes the case and the meeting, else the employer is asked for new times.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any

from sqlalchemy import select

from service.consultants.schemas import AbsenceIn
from service.platform.db.models import Consultant, ConsultantAbsence
from service.simulation.bridge import Refused
from service.simulation.context import SimContext


def registers_absence(ctx: SimContext, key: str, first: date, last: date, reason: str
                      ) -> Generator[Any, Any, bool]:
    """The consultant registers their own absence, as the week page lets them; whether it
    was taken."""
    absence = AbsenceIn.model_validate({"from": first, "to": last, "reason": reason})
    result = yield ctx.bridge.call(lambda: ctx.world.services.consultants.add_absence(
        key, absence, ctx.principal("consultant", key)))
    return not isinstance(result, Refused)


async def active_consultants(ctx: SimContext) -> list[str]:
    """The keys of the active consultants (in the new role or not yet converted), in key
    order."""
    world = ctx.world
    async with world.db.read() as session:
        return list((await session.execute(select(Consultant.key).where(
            Consultant.municipality_id == world.municipality, Consultant.active)
            .order_by(Consultant.key))).scalars())


def absences_simulated(ctx: SimContext) -> bool:
    """Whether consultants are ever away in this simulation (sick days or a holiday)."""
    return bool(ctx.sim.consultant_sick_days_per_month or ctx.sim.consultant_vacation_weeks)


async def away_today(ctx: SimContext, day: date) -> set[str]:
    """The consultants with an absence on `day` (their keys)."""
    world = ctx.world
    async with world.db.read() as session:
        return set((await session.execute(select(Consultant.key).join(
            ConsultantAbsence, ConsultantAbsence.consultant_id == Consultant.id).where(
            Consultant.municipality_id == world.municipality,
            ConsultantAbsence.deleted_at.is_(None), ConsultantAbsence.first_day <= day,
            ConsultantAbsence.last_day >= day))).scalars())


def off_work(ctx: SimContext, day: date) -> Generator[Any, Any, set[str]]:
    """The consultants away on `day` (their keys: off sick or on holiday) — none, without a
    read, when the simulation has neither: what a simulated consultant may not do while
    away."""
    if not absences_simulated(ctx):
        return set()
    away: set[str] = yield ctx.bridge.call(lambda: away_today(ctx, day))
    return away


def meetings_to_move(ctx: SimContext) -> Generator[Any, Any, None]:
    """Midday: the intake staff move each listed meeting — to the colleague the list
    proposes, else by asking the employer for new times."""
    conflicts, clerk = ctx.world.services.conflicts, ctx.principal("intake")
    listed = yield ctx.bridge.call(lambda: conflicts.to_move(clerk))
    for item in listed:
        if item.substitute_key is not None:
            result = yield ctx.bridge.call(
                lambda ref=item.case_ref: conflicts.accept_substitute(ref, clerk))
            if not isinstance(result, Refused):
                ctx.count("meetings_to_colleague")
                continue
        result = yield ctx.bridge.call(
            lambda ref=item.case_ref: conflicts.ask_new_times(ref, clerk))
        if not isinstance(result, Refused):
            ctx.count("meetings_new_times_asked")
