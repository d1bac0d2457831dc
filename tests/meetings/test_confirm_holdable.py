"""An employer's choice among the offered times is judged by its day as a time chosen by hand
is (`day_closed` in `service.meetings.availability`): the times were free when the plan was
made, but days may pass before the employer answers. A time on a day the consultant has
since become absent, or whose maximum of meetings other confirmations have reached
meanwhile, is no longer offered on the page, and choosing it is "taken" (the employer picks
another).

Before, only a double booking of the same minutes was refused: Herning's 6 simulated months
gave a consultant a fourth meeting on a day of at most three."""

from __future__ import annotations

from sqlalchemy import select, update

from service.clock import SettableClock
from service.keys import ANSWERS, DB
from service.meetings.booking import offered_slots
from service.platform.db.models import Consultant, ConsultantAbsence, Meeting
from tests.conftest import Api
from tests.meetings.email_cases import body, intake
from tests.meetings.test_invitations import active, rows
from tests.meetings.test_jobcentre_summons import clocked

__all__ = ["clocked"]  # the app with a clock the test moves, on SQLite and PostgreSQL


async def _proposal_with_another_day(api: Api, ref: str) -> tuple[Meeting, str, str]:
    """The case's proposal, the key of its own time and of an alternative on another day."""
    await intake(api, body(ref))
    _, meetings = await rows(api, ref)
    proposal = active(meetings)
    own, *alternatives = offered_slots(proposal)
    other = next(s for s in alternatives if s.start.date() != own.start.date())
    return proposal, own.key, other.key


async def test_a_day_the_consultant_became_absent_is_no_longer_offered(
        clocked: tuple[Api, SettableClock]) -> None:
    api, clock = clocked
    answers = api.client.app[ANSWERS]
    proposal, own, other = await _proposal_with_another_day(api, "ch1")
    away_on = next(s for s in offered_slots(proposal) if s.key == other).start.date()
    async with api.client.app[DB].write() as session:
        session.add(ConsultantAbsence(
            municipality_id=proposal.municipality_id, consultant_id=proposal.consultant_id,
            first_day=away_on, last_day=away_on, reason="kursus", created_at=clock.utcnow()))
    offered = [s.key for s in await answers.free_slots(proposal)]
    assert own in offered and other not in offered
    assert [s.start.date() for s in await answers.free_slots(proposal)].count(away_on) == 0
    assert await answers.confirm(proposal.id, other) == "taken"
    assert await answers.confirm(proposal.id, own) == "confirmed"


async def test_a_day_whose_meetings_reached_the_maximum_is_no_longer_offered(
        clocked: tuple[Api, SettableClock]) -> None:
    api, _ = clocked
    answers = api.client.app[ANSWERS]
    proposal, own, other = await _proposal_with_another_day(api, "ch2")
    full_on = next(s for s in offered_slots(proposal) if s.key == other).start.date()
    # Another case's meeting confirmed on that day meanwhile, the consultant holding one a
    # day at most.
    await intake(api, body("ch3"))
    _, meetings = await rows(api, "ch3")
    third = active(meetings)
    chosen = next(s for s in offered_slots(proposal) if s.key == other).start
    async with api.client.app[DB].write() as session:
        # not over the chosen time: the day is full, the time itself free
        start = third.start.replace(year=full_on.year, month=full_on.month, day=full_on.day,
                                    hour=13 if chosen.hour < 11 else 8, minute=0)
        await session.execute(update(Meeting).where(Meeting.id == third.id).values(
            consultant_id=proposal.consultant_id, status="confirmed", start=start,
            end=start + (third.end - third.start)))
        await session.execute(update(Consultant).where(
            Consultant.id == proposal.consultant_id).values(meetings_per_day=1))
        assert (await session.execute(select(Meeting.status).where(
            Meeting.id == third.id))).scalar_one() == "confirmed"
    _, meetings = await rows(api, "ch2")  # as the page reads it: with its consultant now
    proposal = active(meetings)
    offered = [s.key for s in await answers.free_slots(proposal)]
    assert own in offered and other not in offered
    assert await answers.confirm(proposal.id, other) == "taken"
    _, meetings = await rows(api, "ch2")
    assert active(meetings).status == "proposed"
