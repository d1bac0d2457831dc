"""The consultants' (and their colleagues') daily work, through the same use cases as the
staff API: call citizen and employer of new cases, hold telephone follow-ups, phone employers
who have not answered, register how each meeting went, start workplace-oriented
interventions, close cases when the citizen recovers; and, for target cases nobody in the new
role could take before absence week 8, the old way: a caseworker not yet converted takes the
case and holds the first follow-up at the jobcentre."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select

from service.consultants.caseload import caseloads
from service.meetings.signals import UnansweredRule
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_PLANNED
from service.platform.db.models import Case, Consultant, Intervention, Meeting
from service.simulation.absences import off_work
from service.simulation.bridge import Refused
from service.simulation.context import SimContext

# A caseworker who is not in the new role takes a target case that a planning run could not
# give to anyone in the new role, this close to its deadline, and holds the first follow-up
# at the jobcentre (the old way).
OLD_WAY_DAYS_BEFORE_DEADLINE = 7
OLD_WAY_REASON = "Ingen konsulent i den nye rolle havde plads: følges op i jobcentret"

_HELD = exists().where(and_(Meeting.case_id == Case.id, Meeting.status == "held"))
_OPEN_TARGET = and_(Case.status == "target", Case.closed_on.is_(None))


async def _rows(ctx: SimContext, statement: Any) -> list[Any]:
    """The statement's rows, read on a plain connection (no ORM session: they are columns)."""
    return await ctx.world.db.run_read(lambda connection: list(connection.execute(statement)))


def _owner_key() -> Any:
    return select(Consultant.key).where(Consultant.id == Case.owner_id).scalar_subquery()


def round_of_calls(ctx: SimContext) -> Generator[Any, Any, None]:
    """Midday: contacts, telephone follow-ups, silent employers, the old way."""
    world, municipality = ctx.world, ctx.world.municipality
    now = ctx.bridge.moment()
    mine = Case.municipality_id == municipality
    # a consultant off sick makes no calls: theirs wait until they are back
    away = yield from off_work(ctx, now.date())
    not_called = select(Case.case_ref, _owner_key()).where(
        mine, _OPEN_TARGET, Case.owner_id.is_not(None), Case.citizen_called_at.is_(None)
    ).order_by(Case.id)
    new_cases = yield ctx.bridge.call(lambda: _rows(ctx, not_called))
    for ref, owner in new_cases:
        if owner in away:
            continue
        who = ctx.principal("consultant", owner)
        yield ctx.bridge.call(lambda ref=ref, who=who: world.outcomes.register_contact(
            ref, "citizen", who))
        yield ctx.bridge.call(lambda ref=ref, who=who: world.outcomes.register_contact(
            ref, "employer", who))
        ctx.count("contacts")
    # Telephone follow-up (a firm recovery plan within 4 weeks): a few days after the call.
    called_before = ctx.world.clock.utcnow() - timedelta(days=2)
    by_phone = select(Case.case_ref, _owner_key()).where(
        mine, _OPEN_TARGET, Case.follow_up == "telephone", Case.owner_id.is_not(None), ~_HELD,
        Case.citizen_called_at < called_before).order_by(Case.id)
    phone_cases = yield ctx.bridge.call(lambda: _rows(ctx, by_phone))
    for ref, owner in phone_cases:
        if owner in away:
            continue
        yield ctx.bridge.call(lambda ref=ref, owner=owner: world.outcomes.register_meeting(
            ref, "phone", False, ctx.principal("consultant", owner)))
        ctx.count("phone_follow_ups")
    yield from _phone_silent_employers(ctx, now, away)
    yield from _old_way(ctx, now.date())


