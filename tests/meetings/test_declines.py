"""Issue 19 item 5: an employer's decline reaches the consultant first, end to end over SMTP
(aiosmtpd) and the fake Slack Web API, on SQLite. The employer gives a fixed reason (and their
own words, which stay in fasthold); the owner gets a task and a Slack message naming the
reason; the workplace proposal stays for `decline_grace_working_days` (1) — restored with
one click (Slack, the case page, the API), or moved to a jobcentre meeting by the
`end_decline_grace` job. The KPI counts declines and those turned around."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, EMPLOYER_DECLINES, JOBS, MY_WORK, SLACK_HOME
from service.platform.auth import Principal
from service.platform.db.models import ConsultantAbsence, ConsultantTask
from service.platform.jobqueue import PLAN
from service.platform.workdays import add_working_days
from service.text.danish import short_date
from tests.meetings.email_cases import EMPLOYER, body, form_token, intake, invitation
from tests.meetings.test_invitations import App, active, rows
from tests.slack.slack_helpers import buttons, message_to, texts
from tests.slack.test_flow import click, owner_of
from tests.support import (
    Api,
    SmtpSink,
    link_path,
    mail_config,
    make_secrets,
    slack_env,
    start_api,
    start_staff,
    text_part,
    wait_until,
)

OWN_WORDS = "Direktøren vil ikke have det"


@pytest.fixture
async def app(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
              slack_api: FakeSlackApi) -> AsyncIterator[App]:
    """The demo configuration as it is: invitations at once, a grace of 1 working day."""
    clock = SettableClock(datetime.now(UTC), demo_config.municipality.timezone)
    secrets = make_secrets(sqlite_url, FASTHOLD_SMTP_HOST="127.0.0.1",
                           FASTHOLD_SMTP_PORT=str(smtp_sink.port), **slack_env(slack_api))
    async for api in start_api(mail_config(demo_config), secrets, clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield App(api, clock, slack_api)


async def decline(api: Api, path: str, choice: str | None, words: str = "") -> str:
    """Post the page's decline form; returns where it sent the browser."""
    data = {"csrf": await form_token(api, path), "reason": words}
    if choice is not None:
        data["reason_choice"] = choice
    resp = await api.client.post(f"{path}/decline", data=data, allow_redirects=False)
    assert resp.status == 303
    return resp.headers["Location"]


