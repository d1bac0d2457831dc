"""The Slack channel of the outbox: an outbox message becomes a Web API call through
slack_sdk's AsyncWebClient — `chat.postMessage` (to a user id: the app's DM with them; or to
a channel), `chat.update` or `chat.delete` of a message posted earlier, `chat.postEphemeral`, or
`views.publish` (a Home tab). The payload says which (`payload["method"]`).

Failures: a 429 is retried after its `Retry-After`; 5xx answers, network errors and a bot
token Slack does not take (`invalid_auth`, `token_revoked`, …) mean Slack cannot be used now
(`ServerUnavailable`: not the message's fault), retried with the outbox's backoff for as long
as that lasts (slack_sdk's own retry handlers are off: the outbox is durable, a sleeping
retry in memory is not). An unknown user or a channel the bot is not in
falls back to an e-mail (`EmailFallback`), and the Slack message is marked failed with the
reason, visible to staff. Each message is posted once: where it landed is recorded
(`PostLog`) before the outbox marks it sent, and a message already recorded is not posted
again after a crash.

An update (`chat.update`) of a message whose post is still due waits for it, longer after
each try (5 s, 10 s, 20 s, … up to the backoff's cap); an update of a message that will never
be posted (it failed, went by e-mail instead, or is gone) is obsolete: closed, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.delivery import (
    NotYet,
    Obsolete,
    OutboundMessage,
    PermanentFailure,
    RetryPolicy,
    ServerUnavailable,
    TemporaryFailure,
    grow,
)

log = logging.getLogger("fasthold.slack")

SLACK_RETRY = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=15),
                          give_up_after=timedelta(hours=24))
DEFAULT_RETRY_AFTER = timedelta(seconds=60)
# Slack's answers that mean "this person or channel cannot get it from the bot": e-mail.
UNREACHABLE = frozenset({"channel_not_found", "user_not_found", "not_in_channel",
                         "is_archived", "user_disabled", "cannot_dm_bot"})
# Slack's answers that mean the app's token cannot be used: the municipality's to mend, not
# the message's fault (retried while it lasts, the operator alerted).
TOKEN_REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                           "token_expired", "team_access_not_granted"})
METHODS = ("chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral",
           "views.publish")
TIMEOUT_SECONDS = 10


class RetryLater(TemporaryFailure):
    """Try again after `retry_after` (the outbox honours it instead of its backoff)."""

    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(RetryLater):
    """Slack said 429: try again after its Retry-After."""


# An update whose message is not posted yet: the post is due first, so look again soon —
# then, while the post keeps failing, less and less often.
UPDATE_WAIT = timedelta(seconds=5)


class PostLog(Protocol):
    """Where posted messages landed (the service keeps it in its database)."""

    async def posted(self, outbox_id: int) -> tuple[str, str] | None:
        """(channel, ts) of the outbox message's post, or None if it was not posted."""
        ...

    async def waiting(self, outbox_id: int) -> bool:
        """Whether the outbox message is still to be delivered (pending or being sent)."""
        ...

    async def record(self, message: OutboundMessage, channel: str, ts: str) -> None: ...


class EmailFallback(Protocol):
    async def send_by_email(self, message: OutboundMessage, reason: str) -> str | None:
        """Put an e-mail with the message's content in the outbox instead; returns to whom,
        or None when nobody can get it by e-mail."""
        ...


def make_client(token: str, api_url: str | None) -> AsyncWebClient:
    """The Web API client: `api_url` points it at another server (the fake, in tests and the
    demo); no retry handlers (the outbox retries)."""
    kwargs: dict[str, Any] = {"token": token, "timeout": TIMEOUT_SECONDS, "retry_handlers": []}
    if api_url:
        kwargs["base_url"] = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(**kwargs)


