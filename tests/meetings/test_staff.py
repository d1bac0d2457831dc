"""Staff confirm a meeting for the employer (after a phone call), with the same booking and
mails as the employer's page."""

from __future__ import annotations

from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake, meeting_of
from tests.support import Api, SmtpSink, wait_until_mail_delivered


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


async def test_staff_confirming_another_time_for_a_confirmed_meeting_is_a_conflict(
        mail_api: Api) -> None:
    await intake(mail_api, body("t2"))
    meeting = await meeting_of(mail_api, "t2")
    h = mail_api.auth("intake")
    url = "/api/cases/t2/meeting/confirm"
    first = await mail_api.client.post(url, json={"start": meeting["start"]}, headers=h)
    assert first.status == 200
    again = await mail_api.client.post(url, json={"start": meeting["start"]}, headers=h)
    assert again.status == 200  # the same time again: nothing to do, nothing refused
    other = await mail_api.client.post(
        url, json={"start": meeting["alternatives"][0]["start"]}, headers=h)
    assert other.status == 409
    assert meeting["start"] in (await other.json())["error"]
    assert (await meeting_of(mail_api, "t2"))["start"] == meeting["start"]


async def test_confirming_closes_the_task_to_agree_a_time(mail_api: Api) -> None:
    await intake(mail_api, body("t3", employer={"cvr": "44556677", "name": "Uden Mail ApS",
                                                "location": {"lat": 56.1, "lon": 9.0}}))
    tasks = (await (await mail_api.client.get(
        "/api/tasks", headers=mail_api.auth("intake"))).json())["tasks"]
    assert [t["kind"] for t in tasks if t["case_id"] == "t3"] == ["employer_contact_missing"]
    meeting = await meeting_of(mail_api, "t3")
    resp = await mail_api.client.post("/api/cases/t3/meeting/confirm",
                                      json={"start": meeting["start"]},
                                      headers=mail_api.auth("intake"))
    assert resp.status == 200
    open_tasks = (await (await mail_api.client.get(
        "/api/tasks?state=open", headers=mail_api.auth("intake"))).json())["tasks"]
    assert [t["kind"] for t in open_tasks if t["case_id"] == "t3"] == ["meeting_confirmed"]


async def test_confirming_a_jobcentre_meeting_tells_the_citizen_not_the_employer(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("t4", citizen_declines_workplace_meeting=True))
    meeting = await meeting_of(mail_api, "t4")
    assert meeting["kind"] == "jobcenter_meeting"
    resp = await mail_api.client.post("/api/cases/t4/meeting/confirm",
                                      json={"start": meeting["start"]},
                                      headers=mail_api.auth("intake"))
    assert resp.status == 200, await resp.text()
    # The citizen had the time with the proposal: confirming it repeats nothing.
    await wait_until_mail_delivered(mail_api)
    # the meeting's letter once (besides the first message at assignment)
    assert len([m for m in smtp_sink.to(CITIZEN)
                if "Din fastholdelseskonsulent" not in str(m["Subject"])]) == 1
    assert smtp_sink.to(EMPLOYER) == []
