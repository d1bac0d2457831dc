"""`POST /slack/events` speaks Slack's protocol: signed requests only (unsigned, wrongly
signed and stale ones are 401), an event Slack retries is handled once, the slash command
answers ephemerally in its acknowledgement, the Home tab is published on first open and
again only when it changed."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bots.slack.fake_api import FakeSlackApi
from bots.slack.requests import FORM, JSON, event_callback, signed_headers, slash_command
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, SLACK_HOME
from service.platform.db.models import AuditEntry, OutboxMessage, SlackEvent
from service.slack.api import MAX_SLACK_BODY
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import (
    ANNA,
    INTAKE_USER,
    now_seconds,
    post_event,
    post_signed,
    start_slack_api,
)
from tests.slack.test_reminders import FIXED
from tests.support import SLACK_SIGNING_SECRET, Api, SmtpSink, wait_until


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def test_unsigned_wrongly_signed_and_stale_requests_are_401(api: Api) -> None:
    command = slash_command(ANNA, "hjælp")
    resp = await api.client.post("/slack/events", data=command, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 401
    resp = await post_signed(api, command, secret="not-the-signing-secret")
    assert resp.status == 401
    resp = await post_signed(api, command, timestamp=now_seconds() - 6 * 60)  # > 5 minutes
    assert resp.status == 401
    resp = await post_signed(api, command)
    assert resp.status == 200
    # A signed body that was changed on the way is refused too.
    headers = signed_headers(SLACK_SIGNING_SECRET, command, now_seconds(), FORM)
    changed = command.replace("hj%C3%A6lp", "mine")
    assert changed != command
    resp = await api.client.post("/slack/events", data=changed, headers=headers)
    assert resp.status == 401


async def test_url_verification_answers_the_challenge(api: Api) -> None:
    resp = await post_signed(api, '{"type": "url_verification", "challenge": "abc123", '
                                  '"token": "x"}', JSON)
    assert resp.status == 200
    assert "abc123" in await resp.text()


async def home_publishes(fake: FakeSlackApi, user: str) -> int:
    return len([c for c in fake.calls_of("views.publish") if c.args.get("user_id") == user])


async def test_a_retried_event_is_handled_once(api: Api, slack_api: FakeSlackApi) -> None:
    jobs = api.client.app[JOBS]
    await jobs.wait_idle()
    before = await home_publishes(slack_api, ANNA)
    event = event_callback("Ev0TESTRETRY1", {"type": "app_home_opened", "user": ANNA,
                                              "tab": "home", "channel": "D0DEMO001"})
    first = await post_event(api, event)
    assert first.status == 200
    retry = await post_event(api, event, headers={"X-Slack-Retry-Num": "1",
                                                   "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200
    await jobs.wait_idle()
    async with api.client.app[DB].read() as session:
        assert (await session.execute(select(func.count()).select_from(SlackEvent))
                ).scalar_one() == 1
        reads = (await session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case.list", AuditEntry.actor.like("%via Slack")))
                 ).scalar_one()
    assert reads == 1  # the retry did nothing: not even the audited read
    # The tab was published once at start (and not again: nothing changed).
    await wait_until(lambda: slack_api.homes.get(ANNA), what="Anna's Home tab")
    assert await home_publishes(slack_api, ANNA) == max(before, 1)


async def test_the_home_tab_is_republished_only_when_it_changes(
        api: Api, slack_api: FakeSlackApi) -> None:
    home = api.client.app[SLACK_HOME]
    jobs = api.client.app[JOBS]
    await jobs.wait_idle()
    assert slack_api.homes == {}  # nothing published at start
    await intake(api, body("home-1", employer=FIXED))  # Anna's fixed employer
    await jobs.wait_idle()
    await wait_until(lambda: "home-1" in str(slack_api.homes.get(ANNA)),
                     what="Anna's tab showing the new case (she was told of it)")
    blocks = slack_api.homes[ANNA]["blocks"]
    assert len(blocks) <= 100 and "Åbne sager" in str(blocks)
    published = await home_publishes(slack_api, ANNA)
    assert await home.publish_changed() == 0  # unchanged: nothing published
    await jobs.wait_idle()
    assert await home_publishes(slack_api, ANNA) == published


async def test_the_slash_command_answers_ephemerally(api: Api, slack_api: FakeSlackApi
                                                     ) -> None:
    await intake(api, body("cmd-1", employer=FIXED))
    resp = await post_signed(api, slash_command(ANNA, "mine"))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["response_type"] == "ephemeral"
    assert "cmd-1" in str(answer["blocks"]) and "nærmeste frist" in str(answer["blocks"])
    assert "Mads Madsen" not in str(answer)
    resp = await post_signed(api, slash_command(ANNA, "næste"))
    answer = await resp.json()
    assert "Dine næste møder" in str(answer["blocks"]) and "cmd-1" in str(answer["blocks"])
    resp = await post_signed(api, slash_command(ANNA, "hjælp"))
    assert "/fasthold mine" in str((await resp.json())["blocks"])
    resp = await post_signed(api, slash_command(ANNA, "noget andet"))
    assert "Ukendt kommando" in str(await resp.json())
    resp = await post_signed(api, slash_command("U0NOBODY", "mine"))
    assert "ikke sat op" in str(await resp.json())
    resp = await post_signed(api, slash_command(INTAKE_USER, "mine"))
    assert "ingen sager" in str(await resp.json())
    async with api.client.app[DB].read() as session:
        commands = (await session.execute(select(AuditEntry.details).where(
            AuditEntry.action == "case.list"))).scalars().all()
    assert {"via": "slack_command", "command": "mine", "returned": 1} in commands


async def test_slack_messages_go_through_the_outbox(api: Api, slack_api: FakeSlackApi
                                                    ) -> None:
    await intake(api, body("outbox-1"))
    async with api.client.app[DB].read() as session:
        kinds = set((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.channel == "slack"))).scalars())
    assert {"case_assigned", "intake_assignment"} <= kinds


async def test_the_body_is_checked_before_anyone_reads_it(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Larger than anything Slack sends: 413 before the signature is checked (declared or
    chunked). Unsigned, stale or with a timestamp that is no number: 401, logged in one short
    line that carries nothing of the request (a stale close-modal submission carries what a
    person typed about a citizen's health)."""
    caplog.set_level(logging.DEBUG)
    big = b"payload=" + b"x" * MAX_SLACK_BODY
    resp = await api.client.post("/slack/events", data=big, headers={"Content-Type": FORM})
    assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_SLACK_BODY // 65536 + 2):
            yield b"y" * 65536

    resp = await api.client.post("/slack/events", data=chunks(),
                                 headers={"Content-Type": FORM})
    assert resp.status == 413
    for timestamp in ("abc", "1e9", "", "١٧٠٠٠٠٠٠٠٠", "-1", "+" + str(now_seconds())):
        headers = {**signed_headers(SLACK_SIGNING_SECRET, "x=1", now_seconds(), FORM),
                   "X-Slack-Request-Timestamp": timestamp}
        resp = await api.client.post("/slack/events", data="x=1", headers=headers)
        assert resp.status == 401, timestamp
    stale = slash_command(ANNA, "sygemeldt med depression " + "z" * 200_000)
    for _ in range(20):
        resp = await post_signed(api, stale, timestamp=now_seconds() - 10 * 60)
        assert resp.status == 401
    resp = await api.client.post("/slack/events", data=stale, headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": str(now_seconds()),
        "X-Slack-Signature": "v0=" + "0" * 64})
    assert resp.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "depression" not in logged and "zzzz" not in logged
    # The database drivers' own DEBUG lines (statements of background jobs that happen to run
    # meanwhile) are not about this request.
    long = [(r.name, r.getMessage()[:500]) for r in caplog.records
            if len(r.getMessage()) >= 400 and not r.name.startswith(("aiosqlite", "sqlalchemy"))]
    assert not long, long
    assert "Slack request refused (401)" in logged


async def test_a_signed_body_that_is_not_utf8_is_400(api: Api) -> None:
    body = b"payload=\xff\xfe"
    timestamp = str(now_seconds())
    signature = "v0=" + hmac.new(SLACK_SIGNING_SECRET.encode(),
                                 b"v0:" + timestamp.encode() + b":" + body,
                                 hashlib.sha256).hexdigest()
    resp = await api.client.post("/slack/events", data=body, headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature})
    assert resp.status == 400