async def kpis_of_this_month(api: Api, clock: SettableClock) -> dict[str, int]:
    month = f"{clock.today():%Y-%m}"
    resp = await api.client.get(f"/api/kpis?from={month}&to={month}",
                                headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    (figures,) = (await resp.json())["months"]
    return {k: figures[k] for k in ("employer_declines", "declines_restored")}


async def test_the_consultant_calls_and_restores_the_workplace_meeting(
        app: App, smtp_sink: SmtpSink) -> None:
    api, fake, clock = app.api, app.fake, app.clock
    await intake(api, body("dec-1"))
    path = link_path(await invitation(smtp_sink))
    case, meetings = await rows(api, "dec-1")
    proposal = active(meetings)

    # Without one of the fixed reasons: a Danish error on the page, their words still in
    # the form (never in a URL), nothing registered.
    for choice in (None, "ombygning"):
        data = {"csrf": await form_token(api, path), "reason": OWN_WORDS}
        if choice is not None:
            data["reason_choice"] = choice
        resp = await api.client.post(f"{path}/decline", data=data, allow_redirects=False)
        assert resp.status == 422 and "Location" not in resp.headers
        page = await resp.text()
        assert 'id="decline-error"' in page and "Vælg en af begrundelserne" in page
        assert f">{OWN_WORDS}</textarea>" in page
    _, meetings = await rows(api, "dec-1")
    assert active(meetings).employer_answer is None

    where = await decline(api, path, "no_sickness_talk", OWN_WORDS)
    page = await (await api.client.get(where)).text()
    assert "Tak for jeres besked" in page and "ringer til jer" in page
    case, meetings = await rows(api, "dec-1")
    declined = active(meetings)  # kept: the same proposal, still proposed
    assert declined.id == proposal.id and declined.status == "proposed"
    assert (declined.decline_reason, declined.decline_note) == ("no_sickness_talk", OWN_WORDS)
    assert case.follow_up == "workplace_meeting"
    received = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                        and "Modtaget" in str(m["Subject"]))
    assert "ringer til jer" in text_part(received[0])
    async with api.client.app[DB].read() as session:
        tasks = list((await session.execute(select(ConsultantTask).where(
            ConsultantTask.case_id == case.id, ConsultantTask.kind == "employer_declined"))
        ).scalars())
    assert len(tasks) == 1 and tasks[0].text.startswith("Ring til arbejdsgiveren")
    assert OWN_WORDS in tasks[0].text  # the staff's task has their words; Slack never
    _, user = await owner_of(api, "dec-1")
    dm = await message_to(fake, fake.dm_channel(user), "kan ikke holde mødet")
    assert "Vil ikke have møder om sygefravær på arbejdspladsen" in texts(dm)
    assert buttons(dm)["restore_decline"] == "Genopret mødet på arbejdspladsen"
    assert "Direktøren" not in str(fake.payloads())

    # The next step says the same on every screen: the call, the reason, the grace's end.
    ends = short_date(add_working_days(clock.today(), 1))
    step = f"Ring til arbejdsgiveren — afslag: Vil ikke have møder om sygefravær på " \
           f"arbejdspladsen, frist {ends}"
    owner, _ = await owner_of(api, "dec-1")
    assert await next_steps(api, "dec-1", owner) == (step, step, step)
    assert f"Næste skridt:* {step}" in str(dm.blocks)

    # Planning keeps the proposal through the grace.
    api.client.app[JOBS].request(PLAN, api.client.app[CONFIG].municipality.id, "test")
    await api.client.app[JOBS].wait_idle()
    _, meetings = await rows(api, "dec-1")
    assert active(meetings).id == proposal.id
    assert await api.client.app[EMPLOYER_DECLINES].scan() == 0  # the same day: in grace

    # The case page shows the reason and the employer's words, with the restore button.
    async for staff in start_staff(api):
        manager = await staff.login("manager")
        _, page = await manager.get("/my-cases/dec-1")
        assert 'id="restore-decline"' in page and OWN_WORDS in page

    # One click in Slack after the call: the workplace meeting stands, the employer told.
    await click(api, fake, user, "restore_decline", "dec-1", dm.channel, dm.ts)
    # The message is updated: the button is gone, so is the call as the next step.
    await wait_until(lambda: "restore_decline" not in buttons(dm), what="the DM updated")
    assert step not in str(dm.blocks)
    restored = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "alligevel"
                                        in str(m["Subject"]))
    text = text_part(restored[0])
    assert "Forslaget står ved magt" in text
    link = re.search(r"https?://[^/\s]+(/m/[A-Za-z0-9_.\-]+)", text)
    assert link
    page = await (await api.client.get(link.group(1))).text()
    assert "Vælg et tidspunkt" in page
    case, meetings = await rows(api, "dec-1")
    assert active(meetings).decline_outcome == "restored"
    assert active(meetings).employer_answer is None and case.follow_up == "workplace_meeting"
    # Nothing more to restore: a clear 409; the grace job leaves it.
    resp = await api.client.post("/api/cases/dec-1/decline/restore",
                                 headers=api.auth("manager"))
    assert resp.status == 409 and "no_pending_decline" in await resp.text()
    assert await kpis_of_this_month(api, clock) == {"employer_declines": 1,
                                                     "declines_restored": 1}
    clock.set_today(add_working_days(clock.today(), 1), hour=9)
    assert await api.client.app[EMPLOYER_DECLINES].scan() == 0


