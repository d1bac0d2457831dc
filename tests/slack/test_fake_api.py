"""The fake Slack Web API answers as Slack does, to the real slack_sdk client over HTTP:
auth, posting into a user's DM or a channel the bot is in, updating by channel and ts,
modals only with a fresh trigger id, Home tabs within the block limit, and refusals on
demand (429 with Retry-After, 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.fake_api import BOT_USER_ID, FakeSlackApi


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    running = await FakeSlackApi(users={"U1", "U2"}, channels={"C1"}).start()
    try:
        yield running
    finally:
        await running.stop()


def client(fake: FakeSlackApi, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or fake.token, base_url=fake.base_url, retry_handlers=[])


async def error_of(call: object) -> tuple[int, str]:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return raised.value.response.status_code, raised.value.response["error"]


async def test_it_answers_like_slack(fake: FakeSlackApi) -> None:
    web = client(fake)
    assert (await web.auth_test())["user_id"] == BOT_USER_ID
    assert await error_of(client(fake, "xoxb-wrong").auth_test()) == (200, "invalid_auth")
    posted = await web.chat_postMessage(channel="U1", text="hej")
    assert posted["channel"] == "D1"
    assert await error_of(web.chat_postMessage(channel="U9", text="x")) == (
        200, "channel_not_found")
    assert await error_of(web.chat_postMessage(channel="C2", text="x")) == (
        200, "not_in_channel")
    await web.chat_update(channel="D1", ts=posted["ts"], text="opdateret")
    assert fake.conversation("D1")[0].text == "opdateret"
    assert await error_of(web.chat_update(channel="D1", ts="1.2", text="x")) == (
        200, "message_not_found")
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    assert await error_of(web.views_open(trigger_id="made-up", view=modal)) == (
        200, "invalid_trigger")
    trigger = fake.issue_trigger("U2")
    await web.views_open(trigger_id=trigger, view=modal)
    assert fake.open_view("U2") is not None
    assert await error_of(web.views_open(trigger_id=trigger, view=modal)) == (
        200, "invalid_trigger")  # a trigger id works once
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert await error_of(web.views_publish(user_id="U1", view=too_many)) == (
        200, "invalid_arguments")
    await web.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert fake.homes["U1"] == {"type": "home", "blocks": []}


async def test_it_refuses_on_demand(fake: FakeSlackApi) -> None:
    web = client(fake)
    fake.refuse_next("chat.postMessage", 429, retry_after=12)
    with pytest.raises(SlackApiError) as raised:
        await web.chat_postMessage(channel="U1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "12"
    fake.refuse_next("views.publish", 500, error="internal_error")
    assert await error_of(web.views_publish(user_id="U1", view={"type": "home", "blocks": []})
                          ) == (500, "internal_error")
    await web.chat_postMessage(channel="U1", text="nu virker det")
    assert [c.status for c in fake.calls] == [429, 500, 200]