class SlackChannel:
    """Sends the outbox's Slack messages with one bot token."""

    def __init__(self, client: AsyncWebClient, posts: PostLog, fallback: EmailFallback,
                 now: Callable[[], datetime], retry: RetryPolicy = SLACK_RETRY) -> None:
        self.client = client
        self.posts = posts
        self.fallback = fallback
        self.now = now
        self.retry = retry
        # Slack limits each method separately: after a 429, wait before calling it again.
        self._paused_until: dict[str, datetime] = {}

    async def send(self, message: OutboundMessage) -> None:
        payload = message.payload
        method = str(payload.get("method") or "chat.postMessage")
        if method not in METHODS:
            raise PermanentFailure(f"Slack: unknown method {method!r}")
        paused = self._paused_until.get(method)
        if paused is not None and paused > self.now():
            raise RateLimited(f"Slack: {method} rate limited (429), waiting until "
                              f"{paused.isoformat(timespec='seconds')}", paused - self.now())
        if method == "chat.postMessage":
            await self._post(message)
        elif method == "chat.update":
            await self._update(message)
        elif method == "chat.delete":
            await self._delete(message)
        elif method == "chat.postEphemeral":
            await self._call(method, message, self.client.chat_postEphemeral(
                channel=str(payload.get("channel") or message.recipient),
                user=message.recipient, text=str(payload.get("text") or message.text),
                blocks=payload.get("blocks")))
        else:
            await self._call(method, message, self.client.views_publish(
                user_id=message.recipient, view=payload["view"]))

    async def _post(self, message: OutboundMessage) -> None:
        if await self.posts.posted(message.outbox_id) is not None:
            return  # posted before a crash or a lost answer: never twice
        payload = message.payload
        answer = await self._call("chat.postMessage", message, self.client.chat_postMessage(
            channel=message.recipient, text=str(payload.get("text") or message.text),
            blocks=payload.get("blocks"), unfurl_links=False, unfurl_media=False))
        await self.posts.record(message, str(answer["channel"]), str(answer["ts"]))

    async def _update(self, message: OutboundMessage) -> None:
        payload = message.payload
        try:
            original = int(payload.get("update_of") or 0)
        except (TypeError, ValueError):
            original = 0
        target = await self.posts.posted(original) if original > 0 else None
        if target is None:
            if original > 0 and await self.posts.waiting(original):
                wait = grow(UPDATE_WAIT, message.attempt, self.retry.cap)
                raise NotYet(f"Slack: the message to update ({original}) is not posted yet",
                             wait)
            raise Obsolete(f"Slack: the message to update ({original or 'none'}) was never "
                           "posted and will not be; nothing to update")
        channel, ts = target
        await self._call("chat.update", message, self.client.chat_update(
            channel=channel, ts=ts, text=str(payload.get("text") or message.text),
            blocks=payload.get("blocks")))

    async def _delete(self, message: OutboundMessage) -> None:
        """A message that was never posted, or is gone already, needs no deleting."""
        target = await self.posts.posted(int(message.payload.get("update_of") or 0))
        if target is None:
            return
        channel, ts = target
        await self._call("chat.delete", message, self.client.chat_delete(channel=channel, ts=ts))

    async def _call(self, method: str, message: OutboundMessage, call: Any) -> Any:
        try:
            return await call
        except SlackApiError as exc:
            response = exc.response
            status = int(getattr(response, "status_code", 0) or 0)
            error = _error_code(response)
            if status == 429:
                wait = _retry_after(response)
                self._paused_until[method] = self.now() + wait
                raise RateLimited(f"Slack: {method} rate limited (429), retry after "
                                  f"{int(wait.total_seconds())} s", wait) from None
            if method == "chat.delete" and error == "message_not_found":
                return None  # deleted already
            if status >= 500:
                raise ServerUnavailable(f"Slack: {method} answered {status} ({error})") from None
            if error in TOKEN_REFUSED:
                raise ServerUnavailable(f"Slack: {method}: {error} (the bot token)") from None
            if error in UNREACHABLE and method == "chat.postMessage":
                to = await self.fallback.send_by_email(message, error)
                raise PermanentFailure(
                    f"Slack: {error}; sent by e-mail to {to} instead" if to
                    else f"Slack: {error}; nobody to e-mail instead") from None
            if error == "ratelimited":
                raise TemporaryFailure(f"Slack: {method}: {error}") from None
            if error in ("service_unavailable", "request_timeout", "fatal_error",
                         "internal_error"):
                raise ServerUnavailable(f"Slack: {method}: {error}") from None
            raise PermanentFailure(f"Slack: {method}: {error}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ServerUnavailable(f"Slack: {method}: {type(exc).__name__}: {exc}") from None


def _error_code(response: Any) -> str:
    try:
        return str(response.get("error") or "unknown_error")
    except (AttributeError, TypeError, ValueError):
        return "unknown_error"


def _retry_after(response: Any) -> timedelta:
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        seconds = int(str(raw))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return timedelta(seconds=min(max(seconds, 1), 3600))