async def test_after_the_grace_the_case_moves_to_the_jobcentre(
        app: App, smtp_sink: SmtpSink) -> None:
    api, clock = app.api, app.clock
    await intake(api, body("dec-2"))
    await invitation(smtp_sink)
    # Phoned in and registered by staff through the API: the reason must be a fixed one.
    for wrong, field in (({"reason": "ombygning"}, "reason"), ({}, "reason"),
                         ({"reason": "other", "note": "x" * 1001}, "note")):
        resp = await api.client.post("/api/cases/dec-2/decline", json=wrong,
                                     headers=api.auth("intake"))
        assert resp.status == 422, await resp.text()
        assert field in {e["field"] for e in (await resp.json())["errors"]}, await resp.text()
    resp = await api.client.post("/api/cases/dec-2/decline", json={
        "reason": "no_rooms", "note": OWN_WORDS}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    _, meetings = await rows(api, "dec-2")
    assert active(meetings).decline_reason == "no_rooms"
    assert await kpis_of_this_month(api, clock) == {"employer_declines": 1,
                                                     "declines_restored": 0}
    # Only the owner or a manager may restore; intake may not.
    resp = await api.client.post("/api/cases/dec-2/decline/restore",
                                 headers=api.auth("intake"))
    assert resp.status == 403

    _, user = await owner_of(api, "dec-2")
    dm = await message_to(app.fake, app.fake.dm_channel(user), "kan ikke holde mødet")
    assert "restore_decline" in buttons(dm)
    clock.set_today(add_working_days(clock.today(), 1), hour=9)
    grace = api.client.app[EMPLOYER_DECLINES]
    assert await grace.scan() == 1
    assert await grace.scan() == 0  # idempotent
    async with api.client.app[DB].read() as session:
        call_tasks = (await session.execute(select(ConsultantTask.done_at).where(
            ConsultantTask.kind == "employer_declined"))).scalars().all()
    assert call_tasks and all(done is not None for done in call_tasks)  # moot: done
    await api.client.app[JOBS].wait_idle()
    case, meetings = await rows(api, "dec-2")
    assert case.follow_up == "jobcenter_meeting"
    assert "followup.declined_by_employer" in case.reasons
    moved = [m for m in meetings if m.kind == "workplace_meeting"]
    assert [(m.status, m.decline_outcome) for m in moved] == [("cancelled", "moved")]
    async def jobcentre_meeting() -> bool:
        _, now = await rows(api, "dec-2")
        # (confirmed with the citizen's letter: a summons, `service.meetings.booking.summon`)
        return any(m.kind == "jobcenter_meeting" and m.status == "confirmed" for m in now)

    await wait_until(jobcentre_meeting, what="a jobcentre meeting planned")
    # The grace is over: the owner's message no longer offers to restore.
    await wait_until(lambda: "restore_decline" not in buttons(dm), what="the DM updated")
    resp = await api.client.post("/api/cases/dec-2/decline/restore",
                                 headers=api.auth("manager"))
    assert resp.status == 409


async def next_steps(api: Api, ref: str, owner: str) -> tuple[str, str, str]:
    """The case's next step on the case page ("Mine sager"), in the Slack Home tab's open
    cases' urgent list, and in a fresh Slack case message."""
    app = api.client.app
    view = await app[MY_WORK].case(ref, Principal(0, "manager", "manager",
                                                  app[CONFIG].municipality.id))
    assert view.next_action is not None
    async with app[DB].read() as session:
        board = await app[SLACK_HOME].dashboard(session, owner)
        case, meetings = await rows(api, ref)
        meeting = next((m for m in meetings if m.status in ("proposed", "confirmed")), None)
        card = await app[SLACK_HOME].notices.card(session, case, meeting)
    (home,) = [i.text for i in board.action if i.case_ref == ref]
    return view.next_action.text, home, card.next_step


async def test_planning_keeps_a_declined_proposal_through_the_grace(app: App,
                                                                    smtp_sink: SmtpSink) -> None:
    """A declined proposal whose time became impossible during the grace (its consultant is
    away that day) is not moved by the planner: the decline, its reason and the restore
    stay with it (the employer was told the consultant calls about that meeting)."""
    api = app.api
    await intake(api, body("dec-3"))
    await invitation(smtp_sink)
    resp = await api.client.post("/api/cases/dec-3/decline", json={"reason": "no_rooms"},
                                 headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    _, meetings = await rows(api, "dec-3")
    declined = active(meetings)
    async with api.client.app[DB].write() as session:
        session.add(ConsultantAbsence(
            municipality_id=declined.municipality_id, consultant_id=declined.consultant_id,
            first_day=declined.start.date(), last_day=declined.start.date(), reason="sygdom",
            created_at=app.clock.utcnow()))
    api.client.app[JOBS].request(PLAN, api.client.app[CONFIG].municipality.id, "test")
    await api.client.app[JOBS].wait_idle()
    _, meetings = await rows(api, "dec-3")
    kept = active(meetings)
    assert (kept.id, kept.start, kept.employer_answer, kept.decline_reason) == (
        declined.id, declined.start, "declined", "no_rooms")
    assert [m.id for m in meetings] == [declined.id]
    # Restored after the call, the proposal is planned as any other again (rule 11): its
    # time is impossible, so it moves.
    resp = await api.client.post("/api/cases/dec-3/decline/restore",
                                 headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    api.client.app[JOBS].request(PLAN, api.client.app[CONFIG].municipality.id, "test")
    await api.client.app[JOBS].wait_idle()
    _, meetings = await rows(api, "dec-3")
    assert active(meetings).id != declined.id
