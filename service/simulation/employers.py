"""Employers reading their mail: each invitation (and reminder) leads, after a random delay,
to an answer on the link page's use cases — confirm a time, ask for other times, decline the
workplace meeting — or to silence; some confirmed meetings are moved later."""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from bots.delivery import OutboundMessage
from service.meetings.answers import Outcome
from service.meetings.booking import offered_slots
from service.meetings.links import LinkExpired, LinkInvalid
from service.meetings.pages import PARTS, WEEKDAYS
from service.meetings.signals import CHANGE_UNTIL
from service.platform.db.models import Meeting
from service.simulation.bridge import Refused
from service.simulation.context import SimContext

LINK = re.compile(r"/m/([A-Za-z0-9_.\-]+)")
ANSWERING_KINDS = ("employer_invitation", "employer_reminder")


def read_mail(ctx: SimContext, messages: list[OutboundMessage]) -> None:
    """Start an employer's answer for every invitation or reminder just delivered."""
    for message in messages:
        if message.kind in ANSWERING_KINDS:
            match = LINK.search(message.text)
            if match is not None:
                ctx.bridge.env.process(answer(ctx, match.group(1), message.kind))


# The columns the employer's page shows, by one prebuilt statement on a plain connection (no
# ORM session: 7,400 reads in Herning's 15 months).
_MEETINGS = Meeting.__table__.c
_OFFERED = select(_MEETINGS.status, _MEETINGS.id, _MEETINGS.start, _MEETINGS.end,
                  _MEETINGS.travel_minutes, _MEETINGS.alternatives
                  ).where(_MEETINGS.id == bindparam("meeting"))


async def _offered(ctx: SimContext, meeting_id: int) -> tuple[str, list[str]] | None:
    """What the employer's page shows: the meeting's status and the times offered (read as
    those columns: the page's whole meeting, case, employer and consultants are not needed
    to answer)."""
    meeting = await ctx.world.db.run_read(
        lambda connection: connection.execute(_OFFERED, {"meeting": meeting_id}).first())
    if meeting is None:
        return None
    now = ctx.world.clock.local_now()
    return meeting.status, [s.key for s in offered_slots(meeting) if s.start > now]


def _preferences(rng: Any) -> dict[str, Any]:
    """Other times, as the page's form sends them: some weekdays, maybe a part of the day."""
    days = sorted(rng.sample(range(len(WEEKDAYS)), k=rng.randint(2, 4)))
    weekdays = [WEEKDAYS[d][0] for d in days]
    parts = [rng.choice(PARTS)[0]] if rng.random() < 0.5 else []
    names, part_names = dict(WEEKDAYS), dict(PARTS)
    return {"weekdays": weekdays, "parts_of_day": parts, "text": "",
            "weekdays_text": [names[w].lower() for w in weekdays],
            "parts_text": [part_names[p].split(" ")[0].lower() for p in parts]}


def _answer_moment(ctx: SimContext, rng: Any) -> datetime:
    """After an exponential delay in working days, at a moment in office hours."""
    delay = int(rng.expovariate(1 / ctx.sim.employer_answer_days_mean))
    today = ctx.bridge.moment().date()
    day = ctx.working_days_later(today, delay) if delay else today
    if not ctx.working_day(day):
        day = ctx.working_days_later(day, 1)
    moment = ctx.office_moment(day, rng)
    now = ctx.bridge.moment()
    return moment if moment > now else now + timedelta(minutes=rng.randint(20, 120))


def answer(ctx: SimContext, token: str, kind: str) -> Generator[Any, Any, None]:
    world, sim = ctx.world, ctx.sim
    try:
        meeting_id = world.links.verify(token).meeting_id
    except (LinkInvalid, LinkExpired):
        return
    # The draws are the meeting's and the mail's (an invitation, a reminder: each sent once
    # per meeting), never the outbox row's id, which any other message (a notice to a
    # consultant in Slack) would shift.
    rng = ctx.rng("answer", meeting_id, kind)
    yield ctx.bridge.wait_until(_answer_moment(ctx, rng))
    draw = rng.random()
    if draw < sim.employer_silent_share:
        ctx.count("employer_silent")
        return
    shown = yield ctx.bridge.call(lambda: _offered(ctx, meeting_id))
    if shown is None or shown[0] != "proposed":
        return  # answered already, moved or cancelled meanwhile: the page says so
    _, slots = shown
    draw -= sim.employer_silent_share
    if draw < sim.employer_decline_share:
        ctx.count("employer_declined")
        yield ctx.bridge.call(lambda: world.answers.decline(
            meeting_id, "other", "Vi foretrækker en samtale i jobcentret."))
        return
    draw -= sim.employer_decline_share
    if draw < sim.employer_other_times_share or not slots:
        ctx.count("employer_other_times")
        yield ctx.bridge.call(lambda: world.answers.other_times(meeting_id, _preferences(rng)))
        return
    # Confirm: most take the proposed time, some an alternative; a time taken meanwhile
    # sends them to the next one offered.
    ordered = slots if rng.random() < 0.7 else [*slots[1:], slots[0]]
    for key in ordered:
        outcome = yield ctx.bridge.call(lambda key=key: world.answers.confirm(meeting_id, key))
        if outcome in (Outcome.CONFIRMED, Outcome.ALREADY):
            ctx.count("employer_confirmed")
            if rng.random() < sim.meeting_moved_share:
                ctx.bridge.env.process(move_later(ctx, meeting_id))
            return
        if outcome == Outcome.CLOSED or isinstance(outcome, Refused):
            return
    ctx.count("employer_other_times")
    yield ctx.bridge.call(lambda: world.answers.other_times(meeting_id, _preferences(rng)))


def move_later(ctx: SimContext, meeting_id: int) -> Generator[Any, Any, None]:
    """A confirmed meeting the employer moves (asks for other times) before the deadline for
    changes, 24 hours before it."""
    rng = ctx.rng("move", meeting_id)
    async def start_of() -> datetime | None:
        async with ctx.world.db.read() as session:
            meeting = (await session.execute(select(Meeting.status, Meeting.start).where(
                Meeting.id == meeting_id))).one_or_none()
            return None if meeting is None or meeting.status != "confirmed" else meeting.start
    start = yield ctx.bridge.call(start_of)
    if start is None:
        return
    latest = start - CHANGE_UNTIL - timedelta(hours=1)
    now = ctx.bridge.moment()
    # in office hours on a working day before then, as the employer's other answers (it was
    # any moment: the demo's mailbox and Slack showed meetings moved at four in the night)
    days = [now.date() + timedelta(days=n) for n in range((latest.date() - now.date()).days + 1)]
    moments = [ctx.office_moment(day, rng) for day in days if ctx.working_day(day)]
    moments = [moment for moment in moments if now < moment <= latest]
    if not moments:
        return
    yield ctx.bridge.wait_until(rng.choice(moments))
    outcome = yield ctx.bridge.call(lambda: ctx.world.answers.other_times(
        meeting_id, _preferences(rng)))
    if outcome == Outcome.DONE:
        ctx.count("meeting_moved")
