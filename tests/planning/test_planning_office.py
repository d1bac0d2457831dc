"""Issue 18 in the service's planning: a full fixed consultant is not a dead end (item 8), stable
plans (item 7) and notice people can live with (item 10). Against the fake Slack API and the
SMTP sink; sqlite only (nothing here is about the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from optimizer.calendar import danish_holidays
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, JOBS
from service.platform.db.models import CalendarEntry, Case, Consultant, Meeting, OutboxMessage
from service.platform.jobqueue import PLAN
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import message_to, start_slack_api, texts
from tests.support import (
    SLACK_INTAKE_CHANNEL,
    Api,
    SmtpSink,
    mail_config,
    make_secrets,
    start_api,
    start_staff,
)

FIXED_CVR = "29189919"  # config/demo.toml: anna's fixed employer; anna, bo, camilla are "vest"


def _config(config: MunicipalityConfig, rule: str) -> MunicipalityConfig:
    """anna (fixed for FIXED_CVR) has room for one case only."""
    consultants = [c.model_copy(update={"max_active_cases": 1}) if c.id == "anna" else c
                   for c in config.consultants]
    return config.model_copy(update={
        "consultants": consultants,
        "planning": config.planning.model_copy(update={"fixed_employers": rule})})


def _fixed(n: int) -> dict[str, Any]:
    return body(f"fix-{n}", employer={
        "cvr": FIXED_CVR, "name": "Fast Kunde A/S", "contact_name": "Lone Berg",
        "contact_email": f"leder{n}@fastkunde.example", "address": "Fabriksvej 3, 7400 Herning",
        "location": {"lat": 56.17, "lon": 9.01}})


async def _owners(api: Api) -> dict[str, str | None]:
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(Case.case_ref, Consultant.key).outerjoin(
            Consultant, Case.owner_id == Consultant.id))).all()
    return {ref: key for ref, key in rows}


async def _slack_app(config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
                     smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def test_full_fixed_consultant_preferred_gives_the_team(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    async for api in _slack_app(_config(demo_config, "preferred"), sqlite_url, slack_api,
                                smtp_sink):
        await intake(api, _fixed(1))
        await intake(api, _fixed(2))
        owners = await _owners(api)
        assert owners["fix-1"] == "anna"
        assert owners["fix-2"] in ("bo", "camilla")  # anna's team "vest"
        resp = await api.client.get("/api/cases/fix-2", headers=api.auth("intake"))
        reasons = (await resp.json())["owner"]["reasons"]
        assert "virksomhedens faste konsulent har ikke plads — samme team" in reasons
        assert not [p for p in slack_api.conversation(SLACK_INTAKE_CHANNEL)
                    if "ingen konsulent" in texts(p)]


async def test_full_fixed_consultant_hard_is_posted_once_and_listed(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    async for api in _slack_app(_config(demo_config, "hard"), sqlite_url, slack_api,
                                smtp_sink):
        await intake(api, _fixed(1))
        await intake(api, _fixed(2))
        assert (await _owners(api))["fix-2"] is None
        post = await message_to(slack_api, SLACK_INTAKE_CHANNEL, "fix-2 har ingen konsulent")
        assert "virksomhedens faste konsulent har ikke plads" in texts(post)
        assert "change_owner" in str(post.blocks)
        # planning again (twice) does not post it again: once per case and reason
        for _ in range(2):
            await api.client.app[JOBS].run_now(PLAN, api.client.app[CONFIG].municipality.id,
                                               "test")
        await api.client.app[JOBS].wait_idle()
        async with api.client.app[DB].read() as session:
            posts = (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.kind == "intake_unassigned"))).scalars().all()
        assert len(posts) == 1
        # the dashboard lists it with its reason and a one-click choice of owner (the owner
        # override of intake); intake may open it
        async for staff in start_staff(api):
            browser = await staff.login("intake")
            resp, html = await browser.get("/dashboard")
            assert resp.status == 200, html
            assert "Sager uden konsulent" in html and "fix-2" in html
            assert "virksomhedens faste konsulent har ikke plads" in html
            assert 'action="/cases/fix-2/owner"' in html
            # its choice of owner is the case's eligible owners (service.consultants.choices,
            # as the case page and Slack offer them): eva holds no workplace meetings yet
            form = html[html.index('action="/cases/fix-2/owner"'):]
            form = form[:form.index("</form>")]
            assert 'value="camilla"' in form and 'value="eva"' not in form
            resp, _ = await browser.post("/cases/fix-2/owner", {
                "category": "capacity", "consultant_id": "camilla"})
            assert resp.status == 200
            assert (await _owners(api))["fix-2"] == "camilla"
            # the intake channel's post says who took it
            await message_to(slack_api, SLACK_INTAKE_CHANNEL, "flyttet til Camilla")


async def _meetings(api: Api) -> dict[str, Meeting]:
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(Meeting).where(
            Meeting.status.in_(("proposed", "confirmed"))))).unique().scalars().all()
    return {m.case.case_ref: m for m in rows}


async def test_busy_time_over_one_sent_proposal_moves_only_that_one(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
        smtp_sink: SmtpSink) -> None:
    """Rule 11 per meeting: a calendar entry over one invited proposal moves that one (the
    employer is told, the consultant gets a Slack notice); the others and an unrelated new
    case move nothing."""
    async for api in _slack_app(demo_config, sqlite_url, slack_api, smtp_sink):
        for n in range(3):
            await intake(api, _fixed(10 + n))
        before = await _meetings(api)
        assert all(m.invited_at is not None for m in before.values())
        hit = before["fix-10"]
        async with api.client.app[DB].write() as session:
            session.add(CalendarEntry(municipality_id=hit.municipality_id,
                                      consultant_id=hit.consultant_id,
                                      start=hit.start,
                                      end=hit.end, title="kursus"))
        await api.client.app[JOBS].run_now(PLAN, api.client.app[CONFIG].municipality.id,
                                           "test")
        await intake(api, body("other-1"))  # an unrelated new case, planned too
        after = await _meetings(api)
        assert after["fix-10"].start != hit.start
        for ref in ("fix-11", "fix-12"):
            assert (after[ref].id, after[ref].start) == (before[ref].id, before[ref].start)
        async with api.client.app[DB].read() as session:
            mails = (await session.execute(select(OutboxMessage.kind).where(
                OutboxMessage.case_id == hit.case_id, OutboxMessage.channel == "email")
                .order_by(OutboxMessage.id))).scalars().all()
        assert mails[-2:] == ["employer_cancelled", "employer_invitation"]  # moved, new time
        owner_dm = {"anna": "D0DEMO001"}[hit.consultant.key]
        notice = await message_to(slack_api, owner_dm, "flyttet det foreslåede møde")
        assert "fix-10" in texts(notice) and "kan ikke længere" in texts(notice)


async def test_notice_in_working_days_from_a_friday_afternoon(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """As of Friday 14:07 with min_notice_days 2: no meeting on Monday or Tuesday, and with
    the deadline weeks away the proposal gives at least 3 working days' notice (Thursday)."""
    friday = datetime(2026, 11, 20, 14, 7)  # a Friday
    assert friday.weekday() == 4 and friday.date() not in danish_holidays(friday.date(),
                                                                           friday.date())
    clock = SettableClock(friday)
    async for api in start_api(mail_config(demo_config), make_secrets(sqlite_url),
                               clock=clock):
        await api.client.app[JOBS].wait_idle()
        data = body("notice-1", first_absence_day=(friday.date()
                                                   - timedelta(days=10)).isoformat())
        assert (await api.client.post("/api/cases", json=data,
                                      headers=api.auth("intake"))).status == 201
        await api.client.app[JOBS].wait_idle()
        meeting = (await _meetings(api))["notice-1"]
        assert meeting.start.date() >= date(2026, 11, 26)  # Thursday: Mon, Tue, Wed notice
        assert meeting.start.date() not in (date(2026, 11, 23), date(2026, 11, 24))
