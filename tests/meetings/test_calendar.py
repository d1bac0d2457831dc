"""The employer's calendar stays right through every change (RFC 5545/5546; notes in
/work/shared/notes/calendar.md): one UID per case's first meeting for its whole life, a
SEQUENCE that starts at 0 and rises with every change the employer should see, an updated
METHOD:REQUEST when the meeting gets a new time and a METHOD:CANCEL when it is cancelled —
attached to the mail that announces it. Real SMTP (aiosmtpd), the real app, SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.keys import DB, JOBS, NOTIFIER
from service.platform.db.models import Case, Meeting
from tests.meetings.email_cases import (
    CITIZEN,
    EMPLOYER,
    body,
    calendar_of,
    calendar_parts,
    case_row_id,
    event_of,
    form_token,
    intake,
    invitation,
    meeting_of,
    parse_calendar,
    planning_held,
)
from tests.support import (
    Api,
    SmtpSink,
    link_path,
    text_part,
    today_local,
    wait_until_mail_delivered,
)

ADDRESS = "Fabriksvej 3, 7451 Sunds"


def to_employer(subject_start: str) -> Any:
    return lambda m: m["To"] == EMPLOYER and str(m["Subject"]).startswith(subject_start)


def uid_of(api: Api, case_id: int) -> str:
    return f"first-meeting-{case_id}@{api.client.app[NOTIFIER].outbox.domain}"


def ical_time(key: str) -> str:
    """'2026-12-03T09:00' -> '20261203T090000' (as DTSTART;TZID=… writes it)."""
    return key.replace("-", "").replace(":", "") + "00"


def assert_event(calendar: Any, *, method: str, uid: str, sequence: int, start: str) -> Any:
    assert str(calendar["METHOD"]) == method
    event = event_of(calendar)
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == sequence, (event["SEQUENCE"], sequence)
    assert event["DTSTART"].params["TZID"] == "Europe/Copenhagen"
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime.fromisoformat(start)
    assert "DTSTAMP" in event
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert str(event["ATTENDEE"]) == f"mailto:{EMPLOYER}"
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    assert calendar.walk("VTIMEZONE"), "times come with their VTIMEZONE"
    return event


async def confirm_on_page(api: Api, path: str, avoid: str | None = None) -> str:
    """Confirm the first time offered on the page (other than `avoid`); returns its key."""
    page = await (await api.client.get(path)).text()
    slot = next(s for s in re.findall(r'name="slot" value="([^"]+)"', page) if s != avoid)
    resp = await api.client.post(f"{path}/confirm", data={
        "csrf": await form_token(api, path), "slot": slot}, allow_redirects=False)
    assert resp.headers["Location"].endswith("besked=bekraeftet"), resp.headers["Location"]
    return slot


# -- a confirmed meeting moved by the employer, confirmed again, then cancelled ---------------

async def test_one_uid_through_move_reconfirm_and_cancel(
        mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    api = mail_api
    await intake(api, body("u1"))
    uid = uid_of(api, await case_row_id(api, "u1"))
    first_path = link_path(await invitation(smtp_sink))
    first = await confirm_on_page(api, first_path)
    mail = (await smtp_sink.wait_for(to_employer("Bekræftet")))[0]
    assert_event(calendar_of(mail), method="REQUEST", uid=uid, sequence=0, start=first)

    # The employer moves the confirmed meeting: it leaves their calendar (CANCEL) at once.
    async with planning_held(api, monkeypatch):
        resp = await api.client.post(f"{first_path}/other-times", data={
            "csrf": await form_token(api, first_path), "weekday": ["tue", "thu"]},
            allow_redirects=False)
        assert resp.status == 303
        page = await (await api.client.get(first_path)).text()
        assert "modtaget jeres ønsker" in page
        moved = (await smtp_sink.wait_for(to_employer("Aflyst")))[0]
    cancel = calendar_of(moved)
    assert_event(cancel, method="CANCEL", uid=uid, sequence=1, start=first)
    assert "I har bedt om andre tider" in text_part(moved)

    # The new proposal comes by a new mail; the old link now leads to it.
    second_path = link_path(await invitation(smtp_sink, count=2))
    await api.client.app[JOBS].wait_idle()
    old = await api.client.get(first_path)
    assert old.status == 200 and old.url.path == second_path, old.url
    page = await old.text()
    assert "Vælg et tidspunkt" in page and "er flyttet" in page
    assert "Vi finder et nyt tidspunkt" not in page

    # Confirmed again at the new time: the same event, updated (a higher SEQUENCE).
    second = await confirm_on_page(api, second_path, avoid=first)
    assert second != first
    mail = (await smtp_sink.wait_for(to_employer("Bekræftet"), count=2))[1]
    assert_event(calendar_of(mail), method="REQUEST", uid=uid, sequence=2, start=second)
    download = await api.client.get(f"{first_path}/moede.ics")  # the old link follows too
    assert download.status == 200
    assert_event(parse_calendar(await download.read()), method="REQUEST", uid=uid,
                 sequence=2, start=second)

    # The employer cancels it on the page (after saying yes, they are sure).
    csrf = await form_token(api, second_path)
    async with planning_held(api, monkeypatch):
        resp = await api.client.post(f"{second_path}/cancel", data={"csrf": csrf,
                                                                    "confirm": "ja"},
                                     allow_redirects=False)
        assert resp.status == 303
        cancelled = (await smtp_sink.wait_for(to_employer("Aflyst"), count=2))[1]
    assert_event(calendar_of(cancelled), method="CANCEL", uid=uid, sequence=3, start=second)


# -- an old link after a move -----------------------------------------------------------------

async def test_an_old_link_after_a_move_shows_the_current_meeting(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    api = mail_api
    await intake(api, body("l1"))
    old_path = link_path(await invitation(smtp_sink))
    resp = await api.client.post(f"{old_path}/other-times", data={
        "csrf": await form_token(api, old_path), "part": "afternoon"}, allow_redirects=False)
    assert resp.status == 303
    new_path = link_path(await invitation(smtp_sink, count=2))
    await api.client.app[JOBS].wait_idle()
    new = await meeting_of(api, "l1")
    old = await api.client.get(old_path, allow_redirects=False)
    assert old.status == 303 and old.headers["Location"] == f"{new_path}?besked=flyttet"
    assert old.headers["Cache-Control"] == "no-store"
    page = await (await api.client.get(old_path)).text()
    assert "Mødet er flyttet" in page and "Vælg et tidspunkt" in page
    assert f'value="{new["start"]}"' in page  # the new proposal, to choose from
    assert "Vi finder et nyt tidspunkt" not in page

    # An old link leads on only to the meeting of the same addressee: once the case's
    # contact is someone else, it shows what became of its own meeting, nothing newer.
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "l1"))
                ).unique().scalar_one()
        case.contact_email = "ny.leder@sundstrae.example"
    old = await api.client.get(old_path, allow_redirects=False)
    assert old.status == 200 and new["start"] not in await old.text()


# -- the cancellation: are you sure, then a mail that speaks to the employer -----------------

async def test_cancel_asks_first_then_mails_a_cancellation_to_the_employer(
        mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    api = mail_api
    await intake(api, body("k1"))
    path = link_path(await invitation(smtp_sink))
    slot = await confirm_on_page(api, path)
    await smtp_sink.wait_for(to_employer("Bekræftet"))
    csrf = await form_token(api, path)

    # The first press only asks; nothing changes and nothing is sent.
    ask = await api.client.post(f"{path}/cancel", data={"csrf": csrf}, allow_redirects=False)
    assert ask.status == 200
    page = await ask.text()
    assert "Er I sikre" in page and 'name="confirm" value="ja"' in page
    assert 'id="cancel-confirm"' in page and f'href="{path}"' in page  # yes / no, keep it
    assert (await meeting_of(api, "k1"))["status"] == "confirmed"
    await wait_until_mail_delivered(api)
    assert not [m for m in smtp_sink.messages if "Aflyst" in str(m["Subject"])]

    async with planning_held(api, monkeypatch):
        resp = await api.client.post(f"{path}/cancel", data={"csrf": csrf, "confirm": "ja"},
                                     allow_redirects=False)
        assert resp.status == 303
        assert await meeting_of(api, "k1") is None  # no meeting stands
        page = await (await api.client.get(path)).text()
        assert "Mødet er aflyst" in page
        mail = (await smtp_sink.wait_for(to_employer("Aflyst:")))[0]
    subject, text = str(mail["Subject"]), text_part(mail)
    assert "Ændret" not in subject and "Mads Madsen" in subject
    assert "I har aflyst" in text and "jeres kalender" in text
    assert "arbejdsgiveren" not in text.lower()  # to the employer, not about them
    assert_event(calendar_of(mail), method="CANCEL",
                 uid=uid_of(api, await case_row_id(api, "k1")), sequence=1, start=slot)
    citizen = await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN and "ændret"
                                       in str(m["Subject"]))
    assert "arbejdsgiveren har aflyst" in text_part(citizen[0])  # the citizen is told who


# -- planning moves a sent proposal; staff confirm; the follow-up changes -------------------

async def test_planning_move_keeps_the_uid_and_a_changed_follow_up_cancels(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    api = mail_api
    await intake(api, body("p1"))
    uid = uid_of(api, await case_row_id(api, "p1"))
    first_path = link_path(await invitation(smtp_sink))
    before = await meeting_of(api, "p1")
    other = next(c.id for c in api.client.app[NOTIFIER].config.consultants
                 if c.id not in (before["consultant_id"], "eva"))
    resp = await api.client.put("/api/cases/p1/owner", json={
        "consultant_id": other, "reason": "kender virksomheden"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()

    # The sent proposal was moved: the employer is told, by a mail without a calendar (the
    # proposal was never in their calendar), and gets the new proposal.
    moved = (await smtp_sink.wait_for(to_employer("Flyttet")))[0]
    assert not calendar_parts(moved)
    assert "Ændret" not in str(moved["Subject"])
    second_path = link_path(await invitation(smtp_sink, count=2))
    old = await api.client.get(first_path)
    assert old.url.path == second_path and "Vælg et tidspunkt" in await old.text()

    # Staff confirm the new time after a phone call: the first calendar message, SEQUENCE 0.
    after = await meeting_of(api, "p1")
    assert after["consultant_id"] == other
    resp = await api.client.post("/api/cases/p1/meeting/confirm",
                                 json={"start": after["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    mail = (await smtp_sink.wait_for(to_employer("Bekræftet")))[0]
    assert_event(calendar_of(mail), method="REQUEST", uid=uid, sequence=0,
                 start=after["start"])

    # The follow-up changes (a recovery plan): planning cancels the confirmed meeting.
    soon = (datetime.fromisoformat(after["start"]).date() + timedelta(days=7)).isoformat()
    resp = await api.client.patch("/api/cases/p1", json={"full_recovery_plan_date": soon},
                                  headers=api.auth("intake"))
    assert (await resp.json())["decision"]["follow_up"] == "telephone"
    await api.client.app[JOBS].wait_idle()
    cancelled = (await smtp_sink.wait_for(to_employer("Aflyst")))[0]
    assert_event(calendar_of(cancelled), method="CANCEL", uid=uid, sequence=1,
                 start=after["start"])
    assert "I skal ikke gøre mere" in text_part(cancelled)


async def test_declining_a_confirmed_meeting_takes_it_out_of_the_calendar(
        no_grace_api: Api, smtp_sink: SmtpSink) -> None:
    api = no_grace_api
    await intake(api, body("x1"))
    path = link_path(await invitation(smtp_sink))
    slot = await confirm_on_page(api, path)
    await smtp_sink.wait_for(to_employer("Bekræftet"))
    resp = await api.client.post(f"{path}/decline", data={
        "csrf": await form_token(api, path), "reason_choice": "no_rooms",
        "reason": "Ombygning"}, allow_redirects=False)
    assert resp.status == 303
    mail = (await smtp_sink.wait_for(to_employer("Aflyst")))[0]
    assert_event(calendar_of(mail), method="CANCEL",
                 uid=uid_of(api, await case_row_id(api, "x1")), sequence=1, start=slot)
    assert "i jobcentret" in text_part(mail)


async def test_closing_the_case_takes_the_confirmed_meeting_out_of_the_calendar(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    api = mail_api
    await intake(api, body("z1"))
    path = link_path(await invitation(smtp_sink))
    slot = await confirm_on_page(api, path)
    await smtp_sink.wait_for(to_employer("Bekræftet"))
    resp = await api.client.post("/api/cases/z1/close", json={
        "outcome": "recovered", "on": today_local().isoformat()}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    mail = (await smtp_sink.wait_for(to_employer("Aflyst")))[0]
    assert_event(calendar_of(mail), method="CANCEL",
                 uid=uid_of(api, await case_row_id(api, "z1")), sequence=1, start=slot)
    assert "I skal ikke gøre mere" in text_part(mail)


# -- the page's download --------------------------------------------------------------------

# Meetings in the weeks of the last Sunday of March and of October (DST changes): the wall-
# clock time stays 09:00, the offset from UTC changes with the date.
DST_WEEKS = [("2027-03-26T09:00", 1), ("2027-03-29T09:00", 2),
             ("2026-10-23T09:00", 2), ("2026-10-26T09:00", 1)]


async def test_download_names_people_place_and_time_zone(mail_api: Api,
                                                         smtp_sink: SmtpSink) -> None:
    api = mail_api
    await intake(api, body("i1"))
    path = link_path(await invitation(smtp_sink))
    await confirm_on_page(api, path)
    uid = uid_of(api, await case_row_id(api, "i1"))
    for start, hours in DST_WEEKS:
        async with api.client.app[DB].write() as session:
            meeting = (await session.execute(select(Meeting).where(
                Meeting.status == "confirmed"))).unique().scalar_one()
            length = meeting.end - meeting.start
            meeting.start = datetime.fromisoformat(start)
            meeting.end = meeting.start + length
            consultant_email = meeting.consultant.email
        resp = await api.client.get(f"{path}/moede.ics")
        assert resp.status == 200 and resp.content_type == "text/calendar"
        data = await resp.read()
        calendar = parse_calendar(data)
        event = assert_event(calendar, method="REQUEST", uid=uid, sequence=0, start=start)
        assert f"DTSTART;TZID=Europe/Copenhagen:{ical_time(start)}" in data.decode()
        assert str(event["ORGANIZER"]) == f"mailto:{consultant_email}"
        assert event["ATTENDEE"].params["CN"] == "Lone Berg"
        assert str(event["SUMMARY"]) == "Opfølgningsmøde på arbejdspladsen om Mads Madsen"
        assert "jobcenter" not in str(event["SUMMARY"]).lower()
        assert str(event["LOCATION"]) == ADDRESS
        # The file's own VTIMEZONE (what a calendar without a zone database uses) gives the
        # right offset on that date.
        zone = calendar.walk("VTIMEZONE")[0].to_tz()
        wall = datetime.fromisoformat(start)
        assert wall.replace(tzinfo=zone).utcoffset() == timedelta(hours=hours), start
        assert event.decoded("DTSTART").astimezone(UTC) == (wall - timedelta(hours=hours)
                                                            ).replace(tzinfo=UTC)


async def test_a_jobcentre_meeting_is_named_by_its_place(mail_api: Api) -> None:
    api = mail_api
    await intake(api, body("j1", citizen_declines_workplace_meeting=True))
    notifier = api.client.app[NOTIFIER]
    async with api.client.app[DB].read() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalar_one()
    assert meeting.kind == "jobcenter_meeting"
    event = event_of(parse_calendar(notifier.ics(meeting, 0, EMPLOYER)))
    assert str(event["SUMMARY"]) == "Opfølgningsmøde i jobcentret om Mads Madsen"
    jobcentre = notifier.config.jobcentre
    assert str(event["LOCATION"]) == f"{jobcentre.name}, {jobcentre.address}"
