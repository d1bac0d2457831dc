"""When time disappears (issue 18 item 4) and proposals left unanswered past their time (item
9): busy time over a consultant's proposals moves them (the employer told, a new invitation,
the case's UID kept); a confirmed meeting the consultant can no longer hold is listed in
"Møder der skal flyttes" with a colleague free then, and one click moves meeting and case to
them — the employer's calendar updated (same UID, higher SEQUENCE, the new consultant named),
both consultants told in Slack. Real SMTP (aiosmtpd), the real app on SQLite, the virtual
clock where time must pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import (
    CalendarEntry,
    Case,
    Consultant,
    ConsultantAbsence,
    Meeting,
    OutboxMessage,
)
from service.text.danish import danish_date
from tests.meetings.conftest import INTAKE_CHANNEL, sqlite_mail_secrets
from tests.meetings.email_cases import (
    EMPLOYER,
    body,
    calendar_of,
    event_of,
    intake,
    invitation,
    meeting_of,
)
from tests.support import (
    Api,
    SmtpSink,
    mail_config,
    start_api,
    wait_until_mail_delivered,
)


async def plan(api: Api) -> None:
    resp = await api.client.post("/api/planning/run", headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def consultant_of(api: Api, meeting: dict[str, Any]) -> Consultant:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Consultant).where(
            Consultant.key == meeting["consultant_id"]))).scalar_one()


async def add_row(api: Api, row: Any) -> None:
    async with api.client.app[DB].write() as session:
        session.add(row)


def absence(consultant: Consultant, first: date, last: date) -> ConsultantAbsence:
    return ConsultantAbsence(municipality_id=consultant.municipality_id,
                             consultant_id=consultant.id, first_day=first, last_day=last,
                             reason="sygdom", created_at=datetime.now(UTC))


def busy(consultant: Consultant, start: datetime, end: datetime) -> CalendarEntry:
    return CalendarEntry(municipality_id=consultant.municipality_id,
                         consultant_id=consultant.id, start=start, end=end, title="Kursus",
                         source="ics", uid="kursus-1@outlook.example")


async def slack_kinds(api: Api) -> list[tuple[str, str]]:
    async with api.client.app[DB].read() as session:
        return [(r.kind, r.recipient) for r in (await session.execute(
            select(OutboxMessage).where(OutboxMessage.channel == "slack")
            .order_by(OutboxMessage.id))).scalars()]


async def confirmed_case(api: Api, ref: str) -> dict[str, Any]:
    """A new case whose first proposal intake confirms (by phone): the meeting as proposed."""
    await intake(api, body(ref))
    proposal = await meeting_of(api, ref)
    resp = await api.client.post(f"/api/cases/{ref}/meeting/confirm",
                                 json={"start": proposal["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    return proposal


def _start(meeting: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meeting["start"])


async def test_busy_time_over_a_proposal_moves_it_and_tells_the_employer(
        mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("p1"))
    first = await meeting_of(mail, "p1")
    await invitation(smtp_sink)
    owner = await consultant_of(mail, first)
    start = _start(first)
    # An imported course over the proposed time (and the rest of that day).
    await add_row(mail, busy(owner, start.replace(hour=0, minute=0),
                             start.replace(hour=23, minute=59)))
    await plan(mail)
    moved = await meeting_of(mail, "p1")
    assert moved["status"] == "proposed"
    assert _start(moved).date() != start.date() or moved["consultant_id"] != owner.key
    # The employer is told the old proposal no longer holds, then gets the new one.
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                             and str(m["Subject"]).startswith("Flyttet"))
    await invitation(smtp_sink, count=2)
    # The next run leaves the new proposal alone (the busy time is behind it now).
    await plan(mail)
    assert (await meeting_of(mail, "p1"))["start"] == moved["start"]


async def test_absence_over_a_confirmed_meeting_lists_it_and_a_colleague_takes_it(
        mail: Api, smtp_sink: SmtpSink) -> None:
    proposal = await confirmed_case(mail, "c1")
    confirmation = (await smtp_sink.wait_for(
        lambda m: m["To"] == EMPLOYER and "Bekræftet" in str(m["Subject"])))[0]
    confirmed_event = event_of(calendar_of(confirmation))
    owner = await consultant_of(mail, proposal)
    day = _start(proposal).date()
    await add_row(mail, absence(owner, day, day))
    await plan(mail)

    # Not dropped: still confirmed with its consultant, and listed with a colleague.
    assert (await meeting_of(mail, "c1"))["status"] == "confirmed"
    listed = await mail.client.get("/api/meetings/to-move", headers=mail.auth("manager"))
    assert listed.status == 200, await listed.text()
    rows = (await listed.json())["meetings"]
    assert [r["case_id"] for r in rows] == ["c1"]
    row = rows[0]
    assert row["reason"] == "fraværende" and row["substitute_id"] not in (None, owner.key)
    # The consultant and the intake channel are told in Slack (once, however many runs).
    await plan(mail)
    kinds = await slack_kinds(mail)
    assert kinds.count(("meeting_conflict", owner.slack_user_id)) == 1
    assert kinds.count(("meeting_to_move", INTAKE_CHANNEL)) == 1
    # A consultant may not resolve it; the owner role decides, not the link.
    refused = await mail.client.post("/api/cases/c1/meeting/accept-substitute",
                                     headers=mail.auth("consultant"))
    assert refused.status == 403

    # One click: meeting and case go to the colleague.
    resp = await mail.client.post("/api/cases/c1/meeting/accept-substitute",
                                  headers=mail.auth("manager"))
    assert resp.status == 200, await resp.text()
    case = await resp.json()
    assert case["owner"]["consultant_id"] == row["substitute_id"]
    assert case["meeting"]["status"] == "confirmed"
    assert case["meeting"]["start"] == proposal["start"]
    assert case["meeting"]["consultant_id"] == row["substitute_id"]
    # The employer's calendar: the same event (UID), a higher SEQUENCE, the new organiser.
    update = (await smtp_sink.wait_for(
        lambda m: m["To"] == EMPLOYER and "Bekræftet" in str(m["Subject"]), count=2))[1]
    event = event_of(calendar_of(update))
    assert str(event["UID"]) == str(confirmed_event["UID"])
    assert int(event["SEQUENCE"]) > int(confirmed_event["SEQUENCE"])
    assert row["substitute"] in str(event["ORGANIZER"].params.get("CN"))
    # Resolved: it leaves the list; the new owner heard of the case in Slack.
    after = await (await mail.client.get("/api/meetings/to-move",
                                         headers=mail.auth("intake"))).json()
    assert after["meetings"] == []
    async with mail.client.app[DB].read() as session:
        new_owner = (await session.execute(select(Consultant).where(
            Consultant.key == row["substitute_id"]))).scalar_one()
    assert ("case_assigned", new_owner.slack_user_id) in await slack_kinds(mail)
    await wait_until_mail_delivered(mail)


async def test_a_confirmed_meeting_on_a_day_the_jobcentre_closed_is_listed_to_move(
        mail: Api, demo_config: MunicipalityConfig) -> None:
    """A meeting agreed before the day became closed (a new `closed_dates`, or the yearly
    days off after an upgrade) is listed to move — nobody can hold it, so no colleague is
    suggested — and the consultant and intake are told why."""
    await confirmed_case(mail, "x1")
    today = datetime.now(UTC).date()
    closed = min(d for d in demo_config.planning.closed()
                 if d > today + timedelta(days=1) and d.weekday() < 5)
    async with mail.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == "x1", Meeting.status == "confirmed"))).unique().scalar_one()
        length = meeting.end - meeting.start
        meeting.start = datetime.combine(closed, meeting.start.time())
        meeting.end = meeting.start + length
    await plan(mail)
    rows = (await (await mail.client.get("/api/meetings/to-move",
                                         headers=mail.auth("manager"))).json())["meetings"]
    assert [(r["case_id"], r["reason"], r["substitute_id"]) for r in rows] == \
        [("x1", "jobcentret har lukket den dag", None)]
    async with mail.client.app[DB].read() as session:
        notes = [str(m.payload) + m.body_text for m in (await session.execute(
            select(OutboxMessage).where(OutboxMessage.kind.in_(
                ("meeting_conflict", "meeting_to_move"))))).scalars()]
    assert len(notes) == 2 and all("Jobcentret har lukket den dag" in n for n in notes)


async def test_a_conflict_whose_cause_went_away_leaves_the_list(mail: Api) -> None:
    await intake(mail, body("c2"))
    proposal = await meeting_of(mail, "c2")
    await mail.client.post("/api/cases/c2/meeting/confirm", json={"start": proposal["start"]},
                           headers=mail.auth("intake"))
    owner = await consultant_of(mail, proposal)
    day = _start(proposal).date()
    await add_row(mail, absence(owner, day - timedelta(days=1), day))
    await plan(mail)
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    assert [r["case_id"] for r in listed["meetings"]] == ["c2"]
    async with mail.client.app[DB].write() as session:
        row = (await session.execute(select(ConsultantAbsence))).scalar_one()
        row.deleted_at = datetime.now(UTC)
    await plan(mail)
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    assert listed["meetings"] == []


async def test_ask_the_employer_for_new_times_replans_the_meeting(
        mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("c3"))
    proposal = await meeting_of(mail, "c3")
    await mail.client.post("/api/cases/c3/meeting/confirm", json={"start": proposal["start"]},
                           headers=mail.auth("intake"))
    owner = await consultant_of(mail, proposal)
    start = _start(proposal)
    await add_row(mail, busy(owner, start - timedelta(hours=3), start + timedelta(hours=3)))
    await plan(mail)
    resp = await mail.client.post("/api/cases/c3/meeting/ask-new-times",
                                  headers=mail.auth("intake"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    again = await meeting_of(mail, "c3")
    assert again["status"] == "proposed" and again["start"] != proposal["start"]
    cancelled = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                         and str(m["Subject"]).startswith("Aflyst"))
    assert str(calendar_of(cancelled[0])["METHOD"]) == "CANCEL"


async def test_a_long_absence_offers_to_hand_the_cases_over(mail: Api) -> None:
    await intake(mail, body("h1"))
    meeting = await meeting_of(mail, "h1")
    owner = await consultant_of(mail, meeting)
    today = datetime.now(UTC).date()
    await add_row(mail, absence(owner, today + timedelta(days=1), today + timedelta(days=28)))
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    [away] = listed["long_absences"]
    assert away["consultant_id"] == owner.key and away["working_days"] >= 10
    [case] = away["cases"]
    assert case["case_id"] == "h1" and case["suggested_id"] not in (None, owner.key)
    assert case["reasons"]
    resp = await mail.client.post("/api/cases/h1/hand-over",
                                  json={"consultant_id": case["suggested_id"]},
                                  headers=mail.auth("manager"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["owner"]["consultant_id"] == case["suggested_id"]
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    assert listed["long_absences"][0]["cases"] == []


async def test_a_meeting_confirmed_before_the_absence_keeps_the_case_with_its_consultant(
        mail: Api) -> None:
    """The deadline falls in the absence, but the meeting is confirmed before it: nothing to
    hand over (the simulation handed such a case away and withdrew its meeting of the day)."""
    meeting = await confirmed_case(mail, "h3")
    owner = await consultant_of(mail, meeting)
    day = date.fromisoformat(meeting["start"][:10])
    case = await (await mail.client.get("/api/cases/h3", headers=mail.auth("intake"))).json()
    deadline = date.fromisoformat(case["decision"]["first_meeting_deadline"])
    await add_row(mail, absence(owner, day + timedelta(days=1), deadline + timedelta(days=7)))
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    [away] = [a for a in listed["long_absences"] if a["consultant_id"] == owner.key]
    [listed_case] = away["cases"]
    assert listed_case["deadline_in_absence"] is True
    assert listed_case["meeting_before_absence"] == day.isoformat()
    assert listed_case["needs_hand_over"] is False


async def test_a_hand_over_is_never_suggested_to_a_colleague_away_on_the_deadline(
        mail: Api) -> None:
    """Two consultants on holiday at once: each one's case was suggested to the other, and
    handed back and forth every day (found by the simulation's summer holidays)."""
    await intake(mail, body("h2"))
    owner = await consultant_of(mail, await meeting_of(mail, "h2"))
    today = datetime.now(UTC).date()
    await add_row(mail, absence(owner, today + timedelta(days=1), today + timedelta(days=90)))

    async def listed_case() -> dict[str, Any]:
        listed = await (await mail.client.get("/api/meetings/to-move",
                                              headers=mail.auth("intake"))).json()
        [away] = [a for a in listed["long_absences"] if a["consultant_id"] == owner.key]
        [case] = away["cases"]
        return dict(case)

    first = await listed_case()
    assert first["deadline_kind"] == "first_meeting" and first["deadline_in_absence"]
    assert "ikke fraværende ved fristen" in first["reasons"]
    deadline = date.fromisoformat(first["deadline"])
    async with mail.client.app[DB].read() as session:
        colleague = (await session.execute(select(Consultant).where(
            Consultant.key == first["suggested_id"]))).scalar_one()
    await add_row(mail, absence(colleague, deadline, deadline))  # one day: the deadline
    second = await listed_case()
    assert second["suggested_id"] not in (None, owner.key, colleague.key)


# -- a proposal whose time passed unanswered ------------------------------------------------

@pytest.fixture
async def clocked(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink
                  ) -> AsyncIterator[tuple[Api, SettableClock]]:
    clock = SettableClock(datetime.now(UTC), demo_config.municipality.timezone)
    async for api in start_api(mail_config(demo_config),
                               sqlite_mail_secrets(sqlite_url, smtp_sink.port),
                               clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api, clock


async def test_a_proposal_past_its_time_unanswered_is_replanned(
        clocked: tuple[Api, SettableClock], smtp_sink: SmtpSink) -> None:
    api, clock = clocked
    await intake(api, body("u1"))
    first = await meeting_of(api, "u1")
    await invitation(smtp_sink)
    # The proposed time passes without an answer.
    clock.set(_start(first).replace(tzinfo=clock.tz) + timedelta(hours=2))
    await plan(api)
    current = await meeting_of(api, "u1")
    assert current is not None and current["status"] == "proposed"
    assert _start(current) > _start(first)
    async with api.client.app[DB].read() as session:
        old = (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == "u1", Meeting.status == "cancelled"))).unique().scalar_one()
    assert old.cancel_reason == "tiden er passeret uden svar"
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                             and str(m["Subject"]).startswith("Flyttet"))
    await invitation(smtp_sink, count=2)


