"""What every channel's sender shares with the outbox: the message to deliver, how a delivery
fails, and how long to keep retrying. Plain data; knows nothing of the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol


class TemporaryFailure(Exception):
    """Try again later (server unreachable, timeout, 4xx reply, rate limit)."""


class PermanentFailure(Exception):
    """Retrying will not help (refused for good, invalid address, unknown channel)."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message from the outbox, as a sender sees it; `message_id` is stable across
    retries, so a retry never looks like a new message."""

    outbox_id: int
    channel: str
    kind: str
    recipient: str
    subject: str
    text: str
    html: str | None
    message_id: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff first, doubling, capped; give up (failed, visible to staff) after `give_up_after`."""

    first: timedelta
    cap: timedelta
    give_up_after: timedelta

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try."""
        return min(self.first * (2 ** max(attempts - 1, 0)), self.cap)


class ChannelSender(Protocol):
    """Delivers messages of one channel; raises TemporaryFailure or PermanentFailure."""

    retry: RetryPolicy

    async def send(self, message: OutboundMessage) -> None: ...
