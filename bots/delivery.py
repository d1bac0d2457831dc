"""What every channel's sender shares with the outbox: the message to deliver, how a delivery
fails, and how long to keep retrying. Plain data; knows nothing of the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol


class TemporaryFailure(Exception):
    """Try again later (server unreachable, timeout, 4xx reply, rate limit)."""


class ServerUnavailable(TemporaryFailure):
    """Our own server could not be reached or would not take the message — the
    municipality's SMTP relay (connection refused or timed out, TLS, login, a 4xx to the
    session), an SMS or Digital Post gateway (unreachable, 5xx), Slack's API (down): not the
    message's fault nor its recipient's. The outbox keeps such messages waiting and tries the
    channel again with its backoff (never more seldom than `RetryPolicy.cap`) until the
    server answers, instead of failing them after `give_up_after` (unless the channel's
    policy says `outlast_outage=False`); the operator is alerted meanwhile."""


class PermanentFailure(Exception):
    """Retrying will not help (refused for good, invalid address, unknown channel, a message
    that cannot be built)."""


class NotYet(TemporaryFailure):
    """Not a failure: the message must wait for another to be delivered first (an update for
    the post it updates). Tried again after `retry_after`; logged quietly."""

    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Obsolete(Exception):  # noqa: N818 - an outcome, not an error
    """Nothing left to deliver (an update of a message that was never posted and never will
    be): the message is closed as obsolete — neither sent nor failed, never tried again."""


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
    attempt: int = 1  # this is the message's n-th try (a sender may wait longer each time)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff first, doubling, capped; give up (failed, visible to staff) after
    `give_up_after` — for failures that concern the message or its recipient. While the
    channel's own server is unavailable (`ServerUnavailable`) a message waits as long as the
    outage lasts, unless `outlast_outage` is False (a message of no use later: the SMS
    reminder for tomorrow)."""

    first: timedelta
    cap: timedelta
    give_up_after: timedelta
    outlast_outage: bool = True

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try (the doubling stops at the cap: a
        message tried for a day never computes a wait too long to represent)."""
        return grow(self.first, attempts, self.cap)


def grow(first: timedelta, attempts: int, cap: timedelta) -> timedelta:
    """`first` after the first try, doubling after each further one, never above `cap`."""
    wait = first
    for _ in range(max(attempts - 1, 0)):
        if wait >= cap:
            break
        wait *= 2
    return min(wait, cap)


class ChannelSender(Protocol):
    """Delivers messages of one channel; raises TemporaryFailure or PermanentFailure."""

    retry: RetryPolicy

    async def send(self, message: OutboundMessage) -> None: ...
