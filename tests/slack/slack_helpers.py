"""Shared by the Slack tests: the app wired to the fake Slack Web API (and an SMTP sink),
signed requests to `/slack/events`, and waiting for what the bot sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientResponse

from bots.slack.fake_api import FakeSlackApi, Posted
from bots.slack.requests import FORM, JSON, signed_headers
from service.config import MunicipalityConfig
from service.keys import JOBS
from tests.support import (
    SLACK_SIGNING_SECRET,
    SYSTEM_CLOCK,
    Api,
    mail_config,
    make_secrets,
    slack_env,
    start_api,
    wait_until,
)

ANNA, BO = "U0DEMO001", "U0DEMO002"
INTAKE_USER, MANAGER = "U0DEMOINT", "U0DEMOMGR"


async def start_slack_api(config: MunicipalityConfig, database_url: str, fake: FakeSlackApi,
                          smtp_port: int, **env: str) -> AsyncIterator[Api]:
    secrets = make_secrets(database_url, FASTHOLD_SMTP_HOST="127.0.0.1",
                           FASTHOLD_SMTP_PORT=str(smtp_port), **{**slack_env(fake), **env})
    async for api in start_api(mail_config(config), secrets):
        await api.client.app[JOBS].wait_idle()
        yield api


def now_seconds() -> int:
    return int(SYSTEM_CLOCK.utcnow().timestamp())


async def post_signed(api: Api, body: str, content_type: str = FORM, *,
                      timestamp: int | None = None, secret: str = SLACK_SIGNING_SECRET,
                      headers: dict[str, str] | None = None) -> ClientResponse:
    signed = signed_headers(secret, body, now_seconds() if timestamp is None else timestamp,
                            content_type)
    return await api.client.post("/slack/events", data=body.encode("utf-8"),
                                 headers={**signed, **(headers or {})})


async def post_event(api: Api, body: str, **kwargs: Any) -> ClientResponse:
    return await post_signed(api, body, JSON, **kwargs)


def texts(posted: Posted) -> str:
    """Everything a message shows, as text (blocks' texts and buttons' labels)."""
    out = [posted.text]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                out.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(posted.blocks)
    return "\n".join(out)


async def message_to(fake: FakeSlackApi, channel: str, containing: str,
                     timeout: float = 20.0) -> Posted:
    """The first message in `channel` (a DM id or channel) whose text contains `containing`."""

    def found() -> Posted | None:
        return next((p for p in fake.conversation(channel) if containing in texts(p)), None)

    def what() -> str:
        return f"a message with {containing!r} in {channel}; got: " + " | ".join(
            texts(p)[:120] for p in fake.conversation(channel))

    return await wait_until(found, timeout, what)


def buttons(posted: Posted) -> dict[str, str]:
    """The message's buttons: action id -> label."""
    return {e["action_id"]: e["text"]["text"] for b in posted.blocks
            if b.get("type") == "actions" for e in b["elements"]}