def _phone_silent_employers(ctx: SimContext, now: datetime, away: set[str]
                            ) -> Generator[Any, Any, None]:
    """The consultant phones an employer the day fasthold tells them the employer has not
    answered (`service.meetings.signals.UnansweredRule`, the rule of their Slack reminder)."""
    world = ctx.world
    rule = UnansweredRule.configured(world.config, world.clock.tz)
    today = world.clock.today()
    invited = select(Meeting.id, Meeting.start, Meeting.kind, Meeting.status,
                     Meeting.invited_at, Meeting.employer_answer, Case.case_ref,
                     _owner_key()).join(Case, Case.id == Meeting.case_id).where(
        Meeting.municipality_id == world.municipality, Meeting.status == "proposed",
        Meeting.invited_at.is_not(None), Meeting.employer_answer.is_(None),
        Meeting.start > now + timedelta(days=1)).order_by(Meeting.id)
    rows = yield ctx.bridge.call(lambda: _rows(ctx, invited))
    for meeting_id, start, kind, status, invited_at, answer, ref, owner in rows:
        if owner in away or ("phoned", meeting_id) in ctx.done or not rule.due(
                kind=kind, status=status, invited_at=invited_at, employer_answer=answer,
                today=today):
            continue
        ctx.done.add(("phoned", meeting_id))
        who = ctx.principal("consultant", owner)
        yield ctx.bridge.call(lambda ref=ref, who=who: world.outcomes.register_contact(
            ref, "employer", who))
        if ctx.rng("phone", meeting_id).random() < ctx.sim.phone_confirm_share:
            result = yield ctx.bridge.call(
                lambda ref=ref, who=who, start=start: world.staff_meetings.confirm(
                    ref, start.isoformat(timespec="minutes"), who))
            if not isinstance(result, Refused):
                ctx.count("confirmed_by_phone")


def _old_way(ctx: SimContext, today: date) -> Generator[Any, Any, None]:
    world = ctx.world
    if world.planned_at is None:
        return
    mine = Case.municipality_id == world.municipality
    soon = today + timedelta(days=OLD_WAY_DAYS_BEFORE_DEADLINE)
    unowned = select(Case.case_ref, Case.first_meeting_deadline).where(
        mine, _OPEN_TARGET, Case.owner_id.is_(None), Case.follow_up == "workplace_meeting",
        ~_HELD, Case.first_meeting_deadline <= soon, Case.created_at < world.planned_at
    ).order_by(Case.first_meeting_deadline, Case.id)
    due = yield ctx.bridge.call(lambda: _rows(ctx, unowned))
    if not due:
        return
    loads = yield ctx.bridge.call(lambda: _caseworker_loads(ctx))
    if not loads:
        return  # everyone is in the new role: the planner plans these, late
    intake = ctx.principal("intake")
    for ref, deadline in due:
        key = min(sorted(loads), key=lambda k: loads[k])
        result = yield ctx.bridge.call(lambda ref=ref, key=key: world.intake.override_owner(
            ref, key, OLD_WAY_REASON, intake))
        if isinstance(result, Refused):
            continue
        loads[key] += 1
        ctx.count("old_way")
        day = _old_way_day(ctx, ref, today, deadline)
        moment = ctx.office_moment(day, ctx.rng("old_way_hour", ref))
        ctx.bridge.env.process(_jobcentre_meeting(ctx, ref, key, moment))


async def _caseworker_loads(ctx: SimContext) -> dict[str, int]:
    """The caseload (`service.consultants.caseload`) of each active caseworker not yet in the
    new role, by key."""
    municipality = ctx.world.municipality
    async with ctx.world.db.read() as session:
        caseworkers = dict((await session.execute(select(Consultant.id, Consultant.key).where(
            Consultant.municipality_id == municipality, Consultant.active.is_(True),
            Consultant.workplace_meetings.is_(False)))).all())
        loads = await caseloads(session, municipality, owners=list(caseworkers))
    return {key: loads.get(id_, 0) for id_, key in caseworkers.items()}


def _old_way_day(ctx: SimContext, ref: str, today: date, deadline: date) -> date:
    """When the old way meets the citizen: by the deadline, late, or more than 3 weeks late,
    with the configured shares; never before two working days from now."""
    rng, sim = ctx.rng("old_way", ref), ctx.sim
    draw = rng.random()
    if draw < sim.old_way_late_over_3_weeks_share:
        day = deadline + timedelta(days=rng.randint(22, 42))
    elif draw < sim.old_way_late_share:
        day = deadline + timedelta(days=rng.randint(1, 21))
    else:
        day = deadline - timedelta(days=rng.randint(0, 6))
    day = max(day, ctx.working_days_later(today, 2))
    while not ctx.working_day(day):
        day += timedelta(days=1)
    return day