async def test_an_absence_registered_over_proposals_and_a_confirmed_meeting(
        mail: Api, smtp_sink: SmtpSink) -> None:
    """Issue 18's acceptance as a manager lives it: an absence registered in the app (the
    API the admin page and the week page post to) over a consultant's sent proposal and over
    another's confirmed meeting. The proposal moves off the absent day (the employer told and
    invited anew), the confirmed meeting is listed in "Møder der skal flyttes" and goes to a
    colleague with one click, the employer's calendar updated under the same UID."""
    await intake(mail, body("a-prop"))
    proposed = await meeting_of(mail, "a-prop")
    await invitation(smtp_sink)
    confirmed = await confirmed_case(mail, "a-conf")
    confirmation = (await smtp_sink.wait_for(
        lambda m: m["To"] == EMPLOYER and "Bekræftet" in str(m["Subject"])))[0]
    uid = str(event_of(calendar_of(confirmation))["UID"])

    for meeting in (proposed, confirmed):
        day = _start(meeting).date().isoformat()
        resp = await mail.client.post(
            f"/api/consultants/{meeting['consultant_id']}/absences",
            json={"from": day, "to": day, "reason": "kursus", "note": "Kursus i Aarhus"},
            headers=mail.auth("manager"))
        assert resp.status == 201, await resp.text()
    await plan(mail)

    moved = await meeting_of(mail, "a-prop")
    assert moved["status"] == "proposed"
    assert _start(moved).date() != _start(proposed).date() or \
        moved["consultant_id"] != proposed["consultant_id"]
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                             and "flyttet" in str(m["Subject"]).lower())
    # Invitations: a-prop's, a-conf's, then a-prop's new time.
    new = await invitation(smtp_sink, count=3)
    assert danish_date(_start(moved).date()) in new.get_body(("plain",)).get_content()

    assert (await meeting_of(mail, "a-conf"))["status"] == "confirmed"
    listed = await (await mail.client.get("/api/meetings/to-move",
                                          headers=mail.auth("intake"))).json()
    assert [r["case_id"] for r in listed["meetings"]] == ["a-conf"]
    colleague = listed["meetings"][0]["substitute_id"]
    assert colleague not in (None, confirmed["consultant_id"])
    resp = await mail.client.post("/api/cases/a-conf/meeting/accept-substitute",
                                  headers=mail.auth("intake"))
    assert resp.status == 200, await resp.text()
    update = (await smtp_sink.wait_for(
        lambda m: m["To"] == EMPLOYER and "Bekræftet" in str(m["Subject"]), count=2))[1]
    event = event_of(calendar_of(update))
    assert str(event["UID"]) == uid
    assert (await meeting_of(mail, "a-conf"))["consultant_id"] == colleague
    await wait_until_mail_delivered(mail)
