"""Issue 19 items 2 and 3: the citizen's private talk in the service, and the citizen told at
first contact (over SMTP, on SQLite)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from service.keys import CALENDAR_FEEDS, CONFIG, DB, JOBS, MEETING_CONFLICTS, NOTIFIER
from service.meetings.availability import BOOKED, OUTSIDE_HOURS, Availability
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_HELD, TALK_PLANNED
from service.platform.auth import Principal
from service.platform.db.models import (
    Case,
    Consultant,
    ConsultantAbsence,
    ConsultantTask,
    Meeting,
    OutboxMessage,
)
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake, invitation
from tests.support import Api, SmtpSink, local_now, start_staff, text_part

FIRST_CONTACT = "Din fastholdelseskonsulent"


async def _rows(api: Api, ref: str) -> tuple[Case, list[Meeting]]:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        meetings = list((await session.execute(select(Meeting).where(
            Meeting.case_id == case.id).order_by(Meeting.id))).unique().scalars())
    return case, meetings


def _talks(meetings: list[Meeting], status: str = TALK_PLANNED) -> list[Meeting]:
    return [m for m in meetings if m.kind == PRIVATE_TALK and m.status == status]


def _workplace(meetings: list[Meeting]) -> Meeting:
    (meeting,) = [m for m in meetings if m.kind == "workplace_meeting"
                  and m.status in ("proposed", "confirmed")]
    return meeting


def _talk_link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/samtale/[A-Za-z0-9_.\-]+)", text_part(message))
    assert match, "no private-talk link in the citizen's message"
    return match.group(1)


async def _post(api: Api, path: str, data: dict[str, Any]) -> Any:
    return await api.client.post(path, data=data, allow_redirects=False)


async def talk_begun(api: Api, talk_id: int) -> None:
    """Its time has come: the talk `talk_id` moved to end now (what happened is registered
    once a talk has begun)."""
    async with api.client.app[DB].write() as session:
        row = await session.get(Meeting, talk_id)
        assert row is not None
        length = row.end - row.start
        row.start = local_now().replace(tzinfo=None, second=0, microsecond=0) - length
        row.end = row.start + length


async def test_the_wish_plans_a_talk_before_the_meeting_and_the_employer_never_hears(
        mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("TALK-1", citizen_wants_private_talk=True))
    case, meetings = await _rows(mail, "TALK-1")
    assert case.private_talk_first is True
    (talk,) = _talks(meetings)
    meeting = _workplace(meetings)
    assert talk.consultant_id == case.owner_id == meeting.consultant_id
    assert talk.start.date() < meeting.start.date()
    assert (talk.end - talk.start).total_seconds() == 30 * 60
    assert talk.travel_minutes == 0

    # Moving a meeting by hand treats the planned talk as busy time (no travel), though it
    # does not count towards the consultant's meetings that day (planning rule 10).
    async with mail.client.app[DB].read() as session:
        owner = await session.get(Consultant, talk.consultant_id)
        assert owner is not None
        day = talk.start.date()
        free = await Availability.load(session, mail.client.app[CONFIG], owner, day, day)
    assert free.why_not(talk.start, talk.end, 0, "jobcenter_meeting") == BOOKED
    assert free.why_not(talk.end, talk.end + timedelta(minutes=45), 0,
                        "jobcenter_meeting") in (None, OUTSIDE_HOURS, BOOKED)
    assert free.per_day[day] == sum(1 for m in meetings if m.kind != PRIVATE_TALK
                                    and m.status in ("proposed", "confirmed")
                                    and m.consultant_id == owner.id
                                    and m.start.date() == day)

    # The citizen: the first message (the right, the wish already noted) and the talk's time.
    first = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                      and FIRST_CONTACT in str(m["Subject"])))[0]
    text = text_part(first)
    assert "ret til at tale med" in text and "alene, før mødet på arbejdspladsen" in text
    assert "allerede sagt" in text
    assert "Telefon:" in text and "E-mail:" in text
    told = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "Din samtale med" in str(m["Subject"])))[0]
    assert f"{talk.start.hour:02d}.{talk.start.minute:02d}" in text_part(told)
    assert "arbejdsgiver får ikke at vide" in text_part(told)

    # The employer: invited to the workplace meeting, and no word of the talk anywhere.
    await invitation(smtp_sink)
    for message in smtp_sink.to(EMPLOYER):
        whole = (str(message["Subject"]) + text_part(message)).lower()
        for word in ("uden arbejdsgiver", "fortrolig", "alene", "private", "samtale med din",
                     f"{talk.start.hour:02d}.{talk.start.minute:02d}"):
            assert word not in whole, word
        assert "private-talk" not in message.as_string()

    # The week (its own label) and the consultant's calendar feed (its own UID).
    owner_key = case.owner.key
    async for staff in start_staff(mail):
        manager = await staff.login("manager")
        monday = talk.start.date().isocalendar()
        _, page = await manager.get(f"/week?konsulent={owner_key}&uge={monday[0]}-W"
                                    f"{monday[1]:02d}")
        assert "Samtale uden arbejdsgiver" in page and 'class="block talk talk_planned"' in page
        _, mine = await manager.get(f"/my-cases?konsulent={owner_key}")
        assert "Samtale uden arbejdsgiver" in mine
        _, case_page = await manager.get("/my-cases/TALK-1")
        assert 'id="private-talk"' in case_page
    principal = Principal(0, "t", "consultant", case.municipality_id, owner_key)
    token = await mail.client.app[CALENDAR_FEEDS].create(principal)
    feed = (await mail.client.app[CALENDAR_FEEDS].ics(token)).decode()
    assert f"UID:private-talk-{case.id}@" in feed
    assert "Samtale uden arbejdsgiver" in feed and f"UID:first-meeting-{case.id}@" in feed

    # "Not wanted after all": the wish cleared, the talk cancelled, planning runs again.
    resp = await mail.client.post("/api/cases/TALK-1/private-talk",
                                  json={"outcome": "not_wanted"}, headers=mail.auth("manager"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    case, meetings = await _rows(mail, "TALK-1")
    assert case.private_talk_first is False
    assert not _talks(meetings) and _talks(meetings, TALK_CANCELLED)
    assert _workplace(meetings).status in ("proposed", "confirmed")
    # Registering a talk the case does not have is a clear 409.
    resp = await mail.client.post("/api/cases/TALK-1/private-talk",
                                  json={"outcome": "held"}, headers=mail.auth("manager"))
    assert resp.status == 409
    resp = await mail.client.post("/api/cases/TALK-1/private-talk",
                                  json={"outcome": "maybe"}, headers=mail.auth("manager"))
    assert resp.status == 422 and "outcome" in await resp.text()


async def test_first_contact_link_sets_the_wish_and_replans(mail: Api,
                                                            smtp_sink: SmtpSink) -> None:
    await intake(mail, body("TALK-2"))
    case, meetings = await _rows(mail, "TALK-2")
    assert not _talks(meetings) and case.owner_id is not None
    first = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                      and FIRST_CONTACT in str(m["Subject"])))[0]
    text = text_part(first)
    assert case.owner.name in text and "ret til at tale med" in text
    assert "Jeg vil gerne tale med min konsulent først" in text
    for word in ("diagnos", "mental", "psykisk", "010190"):
        assert word not in text.lower()
    path = _talk_link(first)

    # The link opens the page without login; the employer link's token does not open it.
    page = await (await mail.client.get(path)).text()
    assert "Jeg vil gerne tale med min konsulent først" in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf
    employer_path = re.search(r"(/m/[A-Za-z0-9_.\-]+)", text_part(await invitation(smtp_sink)))
    assert employer_path
    forged = "/samtale/" + employer_path.group(1).removeprefix("/m/")
    assert (await mail.client.get(forged)).status == 403
    assert (await _post(mail, path, {"csrf": "0" * 64})).status == 403

    resp = await _post(mail, path, {"csrf": csrf.group(1)})
    assert resp.status == 303 and "besked=oensket" in resp.headers["Location"]
    await mail.client.app[JOBS].wait_idle()
    case, meetings = await _rows(mail, "TALK-2")
    assert case.private_talk_first is True and case.facts["citizen_wants_private_talk"]
    (talk,) = _talks(meetings)
    assert talk.start.date() < _workplace(meetings).start.date()
    again = await _post(mail, path, {"csrf": csrf.group(1)})
    assert "besked=allerede" in again.headers["Location"]

    # Not before its time: what happened is registered once it has begun.
    resp = await mail.client.post("/api/cases/TALK-2/private-talk",
                                  json={"outcome": "held"}, headers=mail.auth("manager"))
    assert resp.status == 409 and (await resp.json())["code"] == "meeting_not_begun"
    await talk_begun(mail, talk.id)
    # Held: it counts as kept — later runs leave it, the meeting stays after it.
    resp = await mail.client.post("/api/cases/TALK-2/private-talk",
                                  json={"outcome": "held"}, headers=mail.auth("manager"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    _, meetings = await _rows(mail, "TALK-2")
    (held,) = _talks(meetings, TALK_HELD)
    assert held.id == talk.id and not _talks(meetings)
    assert _workplace(meetings).start.date() > held.start.date()

    # The first message was sent once for this owner.
    async with mail.client.app[DB].read() as session:
        kinds = list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.case_id == case.id))).scalars())
    assert kinds.count("citizen_first_contact") == 1


async def test_without_email_the_first_contact_is_a_letter(mail: Api) -> None:
    data = body("TALK-3")
    data["citizen"] = {"name": "Mads Madsen"}
    await intake(mail, data)
    async with mail.client.app[DB].read() as session:
        letters = list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == "citizen_first_contact"))).scalars())
    assert [m.channel for m in letters] == ["letter"]
    # On paper: the short address to type (`/samtale/k/…`), naming the case.
    assert "/samtale/k/" in letters[0].body_text
    assert mail.client.app[NOTIFIER].talk_links.short_id(
        letters[0].body_text.split("/samtale/k/")[1].split()[0]) == letters[0].case_id


async def test_a_talk_its_consultant_can_no_longer_hold_is_cancelled_and_the_citizen_told(
        mail: Api, smtp_sink: SmtpSink) -> None:
    """The consultant falls ill on the talk's day: the scan before planning cancels the talk
    (before, it stayed planned with nobody to hold it), the citizen is told it will not be
    held as planned, and — the workplace meeting already proposed, which the planner keeps
    and adds no talk to — the owner gets the task of agreeing a new time. A second scan
    changes nothing."""
    await intake(mail, body("TALK-9", citizen_wants_private_talk=True))
    case, meetings = await _rows(mail, "TALK-9")
    (talk,) = _talks(meetings)
    async with mail.client.app[DB].write() as session:
        session.add(ConsultantAbsence(
            municipality_id=case.municipality_id, consultant_id=talk.consultant_id,
            first_day=talk.start.date(), last_day=talk.start.date(), reason="sygdom",
            created_at=talk.created_at))
    conflicts = mail.client.app[MEETING_CONFLICTS]
    assert (await conflicts.scan()).talks_cancelled == ["TALK-9"]
    assert (await conflicts.scan()).talks_cancelled == []
    _, meetings = await _rows(mail, "TALK-9")
    assert [m.id for m in _talks(meetings, TALK_CANCELLED)] == [talk.id]
    told = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "er aflyst" in str(m["Subject"])))[0]
    assert "er forhindret" in text_part(told)
    async with mail.client.app[DB].read() as session:
        tasks = list((await session.execute(select(ConsultantTask.kind).where(
            ConsultantTask.case_id == case.id, ConsultantTask.done_at.is_(None)))).scalars())
    assert "talk_to_agree" in tasks
