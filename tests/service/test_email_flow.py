"""The email flow end to end: planning → outbox → real SMTP (aiosmtpd) → link page → answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots.delivery import RetryPolicy
from service.keys import ANSWERS, DB, JOBS, LINKS, NOTIFIER, OUTBOX, REMINDERS
from service.meetings.answers import Outcome
from service.platform.db.models import ConsultantTask, Meeting, OutboxMessage
from tests.conftest import (
    ALL_RECEIVED_MAIL,
    Api,
    SmtpSink,
    link_path,
    local_now,
    mail_config,
    smtp_secrets,
    start_api,
    text_part,
    today_local,
)
from tests.service.email_cases import (
    CITIZEN,
    EMPLOYER,
    body,
    intake,
    invitation,
    make_second_overlap_first,
)


@pytest.fixture
async def mail_api(demo_config, database_url, smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for api in start_api(mail_config(demo_config),
                               smtp_secrets(database_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api






async def form_token(api: Api, path: str) -> str:
    page = await (await api.client.get(path)).text()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


async def meeting_of(api: Api, case_ref: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_ref}", headers=api.auth("intake"))
    return (await resp.json())["meeting"]


# -- invitation and page -----------------------------------------------------------------------

async def test_invitation_mail_and_link_page(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("e1"))
    mail = await invitation(smtp_sink)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith(">")
    text = text_part(mail)
    assert "Mads Madsen" in str(mail["Subject"])
    for words in ("Kære Lone Berg", "på arbejdspladsen", "deltager selv", "60 minutter",
                  "Andre mulige tidspunkter", "/m/"):
        assert words in text, words
    assert mail.get_body(preferencelist=("html",)) is not None
    page = await mail_api.client.get(link_path(mail))
    assert page.status == 200
    html = await page.text()
    assert "Vælg et tidspunkt" in html and "Mads Madsen" in html
    assert html.count('name="slot"') == 3
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert not re.search(r"(src|href)=\"https?://", html), "no third-party requests"


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
    citizen = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN))[0]
    assert "fortrolig samtale" in text_part(citizen)

    download = await mail_api.client.get(f"{path}/moede.ics")
    assert download.status == 200 and download.content_type == "text/calendar"
    assert "BEGIN:VEVENT" in await download.text()

    # A second click changes nothing and sends nothing more.
    again = await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": second},
                                       allow_redirects=False)
    assert again.headers["Location"].endswith("besked=allerede")
    await asyncio.sleep(0.5)
    assert len([m for m in smtp_sink.messages if "Bekræftet" in str(m["Subject"])]) == 1


async def test_racing_confirms_one_booking_wins(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("r1"), body("r2", employer={
        "cvr": "87654321", "name": "Ikast Metal", "contact_email": "hr@ikastmetal.example",
        "location": {"lat": 56.14, "lon": 9.16}}))
    app = mail_api.client.app
    ids, key = await make_second_overlap_first(mail_api)
    answers = app[ANSWERS]
    results = await asyncio.gather(answers.confirm(ids[0], key), answers.confirm(ids[1], key),
                                   answers.confirm(ids[0], key))
    # Exactly one booking; the other meeting lost the race; a repeated click changes nothing.
    assert results.count(Outcome.CONFIRMED) == 1
    assert set(results) <= {Outcome.CONFIRMED, Outcome.TAKEN, Outcome.ALREADY}
    assert Outcome.TAKEN in results
    async with app[DB].read() as session:
        statuses = [m.status for m in (await session.execute(
            select(Meeting).where(Meeting.id.in_(ids)))).unique().scalars()]
    assert sorted(statuses) == ["confirmed", "proposed"]
    # The loser's page no longer offers the taken slot.
    loser = ids[1] if results[0] == Outcome.CONFIRMED else ids[0]
    token = app[LINKS].token(loser, today_local() + timedelta(days=30))
    page = await (await mail_api.client.get(f"/m/{token}")).text()
    assert key not in page


async def test_other_times_replans_with_preferences(mail_api: Api,
                                                    smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("o1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    before = await meeting_of(mail_api, "o1")
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
    # The consultant sees the task through the API and can mark it done.
    listed = await (await mail_api.client.get("/api/tasks", headers=mail_api.auth("intake"))
                    ).json()
    task = next(t for t in listed["tasks"] if t["kind"] == "employer_other_times")
    assert task["case_id"] == "o1" and task["done_at"] is None
    done = await mail_api.client.post(f"/api/tasks/{task['id']}/done",
                                      headers=mail_api.auth("intake"))
    assert done.status == 200 and (await done.json())["done_at"] is not None
    still_open = await (await mail_api.client.get(
        "/api/tasks", headers=mail_api.auth("intake"))).json()
    assert task["id"] not in [t["id"] for t in still_open["tasks"]]
    assert (await mail_api.client.get("/api/tasks?state=soon",
                                      headers=mail_api.auth("intake"))).status == 422


async def test_decline_sets_fact_and_plans_jobcenter_meeting(mail_api: Api,
                                                             smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("d1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    resp = await mail_api.client.post(f"{path}/decline", data={"csrf": csrf,
                                                               "reason": "Lukket for besøg"},
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
    citizen = await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN)
    assert "i jobcentret" in text_part(citizen[-1])
    page = await (await mail_api.client.get(path)).text()
    assert "Tak for jeres besked" in page


async def test_cancel_confirmed_meeting_until_24_hours_before(mail_api: Api,
                                                              smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("c1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": slot})
    page = await (await mail_api.client.get(path)).text()
    assert 'id="cancel"' in page and "Flyt mødet" in page
    resp = await mail_api.client.post(f"{path}/cancel", data={"csrf": csrf},
                                      allow_redirects=False)
    assert resp.status == 303
    page = await (await mail_api.client.get(path)).text()
    assert "Mødet er aflyst" in page
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Ændret" in str(m["Subject"]))
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
    resp = await mail_api.client.post(f"{path2}/cancel", data={"csrf": csrf2},
                                      allow_redirects=False)
    assert resp.headers["Location"].endswith("besked=for-sent")
    assert (await meeting_of(mail_api, "c1"))["status"] == "confirmed"


async def test_one_failing_invitation_does_not_block_the_others(
        mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = mail_api.client.app[NOTIFIER]
    real_invite = flow.invite

    async def invite(session: Any, meeting: Meeting) -> None:
        if meeting.case.case_ref == "bad":
            raise RuntimeError("template broke")
        await real_invite(session, meeting)

    monkeypatch.setattr(flow, "invite", invite)
    await intake(mail_api, body("bad"), body("good", employer={
        "cvr": "55667788", "name": "Brande Byg", "contact_email": "byg@brande.example",
        "location": {"lat": 55.94, "lon": 9.12}}))
    await smtp_sink.wait_for(lambda m: m["To"] == "byg@brande.example")
    assert (await meeting_of(mail_api, "good"))["invited_at"] is not None
    bad = await meeting_of(mail_api, "bad")
    assert bad is not None and bad["invited_at"] is None  # planned, not lost
    tasks = await (await mail_api.client.get("/api/tasks", headers=mail_api.auth("intake"))
                   ).json()
    assert [t["kind"] for t in tasks["tasks"] if t["case_id"] == "bad"] == ["invitation_failed"]


async def test_staff_confirm_after_a_phone_call(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("t1"))
    meeting = await meeting_of(mail_api, "t1")
    h = mail_api.auth("consultant")
    url = "/api/cases/t1/meeting/confirm"
    bad = await mail_api.client.post(url, json={"start": "2026-13-01T09:00"}, headers=h)
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] == "start"
    other = await mail_api.client.post(url, json={"start": "2030-01-07T09:00"}, headers=h)
    assert other.status == 422 and "offered times" in (await other.json())["errors"][0][
        "message"]
    alternative = meeting["alternatives"][0]["start"]
    resp = await mail_api.client.post(url, json={"start": alternative}, headers=h)
    assert resp.status == 200, await resp.text()
    case = await resp.json()
    assert case["meeting"]["status"] == "confirmed" and case["meeting"]["start"] == alternative
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Bekræftet" in str(m["Subject"]))
    assert (await mail_api.client.post("/api/cases/nope/meeting/confirm",
                                       json={"start": alternative}, headers=h)).status == 404
    assert (await mail_api.client.post(url, json={"start": alternative},
                                       headers=mail_api.auth("manager"))).status == 403


async def test_employer_without_email_gives_one_task_and_staff_confirm(mail_api: Api) -> None:
    await intake(mail_api, body("n1", employer={
        "cvr": "99887766", "name": "Uden Mail ApS", "location": {"lat": 56.16, "lon": 9.0}}))
    # Planning runs again (twice): the open task is not repeated.
    for _ in range(2):
        run = await mail_api.client.post("/api/planning/run", headers=mail_api.auth("manager"))
        assert run.status == 200
    tasks = (await (await mail_api.client.get(
        "/api/tasks", headers=mail_api.auth("intake"))).json())["tasks"]
    mine = [t for t in tasks if t["case_id"] == "n1"]
    assert [t["kind"] for t in mine] == ["employer_contact_missing"]
    meeting = await meeting_of(mail_api, "n1")
    resp = await mail_api.client.post("/api/cases/n1/meeting/confirm",
                                      json={"start": meeting["start"]},
                                      headers=mail_api.auth("consultant"))
    assert resp.status == 200 and (await resp.json())["meeting"]["status"] == "confirmed"


# -- link security -----------------------------------------------------------------------------

async def test_bad_tokens_and_csrf(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("s1"))
    path = link_path(await invitation(smtp_sink))
    token = path.removeprefix("/m/")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    resp = await mail_api.client.get(f"/m/{tampered}")
    assert resp.status == 403
    assert "96 28 28 28" in await resp.text()  # the jobcentre's phone
    links = mail_api.client.app[LINKS]
    meeting_id = (await _meeting_ids(mail_api))[0]
    expired = links.token(meeting_id, today_local() - timedelta(days=1))
    resp = await mail_api.client.get(f"/m/{expired}")
    assert resp.status == 410
    assert "udløbet" in await resp.text()
    unknown = links.token(999_999, today_local() + timedelta(days=5))
    assert (await mail_api.client.get(f"/m/{unknown}")).status == 404
    other = type(links)("another-secret-key-" + "y" * 32, "demo", links.clock).token(
        meeting_id, today_local() + timedelta(days=5))
    assert (await mail_api.client.get(f"/m/{other}")).status == 403
    # POST without the form token, with a wrong one, and from another site's page.
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    assert (await mail_api.client.post(f"{path}/confirm", data={"slot": slot})).status == 403
    assert (await mail_api.client.post(f"{path}/confirm", data={
        "slot": slot, "csrf": "0" * 64})).status == 403
    csrf = await form_token(mail_api, path)
    resp = await mail_api.client.post(f"{path}/confirm", data={"slot": slot, "csrf": csrf},
                                      headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await meeting_of(mail_api, "s1"))["status"] == "proposed"
    # Another meeting's form token does not work on this meeting.
    other_csrf = links.form_token(unknown)
    assert (await mail_api.client.post(f"{path}/confirm", data={
        "slot": slot, "csrf": other_csrf})).status == 403


async def _meeting_ids(api: Api) -> list[int]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting.id).order_by(Meeting.id))).scalars())


# -- outbox: retries, permanent failures, restart ----------------------------------------------

async def test_smtp_down_then_up_delivers_exactly_once(demo_config, sqlite_url,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    quick = RetryPolicy(first=timedelta(milliseconds=200), cap=timedelta(milliseconds=400),
                        give_up_after=timedelta(hours=26))
    down = SmtpSink()  # not started: connections are refused
    config = mail_config(demo_config)
    async for api in start_api(config, smtp_secrets(sqlite_url, down.port)):
        api.client.app[OUTBOX].senders["email"].retry = quick
        await intake(api, body("x1"), body("x2", citizen={"name": "Eva Holm"}))
        for _ in range(200):
            async with api.client.app[DB].read() as session:
                rows = (await session.execute(select(OutboxMessage))).scalars().all()
            if rows and all(r.attempts >= 1 for r in rows if r.channel == "email"):
                break
            await asyncio.sleep(0.05)
        assert rows and all(r.status in ("pending", "sending") for r in rows
                            if r.channel == "email")
        assert all(r.last_error for r in rows if r.channel == "email")
    # The service stopped with mail pending; it comes back with the SMTP server up.
    up = SmtpSink(port=down.port).start()
    try:
        async for api in start_api(config, smtp_secrets(sqlite_url, down.port)):
            await up.wait_for(lambda m: True, count=2)
            await asyncio.sleep(1.0)
            async with api.client.app[DB].read() as session:
                rows = (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.channel == "email"))).scalars().all()
            assert {r.status for r in rows} == {"sent"}
            ids = [m["Message-ID"] for m in up.messages]
            assert len(ids) == len(set(ids)) == len(rows)
            assert sorted(ids) == sorted(r.message_id for r in rows)
    finally:
        up.stop()


async def test_permanent_failure_is_visible_to_staff(mail_api: Api,
                                                     smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse["nobody@gone.example"] = 550
    await intake(mail_api, body("p1", employer={
        "cvr": "11223344", "name": "Lukket ApS", "contact_email": "nobody@gone.example",
        "location": {"lat": 56.1, "lon": 9.0}}, citizen={"name": "Ib"}))
    for _ in range(200):
        resp = await mail_api.client.get("/api/outbox?status=failed",
                                         headers=mail_api.auth("intake"))
        failed = (await resp.json())["messages"]
        if failed:
            break
        await asyncio.sleep(0.05)
    assert failed and failed[0]["recipient"] == "nobody@gone.example"
    assert "550" in failed[0]["last_error"]
    assert (await mail_api.client.get("/api/outbox?status=nope",
                                      headers=mail_api.auth("intake"))).status == 422
    smtp_sink.refuse.clear()
    retry = await mail_api.client.post(f"/api/outbox/{failed[0]['id']}/retry",
                                       headers=mail_api.auth("intake"))
    assert retry.status == 200
    await smtp_sink.wait_for(lambda m: m["To"] == "nobody@gone.example")


async def test_citizen_without_email_gets_a_letter_for_staff(mail_api: Api) -> None:
    await intake(mail_api, body("l1", citizen_declines_workplace_meeting=True,
                                citizen={"name": "Ib Holm"}))
    resp = await mail_api.client.get("/api/outbox?status=to_print",
                                     headers=mail_api.auth("intake"))
    letters = (await resp.json())["messages"]
    assert [(m["channel"], m["kind"], m["recipient"]) for m in letters] == [
        ("letter", "citizen_meeting", "Ib Holm")]
    async with mail_api.client.app[DB].read() as session:
        letter = await session.get(OutboxMessage, letters[0]["id"])
        assert letter is not None and "i jobcentret" in letter.body_text
    done = await mail_api.client.post(f"/api/outbox/{letters[0]['id']}/printed",
                                      headers=mail_api.auth("intake"))
    assert done.status == 200 and (await done.json())["status"] == "printed"
    again = await mail_api.client.post(f"/api/outbox/{letters[0]['id']}/printed",
                                       headers=mail_api.auth("intake"))
    assert again.status == 409


# -- reminders ---------------------------------------------------------------------------------

async def test_reminders_after_two_working_days_and_day_before(mail_api: Api,
                                                               smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("m1"))
    path = link_path(await invitation(smtp_sink))
    reminders = mail_api.client.app[REMINDERS]
    today = today_local()
    assert await reminders.send_due(today) == 0
    later = today + timedelta(days=7)
    assert await reminders.send_due(later) == 1
    assert await reminders.send_due(later) == 0  # once only
    await smtp_sink.wait_for(lambda m: "Påmindelse" in str(m["Subject"]))
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": slot})
    day_before = date.fromisoformat(slot[:10]) - timedelta(days=1)
    assert await reminders.send_due(day_before) == 1
    assert await reminders.send_due(day_before) == 0
    mail = (await smtp_sink.wait_for(lambda m: "I morgen" in str(m["Subject"])))[0]
    assert "Mads Madsen" in text_part(mail)


def test_working_days_skip_weekends_and_holidays() -> None:
    from service.platform.workdays import add_working_days

    assert add_working_days(date(2026, 11, 27), 2) == date(2026, 12, 1)  # Fri → Tue
    # 24 December is not a public holiday (a jobcentre closes it with closed_dates)
    assert add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 28)
    assert add_working_days(date(2026, 12, 23), 2, frozenset({date(2026, 12, 24)})) == \
        date(2026, 12, 29)
    assert add_working_days(date(2027, 3, 24), 2) == date(2027, 3, 31)  # Easter 2027


# -- privacy: runs last in this module, over every mail the suite received so far -----------

CPR = re.compile(r"\b\d{6}-?\d{4}\b")
FORBIDDEN = re.compile(
    r"\b(mental|psykisk\w*|physical|fysisk\w*|kræft|hjerte\w*|lunge\w*|cancer|diagnos\w*|"
    r"serious\w*|alvorlig\w*|workplace_cause|årsag til sygemeldingen|ekskluder\w*|"
    r"exclu\w*|sygdom\w*|010190)\b")


def test_zz_no_health_data_or_cpr_in_any_mail() -> None:
    assert ALL_RECEIVED_MAIL, "the suite sent no mail to scan"
    for message in ALL_RECEIVED_MAIL:
        for part in message.walk():
            if part.get_content_maintype() == "multipart":
                continue
            content = part.get_content()
            text = content.decode() if isinstance(content, bytes) else str(content)
            text = f"{message['Subject']}\n{text}".lower()
            text = re.sub(r"https?://\S+", "", text)  # signed tokens are not prose
            assert not CPR.search(text), message["Subject"]
            found = FORBIDDEN.search(text)
            assert found is None, (found and found.group(0), str(message["Subject"]))
