"""An employer's choice among the offered times is judged as a time chosen by hand is
(`time_closed` in `service.meetings.availability`): the times were free when the plan was
made, but days may pass before the employer answers. A time on a day the consultant has
since become absent, whose maximum of meetings other confirmations have reached meanwhile,
or that busy time imported from the consultant's calendar since covers, is no longer
offered on the page, and choosing it is "taken" (the employer picks another).

Before, only a double booking of the same minutes was refused: Herning's 6 simulated months
gave a consultant a fourth meeting on a day of at most three."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import update

from service.clock import SettableClock
from service.keys import ANSWERS, DB, NOTIFIER
from service.meetings.booking import Slot, offered_slots
from service.platform.db.models import CalendarEntry, Consultant, ConsultantAbsence, Meeting
from tests.meetings.email_cases import body, intake
from tests.meetings.test_invitations import active, rows
from tests.support import Api


async def _proposal_with_another_day(api: Api, ref: str) -> tuple[Meeting, Slot, Slot]:
    """The case's proposal, its own time and an alternative on another day."""
    await intake(api, body(ref))
    _, meetings = await rows(api, ref)
    proposal = active(meetings)
    own, *alternatives = offered_slots(proposal)
    other = next(s for s in alternatives if s.start.date() != own.start.date())
    return proposal, own, other


async def _the_day_is_refused(api: Api, proposal: Meeting, own: Slot, other: Slot) -> None:
    """The page offers the proposal's own time, none of the other day's; choosing that one
    is "taken"."""
    answers = api.client.app[ANSWERS]
    offered = await answers.free_slots(proposal)
    assert own.key in [s.key for s in offered]
    assert other.start.date() not in {s.start.date() for s in offered}
    assert await answers.confirm(proposal.id, other.key) == "taken"


async def test_a_day_the_consultant_became_absent_is_no_longer_offered(
        clocked: tuple[Api, SettableClock]) -> None:
    api, clock = clocked
    proposal, own, other = await _proposal_with_another_day(api, "ch1")
    async with api.client.app[DB].write() as session:
        session.add(ConsultantAbsence(
            municipality_id=proposal.municipality_id, consultant_id=proposal.consultant_id,
            first_day=other.start.date(), last_day=other.start.date(), reason="kursus",
            created_at=clock.utcnow()))
    await _the_day_is_refused(api, proposal, own, other)
    assert await api.client.app[ANSWERS].confirm(proposal.id, own.key) == "confirmed"


async def test_a_day_whose_meetings_reached_the_maximum_is_no_longer_offered(
        clocked: tuple[Api, SettableClock]) -> None:
    api, _ = clocked
    proposal, own, other = await _proposal_with_another_day(api, "ch2")
    # Another case's meeting confirmed on that day meanwhile, the consultant holding one a
    # day at most.
    await intake(api, body("ch3"))
    _, meetings = await rows(api, "ch3")
    third = active(meetings)
    async with api.client.app[DB].write() as session:
        # not over the chosen time: the day is full, the time itself free
        start = datetime.combine(other.start.date(),
                                 time(13 if other.start.hour < 11 else 8, 0))
        await session.execute(update(Meeting).where(Meeting.id == third.id).values(
            consultant_id=proposal.consultant_id, status="confirmed", start=start,
            end=start + (third.end - third.start)))
        await session.execute(update(Consultant).where(
            Consultant.id == proposal.consultant_id).values(meetings_per_day=1))
    _, meetings = await rows(api, "ch2")  # as the page reads it: with its consultant now
    await _the_day_is_refused(api, active(meetings), own, other)
    _, meetings = await rows(api, "ch2")
    assert active(meetings).status == "proposed"


async def test_a_time_busy_in_the_consultants_calendar_since_is_no_longer_offered(
        clocked: tuple[Api, SettableClock]) -> None:
    """Busy time imported from the consultant's calendar after the plan: the time it covers
    (travel included) is no longer offered, and choosing it is "taken" — before, the
    confirmation stood and the conflict scan listed it afterwards as a meeting to move. The
    meeting's own event (fasthold's, back from the calendar by its UID) does not count."""
    api, _ = clocked
    proposal, own, other = await _proposal_with_another_day(api, "ch4")
    uid = api.client.app[NOTIFIER].calendar_uid(proposal)
    async with api.client.app[DB].write() as session:
        session.add_all([
            CalendarEntry(municipality_id=proposal.municipality_id,
                          consultant_id=proposal.consultant_id, start=own.start, end=own.end,
                          title="Opfølgningsmøde", source="ics", uid=uid),
            # ends where the other time begins: its travel there is what it covers
            CalendarEntry(municipality_id=proposal.municipality_id,
                          consultant_id=proposal.consultant_id,
                          start=other.start - timedelta(hours=1), end=other.start,
                          title="Teammøde", source="ics", uid="outlook-1")])
    answers = api.client.app[ANSWERS]
    offered = [s.key for s in await answers.free_slots(proposal)]
    assert own.key in offered
    assert proposal.kind == "workplace_meeting" and other.travel_minutes > 0
    assert other.key not in offered
    assert await answers.confirm(proposal.id, other.key) == "taken"
    async with api.client.app[DB].write() as session:  # over the time itself
        session.add(CalendarEntry(municipality_id=proposal.municipality_id,
                                  consultant_id=proposal.consultant_id, start=other.start,
                                  end=other.end, title="Kursus", source="ics", uid=None))
    assert other.key not in [s.key for s in await answers.free_slots(proposal)]
    assert await answers.confirm(proposal.id, other.key) == "taken"
    assert await answers.confirm(proposal.id, own.key) == "confirmed"
