"""A meeting at the jobcentre is settled by the citizen's letter: the citizen is summoned, and
nobody else answers (an employer answers only a workplace proposal). So it is confirmed when
the letter goes out, books the consultant's minutes, and stands: planning on the meeting's
own day — before it and after it, until the consultant registers how it went — keeps it.

(Before, it stayed an unanswered proposal, and the first planning run on its day moved it a
week on: the citizen got a cancellation and a new letter every week, and no jobcentre meeting
planned by fasthold was ever held in a simulated municipality.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from service.clock import SettableClock
from service.keys import DB, JOBS
from service.meetings.booking import summon
from service.platform.db.models import BookedMinute, ConsultantAbsence, Meeting, OutboxMessage
from service.text.errors import danish_error
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake
from tests.meetings.test_invitations import active, replan, rows
from tests.support import (
    Api,
    SmtpSink,
    start_staff,
    wait_until_mail_delivered,
)


async def _letters(api: Api) -> list[str]:
    """The kinds of message queued for the citizen, in order."""
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.recipient == CITIZEN).order_by(OutboxMessage.id))).scalars())


async def test_the_letter_confirms_the_meeting_and_it_stands_on_its_day(
        clocked: tuple[Api, SettableClock], smtp_sink: SmtpSink) -> None:
    api, clock = clocked
    await intake(api, body("js1", citizen_declines_workplace_meeting=True))
    case, meetings = await rows(api, "js1")
    meeting = active(meetings)
    assert meeting.kind == "jobcenter_meeting"
    assert meeting.status == "confirmed"
    assert meeting.confirmed_at is not None and meeting.invited_at is not None
    assert meeting.employer_answer is None  # nobody answered: the letter settled it
    # The consultant's minutes are booked as a confirmation books them (no travel).
    async with api.client.app[DB].read() as session:
        booked = (await session.execute(select(func.count()).where(
            BookedMinute.meeting_id == meeting.id,
            BookedMinute.consultant_id == meeting.consultant_id))).scalar_one()
    assert booked == int((meeting.end - meeting.start).total_seconds() // 60)
    told = await _letters(api)
    assert told.count("citizen_meeting") == 1
    await wait_until_mail_delivered(api)
    assert smtp_sink.to(EMPLOYER) == []  # the employer takes no part in it

    # Staff cannot "confirm" another time over it: it is moved (the citizen told), not
    # re-answered — the refusal says so, not that the employer changes it through a link.
    other = (meeting.start + timedelta(days=1)).isoformat(timespec="minutes")
    refused = await api.client.post("/api/cases/js1/meeting/confirm", json={"start": other},
                                    headers=api.auth("intake"))
    assert refused.status == 409
    assert (await refused.json())["code"] == "jobcentre_meeting_set"
    assert danish_error(None, "jobcentre_meeting_set", {
        "start": meeting.start.isoformat(timespec="minutes")}).startswith(
        "Mødet i jobcentret er allerede fastlagt til ")

    # The meeting's day: planning in the morning, and after the meeting (not yet registered).
    for hour in (6, 16):
        clock.set(meeting.start.replace(hour=hour, minute=30))
        await replan(api)
        _, now = await rows(api, "js1")
        assert [(m.id, m.status) for m in now] == [(meeting.id, "confirmed")], (
            f"at {hour}:30 the meeting was moved: {[(m.start, m.status) for m in now]}")
        assert await _letters(api) == told  # no cancellation, no new letter

    # The consultant registers it held: the case's first meeting, at the jobcentre.
    assert case.owner is not None  # the registration is its owner's work
    resp = await api.client.post("/api/cases/js1/meeting-outcome", json={
        "place": "jobcentre", "employer_took_part": False}, headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    _, now = await rows(api, "js1")
    assert [(m.id, m.status, m.place) for m in now] == [(meeting.id, "held", "jobcentre")]


async def test_a_time_taken_meanwhile_leaves_a_proposal_and_loses_nothing(
        clocked: tuple[Api, SettableClock]) -> None:
    """The minutes booked by another meeting since the plan was made: the meeting stays a
    proposal (planned anew by the next run, as any proposal), and the rest of the caller's
    transaction — here a change made before it — is kept."""
    api, clock = clocked
    await intake(api, body("js2", citizen_declines_workplace_meeting=True), body("js3"))
    _, meetings = await rows(api, "js2")
    taken = active(meetings)
    assert taken.status == "confirmed"
    other, others = await rows(api, "js3")
    before = active(others)
    async with api.client.app[DB].write() as session:
        old = (await session.execute(select(Meeting).where(Meeting.id == before.id))
               ).unique().scalar_one()
        old.status = "cancelled"  # a change before it, in the same transaction
        await session.flush()
        same_time = Meeting(
            municipality_id=taken.municipality_id, case_id=other.id,
            consultant_id=taken.consultant_id, kind="jobcenter_meeting", start=taken.start,
            end=taken.end, travel_minutes=0, on_time=True, status="proposed",
            alternatives=[])
        session.add(same_time)
        await session.flush()
        assert await summon(session, same_time, clock.utcnow()) is False
        assert same_time.status == "proposed" and same_time.confirmed_at is None
        same_id = same_time.id
    async with api.client.app[DB].read() as session:
        statuses = dict((await session.execute(select(Meeting.id, Meeting.status).where(
            Meeting.id.in_([before.id, same_id])))).all())
        booked = (await session.execute(select(func.count()).where(
            BookedMinute.meeting_id == same_id))).scalar_one()
    assert (statuses, booked) == ({before.id: "cancelled", same_id: "proposed"}, 0)


async def test_an_absence_over_it_lists_it_to_move_and_a_new_time_tells_the_citizen(
        mail: Api, smtp_sink: SmtpSink) -> None:
    """Confirmed by its letter, a jobcentre meeting its consultant can no longer hold is
    listed in "Møder der skal flyttes" like any confirmed meeting (not moved behind the
    citizen's back); asking for a new time plans it anew — no employer to ask: the citizen is
    told it is cancelled and gets the new time, the employer hears nothing."""
    await intake(mail, body("js4", citizen_declines_workplace_meeting=True))
    _, meetings = await rows(mail, "js4")
    first = active(meetings)
    assert (first.kind, first.status) == ("jobcenter_meeting", "confirmed")
    async with mail.client.app[DB].write() as session:
        session.add(ConsultantAbsence(
            municipality_id=first.municipality_id, consultant_id=first.consultant_id,
            first_day=first.start.date(), last_day=first.start.date(), reason="sygdom",
            created_at=datetime.now(UTC)))
    await replan(mail)
    _, meetings = await rows(mail, "js4")
    assert [(m.id, m.status) for m in meetings] == [(first.id, "confirmed")]
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("manager"))).json()
    assert [r["case_id"] for r in listed["meetings"]] == ["js4"]
    async for staff in start_staff(mail):
        browser = await staff.login("intake")
        response, page = await browser.get("/meetings/to-move")
        assert response.status == 200
        assert "Planlæg et nyt møde i jobcentret" in page
        assert "Bed arbejdsgiveren om nye tider</button>" not in page

    resp = await mail.client.post("/api/cases/js4/meeting/ask-new-times",
                                  headers=mail.auth("intake"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    _, meetings = await rows(mail, "js4")
    again = active(meetings)
    assert again.id != first.id and again.start.date() != first.start.date()
    assert again.status == "confirmed"  # the new letter settles the new time
    assert await _letters(mail) == ["citizen_first_contact", "citizen_meeting",
                                    "citizen_cancelled", "citizen_meeting"]
    await wait_until_mail_delivered(mail)
    assert smtp_sink.to(EMPLOYER) == []
