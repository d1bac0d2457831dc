"""The employer's answers through the link page over HTTP: planning → outbox → real SMTP
(aiosmtpd) → link page → confirm, other times, decline, cancel."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from service.keys import CONFIG, DB, JOBS
from service.platform.db.models import ConsultantTask, Meeting
from tests.meetings.email_cases import (
    CITIZEN,
    EMPLOYER,
    body,
    confirm_first_time,
    form_token,
    intake,
    invitation,
    meeting_of,
    planning_held,
)
from tests.support import (
    Api,
    SmtpSink,
    link_path,
    local_now,
    text_part,
    wait_until_mail_delivered,
)


async def test_invitation_mail_and_link_page(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("e1"))
    mail = await invitation(smtp_sink)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith(">")
    text = text_part(mail)
    assert "Mads Madsen" in str(mail["Subject"])
    for words in ("Kære Lone Berg", "på arbejdspladsen", "deltager selv", "60 minutter",
                  "Andre mulige tidspunkter", "/m/",
                  "Sådan behandler vi personoplysninger: https://demo.example/persondata"):
        assert words in text, words
    assert mail.get_body(preferencelist=("html",)) is not None
    assert 'href="https://demo.example/persondata"' in str(
        mail.get_body(preferencelist=("html",)).get_content())
    page = await mail_api.client.get(link_path(mail))
    assert page.status == 200
    html = await page.text()
    assert "Vælg et tidspunkt" in html and "Mads Madsen" in html
    assert html.count('name="slot"') == 3
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    # Nothing is loaded from elsewhere; the only links out are the municipality's own pages
    # (its privacy notice and accessibility statement).
    assert not re.search(r"src=\"https?://|<link[^>]+href=\"https?://", html), \
        "no third-party requests"
    jobcentre = mail_api.client.app[CONFIG].jobcentre
    assert set(re.findall(r"<a href=\"(https?://[^\"]+)\"", html)) == {
        jobcentre.privacy_url, jobcentre.accessibility_url}


async def test_confirm_books_sends_ics_and_informs_citizen(mail_api: Api,
                                                          smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("e2"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    second = re.findall(r'name="slot" value="([^"]+)"', page)[1]
    resp = await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": second},
                                      allow_redirects=False)
    assert resp.status == 303
    page = await (await mail_api.client.get(resp.headers["Location"])).text()
    assert "Mødet er bekræftet" in page
    meeting = await meeting_of(mail_api, "e2")
    assert meeting["status"] == "confirmed" and meeting["start"] == second

    confirmed = (await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Bekræftet"
                                          in str(m["Subject"])))[0]
    calendar = [p for p in confirmed.walk() if p.get_content_type() == "text/calendar"]
    assert calendar, "the confirmation carries the .ics"
    ics = calendar[0].get_content()
    if isinstance(ics, bytes):
        ics = ics.decode()
    assert "METHOD:REQUEST" in ics and "TZID=Europe/Copenhagen" in ics
    assert "DTSTART;TZID=Europe/Copenhagen:" + second.replace("-", "").replace(":", "") in ics
    # (the first message, at assignment, named the consultant: the meeting's letter follows)
    citizen = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN and "opfølgningsmøde"
                                        in str(m["Subject"])))[0]
    assert "fortrolig samtale" in text_part(citizen)

    download = await mail_api.client.get(f"{path}/moede.ics")
    assert download.status == 200 and download.content_type == "text/calendar"
    assert "BEGIN:VEVENT" in await download.text()

    # A second click changes nothing and sends nothing more.
    again = await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": second},
                                       allow_redirects=False)
    assert again.headers["Location"].endswith("besked=allerede")
    await wait_until_mail_delivered(mail_api)
    assert len([m for m in smtp_sink.messages if "Bekræftet" in str(m["Subject"])]) == 1


async def test_other_times_replans_with_preferences(mail_api: Api, smtp_sink: SmtpSink,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await intake(mail_api, body("o1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    before = await meeting_of(mail_api, "o1")
    page = await (await mail_api.client.get(path)).text()
    # The times are a group with its question as the legend.
    assert re.search(r'<fieldset id="slots"><legend[^>]*>Vælg et tidspunkt</legend>', page)
    # No day, no time of day and no message: refused in Danish, saying what to fill in,
    # the form open again; nothing is registered.
    resp = await mail_api.client.post(f"{path}/other-times", data={
        "csrf": csrf, "text": "   "}, allow_redirects=False)
    assert resp.status == 422 and "Location" not in resp.headers
    page = await resp.text()
    assert 'id="other-error"' in page and "vælg mindst én dag eller et tidspunkt på dagen" in page
    assert re.search(r'<details open>\s*<summary id="other-times-toggle">', page)
    assert 'aria-describedby="other-error other-hint"' in page
    assert await meeting_of(mail_api, "o1") == before
    # Once re-planned, the old link shows the new time: look before that.
    async with planning_held(mail_api, monkeypatch):
        resp = await mail_api.client.post(f"{path}/other-times", data={
            "csrf": csrf, "weekday": ["tue", "thu"], "part": "morning",
            "text": "Helst ikke i ferien"}, allow_redirects=False)
        assert resp.status == 303
        page = await (await mail_api.client.get(path)).text()
        assert "modtaget jeres ønsker" in page
    await mail_api.client.app[JOBS].wait_idle()
    second = await invitation(smtp_sink, count=2)
    assert link_path(second) != path
    after = await meeting_of(mail_api, "o1")
    assert after["status"] == "proposed" and after != before
    start = date.fromisoformat(after["start"][:10])
    assert start.weekday() in (1, 3), after
    assert int(after["start"][11:13]) < 12
    async with mail_api.client.app[DB].read() as session:
        tasks = (await session.execute(select(ConsultantTask))).scalars().all()
    assert any(t.kind == "employer_other_times" and "Helst ikke i ferien" in t.text
               for t in tasks)
    # The consultant's side of the task (list, done): tests/followup/test_tasks_api.py


async def test_decline_sets_fact_and_plans_jobcenter_meeting(no_grace_api: Api,
                                                             smtp_sink: SmtpSink) -> None:
    """Without a grace (`decline_grace_working_days = 0`) a decline moves the case at once;
    the grace: tests/meetings/test_declines.py."""
    mail_api = no_grace_api
    await intake(mail_api, body("d1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    resp = await mail_api.client.post(f"{path}/decline", data={
        "csrf": csrf, "reason_choice": "no_rooms", "reason": "Lukket for besøg"},
        allow_redirects=False)
    assert resp.status == 303
    await mail_api.client.app[JOBS].wait_idle()
    case = await (await mail_api.client.get("/api/cases/d1",
                                            headers=mail_api.auth("intake"))).json()
    assert case["decision"]["follow_up"] == "jobcenter_meeting"
    assert "followup.declined_by_employer" in case["decision"]["reasons"]
    assert case["history"][-1]["after"]["follow_up"] == "jobcenter_meeting"
    assert case["history"][-1]["before"]["follow_up"] == "workplace_meeting"
    assert case["meeting"]["kind"] == "jobcenter_meeting"
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Modtaget" in str(m["Subject"]))
    citizen = await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN and "opfølgningsmøde"
                                       in str(m["Subject"]))
    assert "i jobcentret" in text_part(citizen[-1])
    page = await (await mail_api.client.get(path)).text()
    assert "Tak for jeres besked" in page


async def test_cancel_confirmed_meeting_until_24_hours_before(
        mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    await intake(mail_api, body("c1"))
    path = link_path(await invitation(smtp_sink))
    await confirm_first_time(mail_api, path)
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    assert 'id="cancel"' in page and "Flyt mødet" in page
    ask = await mail_api.client.post(f"{path}/cancel", data={"csrf": csrf},
                                     allow_redirects=False)
    assert ask.status == 200 and "Er I sikre" in await ask.text()  # asks first
    assert (await meeting_of(mail_api, "c1"))["status"] == "confirmed"
    # Once re-planned, the old link shows the new time: look before that.
    async with planning_held(mail_api, monkeypatch):
        resp = await mail_api.client.post(f"{path}/cancel", data={"csrf": csrf,
                                                                  "confirm": "ja"},
                                          allow_redirects=False)
        assert resp.status == 303
        page = await (await mail_api.client.get(path)).text()
        assert "Mødet er aflyst" in page
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Aflyst" in str(m["Subject"]))
    await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN and "ændret" in str(m["Subject"]))
    await mail_api.client.app[JOBS].wait_idle()
    await invitation(smtp_sink, count=2)  # planned again, a new proposal sent
    assert (await meeting_of(mail_api, "c1"))["status"] == "proposed"

    # Less than 24 hours before, the page offers no changes and a POST is refused.
    path2 = link_path(await invitation(smtp_sink, count=2))
    csrf2 = await form_token(mail_api, path2)
    page = await (await mail_api.client.get(path2)).text()
    slot2 = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    await mail_api.client.post(f"{path2}/confirm", data={"csrf": csrf2, "slot": slot2})
    async with mail_api.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting).where(
            Meeting.status == "confirmed"))).unique().scalar_one()
        soon = local_now().replace(second=0, microsecond=0) + timedelta(hours=3)
        meeting.end = soon + (meeting.end - meeting.start)
        meeting.start = soon
    page = await (await mail_api.client.get(path2)).text()
    assert 'id="cancel"' not in page and "mindre end 24 timer" in page
    for step in ({"csrf": csrf2}, {"csrf": csrf2, "confirm": "ja"}):
        resp = await mail_api.client.post(f"{path2}/cancel", data=step, allow_redirects=False)
        assert resp.headers["Location"].endswith("besked=for-sent")
    assert (await meeting_of(mail_api, "c1"))["status"] == "confirmed"

