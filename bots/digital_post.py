"""The letter channel's seam for Digital Post (e-Boks): an outbox letter is handed to a
Digital Post gateway over HTTP (a JSON POST to the configured URL) instead of waiting to be
printed. Off by default (`[letters] digital_post`). The same outbox retries it as e-mail is
retried: a gateway that is down or answers 5xx/429 is tried again with backoff; a 4xx
refusal fails for good (staff see it under "Forsendelser").

The message carries its stable `message_id` (also as `Idempotency-Key`), so a retry is never
a second letter. Plain data; knows nothing of the service. A real gateway addresses the
citizen by CPR: resolving it belongs to the adapter in front of the gateway, never to the
outbox row (which holds no CPR)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from bots.delivery import OutboundMessage, RetryPolicy
from bots.http_gateway import post_to_gateway

DIGITAL_POST_RETRY = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=30),
                                 give_up_after=timedelta(hours=26))


class DigitalPost:
    """Sends the outbox's letters to a Digital Post gateway at `url`."""

    def __init__(self, url: str, timeout_seconds: float = 20.0,
                 retry: RetryPolicy = DIGITAL_POST_RETRY) -> None:
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.retry = retry

    @staticmethod
    def body(message: OutboundMessage) -> dict[str, object]:
        return {"message_id": message.message_id, "kind": message.kind,
                "recipient": message.recipient, "subject": message.subject,
                "text": message.text, "html": message.html,
                "case_ref": message.payload.get("case_ref")}

    async def send(self, message: OutboundMessage) -> None:
        await post_to_gateway(self.url, self.body(message), message.message_id, self.timeout,
                              "Digital Post", "the letter")
