"""Without a bot token the service runs as before: no call to Slack at start-up or later,
Slack messages wait in the outbox (pending) for a token, and `/slack/events` is not there.
With one, starting makes no call either: the first call is the first message."""

from __future__ import annotations

from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import start_slack_api
from tests.support import make_secrets, start_api


async def test_without_a_token_slack_messages_wait_in_the_outbox(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi) -> None:
    secrets = make_secrets(sqlite_url, FASTHOLD_SLACK_API_URL=slack_api.base_url,
                           FASTHOLD_SLACK_INTAKE_CHANNEL="C0INTAKE")
    async for api in start_api(demo_config, secrets):
        await intake(api, body("quiet-1"))
        await api.client.app[JOBS].wait_idle()
        async with api.client.app[DB].read() as session:
            rows = (await session.execute(select(OutboxMessage.kind, OutboxMessage.status)
                                          .where(OutboxMessage.channel == "slack"))).all()
        assert ("case_assigned", "pending") in rows and ("intake_assignment", "pending") in rows
        assert {status for _, status in rows} == {"pending"}
        resp = await api.client.post("/slack/events", data="x")
        assert resp.status == 404
    assert slack_api.calls == []


async def test_starting_with_a_token_calls_nothing(
        demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi) -> None:
    async for api in start_slack_api(demo_config, sqlite_url, slack_api, smtp_port=2525):
        await api.client.app[JOBS].wait_idle()
        assert slack_api.calls == []
