"""Closing a case: meetings cancelled (people told), tasks done, the consultant's room free at
the next planning run; idempotent; bad dates refused; reopening plans the case again."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CASE_CLOSING, DB, JOBS
from service.platform.auth import Principal
from service.platform.db.engine import as_utc
from service.platform.db.models import AuditEntry, ConsultantTask, Meeting
from tests.meetings.email_cases import EMPLOYER, body, intake, invitation
from tests.support import (
    Api,
    SmtpSink,
    mail_config,
    make_secrets,
    smtp_secrets,
    start_api,
    start_staff,
    today_local,
)


async def _case(api: Api, case_id: str, role: str = "intake") -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_id}", headers=api.auth(role))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_close_cancels_meetings_and_tells_the_employer(mail_api: Api,
                                                             smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("c1"))
    await invitation(smtp_sink)
    on = today_local().isoformat()
    url = "/api/cases/c1/close"
    resp = await mail_api.client.post(url, json={"outcome": "recovered", "on": on,
                                                 "note": "raskmeldt"},
                                      headers=mail_api.auth("intake"))
    assert resp.status == 200, await resp.text()
    case = await resp.json()
    assert case["closed"] == {"on": on, "outcome": "recovered", "note": "raskmeldt"}
    assert case["meeting"] is None
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and m is not None and
                             "vælg et tidspunkt" not in str(m["Subject"]))
    async with mail_api.client.app[DB].read() as session:
        statuses = list((await session.execute(select(Meeting.status))).scalars())
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert statuses == ["cancelled"] and "case.close" in actions
    # Closing again changes nothing (idempotent) and keeps the first outcome.
    again = await mail_api.client.post(url, json={"outcome": "other_municipality", "on": on},
                                       headers=mail_api.auth("manager"))
    assert again.status == 200 and (await again.json())["closed"]["outcome"] == "recovered"
    # Planning leaves a closed case alone.
    await mail_api.client.app[JOBS].wait_idle()
    assert (await _case(mail_api, "c1"))["meeting"] is None


async def test_bad_close_requests(mail_api: Api) -> None:
    await intake(mail_api, body("c2"))
    url = "/api/cases/c2/close"
    h = mail_api.auth("intake")
    future = (today_local() + timedelta(days=1)).isoformat()
    before = (today_local() - timedelta(days=30)).isoformat()  # the absence began 10 days ago
    for data, field in (({"outcome": "recovered", "on": future}, "on"),
                        ({"outcome": "recovered", "on": before}, "on"),
                        ({"outcome": "healed", "on": today_local().isoformat()}, "outcome"),
                        ({"outcome": "recovered", "on": "2026-02-30"}, "on"),
                        ({"outcome": "recovered"}, "on")):
        resp = await mail_api.client.post(url, json=data, headers=h)
        assert resp.status == 422, (data, await resp.text())
        assert (await resp.json())["errors"][0]["field"] == field, data
    assert (await mail_api.client.post("/api/cases/nope/close", json={
        "outcome": "other", "on": today_local().isoformat()}, headers=h)).status == 404
    # A consultant closes only a case they own (the demo key is the first consultant's).
    case = await _case(mail_api, "c2")
    owner = case["owner"]["consultant_id"]
    resp = await mail_api.client.post(url, json={"outcome": "other",
                                                 "on": today_local().isoformat()},
                                      headers=mail_api.auth("consultant"))
    demo_consultant = "anna"
    assert resp.status == (200 if owner == demo_consultant else 404)


async def test_closing_frees_the_consultants_room(demo_config, sqlite_url: str,
                                                  smtp_sink: SmtpSink) -> None:
    """One consultant with room for one case: the second case waits, named, until the
    first is closed; then the next planning run gives it the consultant."""
    only = demo_config.consultants[0].model_copy(update={"max_active_cases": 1,
                                                         "fixed_employers": []})
    config = mail_config(demo_config).model_copy(update={"consultants": [only]})
    clock = SettableClock(datetime.combine(today_local(), time(10, 0)))
    async for api in start_api(config, smtp_secrets(sqlite_url, smtp_sink.port), clock=clock):
        await intake(api, body("first"), body("second", employer={
            "cvr": "55667788", "name": "Brande Byg", "contact_email": "byg@brande.example",
            "location": {"lat": 55.94, "lon": 9.12}}))
        second = await _case(api, "second")
        assert second["owner"] is None
        # The only consultant is full: the planner names capacity as the cause.
        assert second["unassigned_reasons"] == [
            "ikke fordelt: ingen konsulent, der kan tage sagen, har plads"]
        waiting = await (await api.client.get("/api/cases?status=target&owner=none",
                                              headers=api.auth("intake"))).json()
        assert [c["case_id"] for c in waiting["cases"]] == ["second"]
        resp = await api.client.post("/api/cases/first/close", json={
            "outcome": "dismissed", "on": today_local().isoformat()},
            headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        second = await _case(api, "second")
        assert second["owner"]["consultant_id"] == only.id and second["meeting"] is not None
        # Reopening takes no room its owner does not have: the consultant is full with
        # "second", so "first" goes to planning without an owner, and the answer says why.
        resp = await api.client.post("/api/cases/first/reopen", headers=api.auth("intake"))
        assert resp.status == 200
        first = await resp.json()
        assert first["closed"] is None and first["owner"] is None
        assert first["reopened"]["owner_kept"] is False
        assert first["reopened"]["previous_owner"] == only.id
        assert "ikke plads" in first["reopened"]["reason"] and "(1 af 1" in \
            first["reopened"]["reason"]
        assert first["unassigned_reasons"][0].startswith("genåbnet: ")
        await api.client.app[JOBS].wait_idle()
        assert (await _case(api, "second"))["owner"]["consultant_id"] == only.id
        first = await _case(api, "first")
        assert first["owner"] is None and first["unassigned_reasons"]  # still no room
        # Closing "second" makes room: the next run gives "first" its consultant again;
        # reopening "second" now finds the consultant full and says so; with room, the owner
        # is kept.
        await api.client.post("/api/cases/second/close", json={
            "outcome": "recovered", "on": today_local().isoformat()},
            headers=api.auth("intake"))
        await api.client.app[JOBS].wait_idle()
        assert (await _case(api, "first"))["owner"]["consultant_id"] == only.id
        await api.client.post("/api/cases/first/close", json={
            "outcome": "recovered", "on": today_local().isoformat()},
            headers=api.auth("intake"))
        await api.client.app[JOBS].wait_idle()
        resp = await api.client.post("/api/cases/second/reopen", headers=api.auth("manager"))
        second = await resp.json()
        assert second["reopened"] == {"owner_kept": True, "reason": ""}
        assert second["owner"]["consultant_id"] == only.id


async def test_reopening_on_the_case_page_says_the_case_goes_to_planning(
        demo_config, sqlite_url: str) -> None:
    only = demo_config.consultants[0].model_copy(update={"max_active_cases": 1,
                                                         "fixed_employers": []})
    config = demo_config.model_copy(update={"consultants": [only]})
    clock = SettableClock(datetime.combine(today_local(), time(10, 0)))
    async for api in start_api(config, make_secrets(sqlite_url), clock=clock):
        async for staff in start_staff(api):
            await intake(api, body("first"))
            await api.client.post("/api/cases/first/close", json={
                "outcome": "dismissed", "on": today_local().isoformat()},
                headers=api.auth("intake"))
            await intake(api, body("second"))
            assert (await _case(api, "second"))["owner"]["consultant_id"] == only.id
            browser = await staff.login("intake")
            await browser.get("/cases/first")
            resp, html = await browser.post("/cases/first/reopen")
            assert resp.status == 200 and "besked=genaabnet-fordeles" in str(resp.url)
            assert "ikke plads til flere sager" in html
            consultant = await staff.login("consultant")  # the first consultant: "only"
            await api.client.post("/api/cases/second/close", json={
                "outcome": "dismissed", "on": today_local().isoformat()},
                headers=api.auth("intake"))
            await api.client.app[JOBS].wait_idle()
            assert (await _case(api, "first"))["owner"]["consultant_id"] == only.id
            # a closed case has no next step (its follow-ups ended with it)
            resp, html = await consultant.get("/my-cases/second")
            assert resp.status == 200 and 'data-action="closed"' in html, html
            assert "Ingen – sagen er afsluttet" in html
            await intake(api, body("third"))
            await api.client.post("/api/cases/first/close", json={
                "outcome": "dismissed", "on": today_local().isoformat()},
                headers=api.auth("intake"))
            await api.client.app[JOBS].wait_idle()
            assert (await _case(api, "third"))["owner"]["consultant_id"] == only.id
            # The owner reopens a case of theirs while full: it leaves their list, and
            # their list says what became of it.
            await consultant.get("/my-cases")
            resp, html = await consultant.post("/cases/first/reopen")
            assert resp.status == 200 and resp.url.path == "/my-cases", resp.url
            assert "du har ikke plads til flere sager" in html


async def test_a_case_leaving_the_target_group_frees_room_and_loses_its_meeting(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("c3"))
    await invitation(smtp_sink)
    resp = await mail_api.client.patch("/api/cases/c3", json={"serious_illness": True},
                                       headers=mail_api.auth("intake"))
    assert resp.status == 200
    assert (await resp.json())["decision"]["status"] == "excluded"
    await mail_api.client.app[JOBS].wait_idle()
    case = await _case(mail_api, "c3")
    assert case["meeting"] is None
    assert case["history"][-1]["trigger"] == "update"


async def test_closing_on_both_databases(demo_config: MunicipalityConfig,
                                         database_url: str) -> None:
    """Closing writes the case, its cancelled meeting and what cancelling adds, then marks
    every open task of the case done and writes its entry (plain statements after one
    flush): on SQLite and PostgreSQL alike, every open task is done and `case.close` (then
    `case.close_again`) are the case's last entries, stamped now."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(database_url), clock=clock):
        await intake(api, body("z1"))
        app = api.client.app
        async with app[DB].write() as session:
            meeting = (await session.execute(select(Meeting))).unique().scalar_one()
            session.add(ConsultantTask(
                municipality_id=meeting.municipality_id, consultant_id=meeting.consultant_id,
                case_id=meeting.case_id, kind="agreement", text="Ring til Lone"))
        clock.set(clock.local_now().replace(tzinfo=None) + timedelta(minutes=5))
        manager = Principal(key_id=0, name="leder", role="manager",
                            municipality_id=demo_config.municipality.id)
        closed = await app[CASE_CLOSING].close("z1", "recovered", clock.today(), "", manager)
        assert (closed.again, closed.meetings_cancelled) == (False, 1)
        again = await app[CASE_CLOSING].close("z1", "dismissed", clock.today(), "", manager)
        assert again.again and again.outcome == "recovered"
        async with app[DB].read() as session:
            tasks = (await session.execute(select(ConsultantTask.done_at))).scalars().all()
            entries = (await session.execute(select(AuditEntry).where(
                AuditEntry.case_id == meeting.case_id).order_by(AuditEntry.id))
            ).scalars().all()
            status = (await session.execute(select(Meeting.status))).scalar_one()
        assert status == "cancelled"
        assert tasks and all(t is not None and as_utc(t) == clock.utcnow() for t in tasks)
        assert [e.action for e in entries][-2:] == ["case.close", "case.close_again"]
        assert entries[-2].details == {"outcome": "recovered",
                                       "on": clock.today().isoformat(),
                                       "meetings_cancelled": 1}
        assert {as_utc(e.at) for e in entries[-2:]} == {clock.utcnow()}
