"""Staff move or cancel a meeting (issue 18 item 9) — the employer usually phones: over the
API and the staff pages, each telling employer (same UID, higher SEQUENCE; METHOD:CANCEL for a
cancellation) and citizen. Real SMTP (aiosmtpd), the real app on SQLite."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import Consultant, ConsultantAbsence
from service.text.danish import danish_slot
from tests.meetings.email_cases import (
    CITIZEN,
    EMPLOYER,
    body,
    calendar_of,
    event_of,
    intake,
    invitation,
    meeting_of,
)
from tests.support import Api, SmtpSink, Staff, start_staff, text_part, today_local


@pytest.fixture
async def staff_mail(mail: Api) -> AsyncIterator[Staff]:
    async for running in start_staff(mail):
        yield running


async def confirmed(api: Api, case_ref: str, smtp_sink: SmtpSink) -> tuple[dict, object]:
    await intake(api, body(case_ref))
    proposal = await meeting_of(api, case_ref)
    resp = await api.client.post(f"/api/cases/{case_ref}/meeting/confirm",
                                 json={"start": proposal["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    message = (await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                        and "Bekræftet" in str(m["Subject"])))[-1]
    return proposal, event_of(calendar_of(message))


async def test_staff_move_a_confirmed_meeting_to_a_free_time_over_the_api(
        mail: Api, smtp_sink: SmtpSink) -> None:
    proposal, first = await confirmed(mail, "s1", smtp_sink)
    h = mail.auth("manager")
    free = await mail.client.get("/api/cases/s1/meeting/free-times", headers=h)
    assert free.status == 200, await free.text()
    times = [t["start"] for t in (await free.json())["times"]]
    assert times and proposal["start"] not in times
    # Input is checked, naming the field.
    for wrong in ({"start": "2026-13-01T09:00"}, {}, {"start": times[0], "new_proposals": True},
                  {"start": "2020-01-06T09:00"}, {"start": "3000-01-06T08:30"},
                  {"start": "9999-12-31T08:30"}):  # (beyond the horizon; the last a 500)
        resp = await mail.client.post("/api/cases/s1/meeting/move", json=wrong, headers=h)
        assert resp.status == 422, (wrong, await resp.text())
        assert (await resp.json())["errors"][0]["field"] == "start"
    resp = await mail.client.post("/api/cases/s1/meeting/move", json={"start": times[0]},
                                  headers=h)
    assert resp.status == 200, await resp.text()
    meeting = (await resp.json())["meeting"]
    assert meeting["status"] == "confirmed" and meeting["start"] == times[0]
    update = (await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                       and "Flyttet" in str(m["Subject"])))[0]
    event = event_of(calendar_of(update))
    assert str(event["UID"]) == str(first["UID"])
    assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])
    assert event["DTSTART"].dt.strftime("%Y-%m-%dT%H:%M") == times[0]
    # both are told that the time they had no longer holds (not a second "confirmed")
    old_time = danish_slot(datetime.fromisoformat(proposal["start"]),
                           datetime.fromisoformat(proposal["end"]))
    assert f"{old_time} er flyttet, som aftalt. Den tid gælder ikke længere." in \
        " ".join(text_part(update).split())
    moved = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                      and "flyttet" in str(m["Subject"])))[0]
    assert str(moved["Subject"]).startswith("Dit opfølgningsmøde er flyttet til ")
    assert f"Dit opfølgningsmøde {old_time} er flyttet." in " ".join(text_part(moved).split())
    # A time the consultant is not free at is refused with the reason.
    busy_again = await mail.client.post("/api/cases/s1/meeting/move",
                                        json={"start": times[0][:11] + "03:00"}, headers=h)
    assert busy_again.status == 422
    assert "not free" in (await busy_again.json())["errors"][0]["message"]


async def test_staff_cancel_a_meeting_tells_employer_and_citizen(
        mail: Api, smtp_sink: SmtpSink) -> None:
    _, first = await confirmed(mail, "s2", smtp_sink)
    h = mail.auth("intake")
    blank = await mail.client.post("/api/cases/s2/meeting/cancel", json={"reason": " "},
                                   headers=h)
    assert blank.status == 422 and (await blank.json())["errors"][0]["field"] == "reason"
    resp = await mail.client.post("/api/cases/s2/meeting/cancel",
                                  json={"reason": "arbejdspladsen holder lukket"}, headers=h)
    assert resp.status == 200, await resp.text()
    cancel = (await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                       and str(m["Subject"]).startswith("Aflyst")))[0]
    calendar = calendar_of(cancel)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = event_of(calendar)
    assert str(event["UID"]) == str(first["UID"])
    assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])
    citizen = await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                       and "ændret" in str(m["Subject"]))
    assert "arbejdspladsen holder lukket" in citizen[0].get_body(
        preferencelist=("plain",)).get_content()
    # Nothing left to cancel until planning proposes again; then another consultant's
    # case is not found for a consultant.
    await mail.client.app[JOBS].wait_idle()
    assert (await meeting_of(mail, "s2"))["status"] == "proposed"


async def test_staff_send_new_proposals_replans_elsewhere(
        mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("s3"))
    first = await meeting_of(mail, "s3")
    await invitation(smtp_sink)
    resp = await mail.client.post("/api/cases/s3/meeting/move", json={"new_proposals": True},
                                  headers=mail.auth("consultant"))
    # The consultant key is the first consultant's: another's case is 404.
    if first["consultant_id"] != "anna":
        assert resp.status == 404
        resp = await mail.client.post("/api/cases/s3/meeting/move",
                                      json={"new_proposals": True},
                                      headers=mail.auth("intake"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    again = await meeting_of(mail, "s3")
    offered = {first["start"], *(a["start"] for a in first["alternatives"])}
    assert again["status"] == "proposed" and again["start"] not in offered
    await invitation(smtp_sink, count=2)


async def test_move_and_cancel_on_the_staff_page(staff_mail: Staff, smtp_sink: SmtpSink
                                                 ) -> None:
    api = staff_mail.api
    await confirmed(api, "s4", smtp_sink)
    browser = await staff_mail.login("intake")
    _, case_page = await browser.get("/cases/s4")
    assert 'href="/cases/s4/meeting"' in case_page
    response, page = await browser.get("/cases/s4/meeting")
    assert response.status == 200 and "Flyt mødet" in page and "Aflys mødet" in page
    first = re.search(r'name="start" id="f-start-1" value="([^"]+)"', page)
    assert first, page
    response, page = await browser.post("/cases/s4/meeting/move", {"start": first.group(1)})
    assert response.status == 200 and "Mødet er flyttet" in page, page
    assert (await meeting_of(api, "s4"))["start"] == first.group(1)
    response, page = await browser.post("/cases/s4/meeting/cancel", {"reason": ""})
    assert response.status == 422 and "Skriv en begrundelse" in page
    response, page = await browser.post("/cases/s4/meeting/cancel",
                                        {"reason": "lederen er syg"})
    assert response.status == 200 and "Mødet er aflyst" in page
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                             and str(m["Subject"]).startswith("Aflyst"))


async def test_the_list_of_meetings_to_move_is_for_intake_and_managers(
        staff_mail: Staff) -> None:
    for role, status in (("intake", 200), ("manager", 200), ("consultant", 403)):
        browser = await staff_mail.login(role)
        response, page = await browser.get("/meetings/to-move")
        assert response.status == status, role
        if status == 200:
            assert "Ingen møder skal flyttes" in page and "Intet længere fravær" in page


async def test_a_moved_time_that_is_not_a_whole_local_minute_is_refused_on_the_page(
        staff_mail: Staff, smtp_sink: SmtpSink) -> None:
    """The staff page's move takes `YYYY-MM-DDTHH:MM` as the API does: seconds, a UTC offset
    or a date alone are a 422 naming the time — never a 500 — and the meeting stays."""
    api = staff_mail.api
    await confirmed(api, "s9", smtp_sink)
    before = (await meeting_of(api, "s9"))["start"]
    browser = await staff_mail.login("intake")
    day = (today_local() + timedelta(days=30)).isoformat()
    for start in (f"{day}T09:00:30", f"{day}T09:00+01:00", f"{day}T09:00Z", day,
                  f"{day} 09:00", f"{day}T09:00:00.5"):
        response, page = await browser.post("/cases/s9/meeting/move", {"start": start})
        assert response.status == 422, (start, response.status)
        assert "Flyt mødet" in page
    assert (await meeting_of(api, "s9"))["start"] == before


async def _away(api: Api, key: str, first: date, last: date) -> None:
    async with api.client.app[DB].write() as session:
        consultant = (await session.execute(select(Consultant).where(
            Consultant.key == key))).scalar_one()
        session.add(ConsultantAbsence(
            municipality_id=consultant.municipality_id, consultant_id=consultant.id,
            first_day=first, last_day=last, reason="ferie", created_at=datetime.now(UTC)))


async def test_a_long_absence_on_the_page_puts_the_deadlines_in_it_first_and_hands_over(
        staff_mail: Staff) -> None:
    """"Længere fravær" lists the cases whose deadline falls in the absence first, each with
    the colleague to hand it to and a button that does it; the cases whose deadline comes
    after it are folded away below."""
    api = staff_mail.api
    await intake(api, body("s10"))
    case = await (await api.client.get("/api/cases/s10", headers=api.auth("intake"))).json()
    owner = case["owner"]["consultant_id"]
    deadline = date.fromisoformat(case["decision"]["first_meeting_deadline"])
    today = today_local()
    await _away(api, owner, today + timedelta(days=1), deadline + timedelta(days=7))
    browser = await staff_mail.login("intake")
    response, page = await browser.get("/meetings/to-move")
    assert response.status == 200
    assert "1 sag med frist i fraværet" in page and "(første møde)" in page
    button = re.search(r"Overdrag til ([^<]+)</button>", page)
    assert button is not None and "med frist efter fraværet" not in page
    response, page = await browser.post("/meetings/to-move/s10/hand-over", {
        "consultant_id": re.search(r'name="consultant_id" value="([^"]+)"', page)[1]})
    assert response.status == 200 and "Sagen er overdraget." in page
    assert "Ingen åbne sager" in page
    case = await (await api.client.get("/api/cases/s10", headers=api.auth("intake"))).json()
    colleague = case["owner"]["consultant_id"]
    assert colleague not in (None, owner)
    # The colleague's own long absence ends before the deadline: the case stays, folded.
    await _away(api, colleague, today + timedelta(days=1), today + timedelta(days=15))
    response, page = await browser.get("/meetings/to-move")
    section = page[page.index(f'data-consultant="{colleague}"'):]
    assert "1 sag med frist efter fraværet eller et møde før det" in section
    assert "Ingen sager skal overdrages" in section
