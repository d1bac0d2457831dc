"""In-memory senders for the outbox's channels: what would have gone out by e-mail or
Slack is kept in memory (the simulation's employers read their mail here)."""

from __future__ import annotations

from collections import Counter, deque
from datetime import timedelta

from bots.delivery import OutboundMessage, RetryPolicy

RETRY = RetryPolicy(first=timedelta(minutes=5), cap=timedelta(hours=1),
                    give_up_after=timedelta(hours=26))


class MemorySender:
    """A channel sender that always succeeds; new messages wait in `inbox` to be read."""

    retry = RETRY

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.inbox: deque[OutboundMessage] = deque()
        self.sent: Counter[str] = Counter()

    async def send(self, message: OutboundMessage) -> None:
        self.sent[message.kind] += 1
        self.inbox.append(message)

    def take(self) -> list[OutboundMessage]:
        out = list(self.inbox)
        self.inbox.clear()
        return out