def _jobcentre_meeting(ctx: SimContext, ref: str, key: str, moment: datetime
                       ) -> Generator[Any, Any, None]:
    yield ctx.bridge.wait_until(moment)
    while key in (yield from off_work(ctx, moment.date())):
        # the caseworker is off sick: the meeting is held on their next working day
        moment = datetime.combine(ctx.working_days_later(moment.date(), 1), moment.time())
        yield ctx.bridge.wait_until(moment)
    took_part = ctx.rng("old_way_employer", ref).random() < ctx.sim.employer_at_jobcentre_share
    yield ctx.bridge.call(lambda: ctx.world.outcomes.register_meeting(
        ref, "jobcentre", took_part, ctx.principal("consultant", key)))


def meetings_of_the_day(ctx: SimContext) -> Generator[Any, Any, None]:
    """Afternoon: how each meeting that began today (or before) went."""
    world, sim = ctx.world, ctx.sim
    now = ctx.bridge.moment()  # (the clock is set at each use case call, not before)
    begun = select(Meeting.id, Meeting.kind, Case.case_ref, _owner_key()).join(
        Case, Case.id == Meeting.case_id).where(
        Meeting.municipality_id == world.municipality, Meeting.start <= now,
        (Meeting.status == "confirmed") | and_(Meeting.status == "proposed",
                                               Meeting.kind == "jobcenter_meeting",
                                               Meeting.invited_at.is_not(None))
    ).order_by(Meeting.start, Meeting.id)
    due = yield ctx.bridge.call(lambda: _rows(ctx, begun))
    # a meeting left with a consultant off sick (nobody could move it) is not held, and a
    # manager registers it so
    away = yield from off_work(ctx, now.date())
    for meeting_id, kind, ref, owner in due:
        rng = ctx.rng("meeting", meeting_id)
        who = ctx.principal("consultant", owner) if owner and owner not in away \
            else ctx.principal("manager")
        if rng.random() < sim.meeting_not_held_share or owner in away:
            place, took_part = "not_held", None
            ctx.count("meetings_not_held")
        elif kind == "workplace_meeting":
            place, took_part = "workplace", rng.random() < sim.employer_took_part_share
        else:
            place, took_part = "jobcentre", rng.random() < sim.employer_at_jobcentre_share
        yield ctx.bridge.call(lambda ref=ref, place=place, took_part=took_part, who=who:
                              world.outcomes.register_meeting(ref, place, took_part, who))
    if sim.citizen_private_talk_share:
        yield from _talks_of_the_day(ctx, now)


def _talks_of_the_day(ctx: SimContext, now: datetime) -> Generator[Any, Any, None]:
    """How each private talk (rule 10) that began today went: held, or not held as often as
    a meeting is not (planning then finds the talk another time before the meeting)."""
    world, sim = ctx.world, ctx.sim
    begun = select(Meeting.id, Case.case_ref, _owner_key()).join(
        Case, Case.id == Meeting.case_id).where(
        Meeting.municipality_id == world.municipality, Meeting.kind == PRIVATE_TALK,
        Meeting.status == TALK_PLANNED, Meeting.start <= now
    ).order_by(Meeting.start, Meeting.id)
    due = yield ctx.bridge.call(lambda: _rows(ctx, begun))
    for talk_id, ref, owner in due:
        rng = ctx.rng("talk", talk_id)
        outcome = "not_held" if rng.random() < sim.meeting_not_held_share else "held"
        who = ctx.principal("consultant", owner) if owner else ctx.principal("manager")
        result = yield ctx.bridge.call(lambda ref=ref, outcome=outcome, who=who:
                                       world.services.talks.register(ref, outcome, who))
        if not isinstance(result, Refused):
            ctx.count(f"private_talks_{outcome}")


# Assumptions (no data yet) about the kinds of workplace-oriented intervention: a partial
# return is the most common (the model's success story: back part-time at week 5, full time
# by week 8), the others as the model's descriptions list them.
INTERVENTION_KIND_SHARES = (("partial_return", 0.50), ("work_trial", 0.15),
                            ("aids_or_adjustments", 0.15), ("redeployment", 0.10),
                            ("wage_subsidy", 0.05), ("education", 0.05))
# Assumption: a partial return starts at 15 hours a week and lasts until full recovery.
PARTIAL_RETURN_HOURS = 15.0


def intervention_of(ctx: SimContext, ref: str, starts: date, recovers: date
                    ) -> tuple[str, float | None, date | None]:
    """The kind of a case's intervention (drawn per case), its weekly hours and end: a
    partial return runs until the citizen is back full time (the case stays open with its
    owner meanwhile)."""
    draw, kind = ctx.rng("intervention_kind", ref).random(), "other"
    for name, share in INTERVENTION_KIND_SHARES:
        if draw < share:
            kind = name
            break
        draw -= share
    if kind == "partial_return":
        return kind, PARTIAL_RETURN_HOURS, max(recovers, starts)
    return kind, None, None


def interventions_and_endings(ctx: SimContext) -> Generator[Any, Any, None]:
    """End of the day: interventions that start today, cases whose citizen recovered."""
    world, today = ctx.world, ctx.bridge.moment().date()
    # each open case's first held meeting, asked per case (not grouped over every meeting
    # the municipality ever held)
    first_held = select(func.min(Meeting.start)).where(
        Meeting.case_id == Case.id, Meeting.status == "held").scalar_subquery()
    # cases without any intervention registered (one with only an education has its
    # intervention: the consultant does not register it again each day)
    none_registered = ~exists().where(Intervention.case_id == Case.id)
    open_cases = select(Case.id, Case.case_ref, first_held.label("held"),
                        _owner_key().label("owner")).where(
        Case.municipality_id == world.municipality, _OPEN_TARGET,
        none_registered).subquery()
    without = select(open_cases.c.case_ref, open_cases.c.held, open_cases.c.owner).where(
        open_cases.c.held.is_not(None)).order_by(open_cases.c.id)
    waiting = yield ctx.bridge.call(lambda: _rows(ctx, without))
    # a consultant off sick registers nothing: theirs wait until they are back (an
    # intervention keeps its start, a closing its day)
    away = yield from off_work(ctx, today)
    for ref, held, owner in waiting:
        future = ctx.futures.get(ref)
        if future is None or future.intervention_after_weeks is None or owner in away:
            continue
        held_on = held.date() if isinstance(held, datetime) else \
            datetime.fromisoformat(str(held)).date()
        starts = held_on + timedelta(days=round(7 * future.intervention_after_weeks))
        if starts > today or starts >= future.ends_on:
            continue
        who = ctx.principal("consultant", owner) if owner else ctx.principal("manager")
        kind, hours, ends = intervention_of(ctx, ref, starts, future.ends_on)
        yield ctx.bridge.call(lambda ref=ref, starts=starts, who=who, kind=kind, hours=hours,
                              ends=ends: world.outcomes.register_intervention(
                                  ref, starts, who, kind=kind, hours_per_week=hours,
                                  ends_on=ends))
        ctx.count("interventions")
        ctx.count(f"interventions_{kind}")
    ending = [f for f in ctx.futures.values() if f.ends_on <= today
              and f.ref not in ctx.closed_refs]
    if not ending:
        return
    refs = [f.ref for f in ending]
    owners_of = select(Case.case_ref, _owner_key()).where(
        Case.municipality_id == world.municipality, Case.case_ref.in_(refs))
    owners = dict((yield ctx.bridge.call(lambda: _rows(ctx, owners_of))))
    for future in sorted(ending, key=lambda f: (f.ends_on, f.ref)):
        owner = owners.get(future.ref)
        if owner in away:
            continue
        ctx.closed_refs.add(future.ref)
        who = ctx.principal("consultant", owner) if owner else ctx.principal("intake")
        note = {"recovered": "Raskmeldt", "other_programme": "Overgået til andet forløb",
                "dismissed": "Opsagt"}[future.outcome]
        yield ctx.bridge.call(lambda f=future, who=who, note=note: world.closing.close(
            f.ref, f.outcome, f.ends_on, note, who))
        ctx.count("closed")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))
