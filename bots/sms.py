"""The SMS channel: an outbox message of channel `sms` is handed to the municipality's SMS
gateway over HTTP (a JSON POST to the configured URL). Off by default (`[sms] enabled`). The
outbox retries it as it retries e-mail, for a shorter time — a reminder for tomorrow is of no
use the day after: a gateway that is down or answers 5xx/429 is tried again with backoff; a
4xx refusal (a landline, a number that does not exist) fails for good, and the case's owner
is told to call.

The message carries its stable `message_id` (also as `Idempotency-Key`), so a retry is never
a second text. Plain data; knows nothing of the service."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp

from bots.delivery import OutboundMessage, RetryPolicy
from bots.http_gateway import post_to_gateway

# A reminder for tomorrow is of no use the day after: given up after 6 hours even while the
# gateway is down (the case's owner is then told to call), unlike e-mail and letters.
SMS_RETRY = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=15),
                        give_up_after=timedelta(hours=6), outlast_outage=False)

_SEPARATORS = re.compile(r"[\s().-]")
_DANISH = re.compile(r"(?:\+45|0045)?([2-9][0-9]{7})")
_INTERNATIONAL = re.compile(r"(?:\+|00)([1-9][0-9]{7,14})")


def mobile_number(phone: str | None) -> str | None:
    """A phone number as typed at intake ("20 12 34 56", "+45 2012 3456", "0046 70 123 45
    67") as the gateway takes it, E.164 ("+4520123456"); None where it is no number a text
    can go to (empty, letters, a note, too short). Whether it is a mobile is the gateway's to
    say: a Danish landline is refused there, and the owner is told."""
    if not phone:
        return None
    digits = _SEPARATORS.sub("", phone)
    danish = _DANISH.fullmatch(digits)
    if danish:
        return f"+45{danish.group(1)}"
    other = _INTERNATIONAL.fullmatch(digits)
    return f"+{other.group(1)}" if other else None


class SmsGateway:
    """Sends the outbox's texts to an SMS gateway at `url`, from `sender`."""

    def __init__(self, url: str, sender: str, timeout_seconds: float = 20.0,
                 retry: RetryPolicy = SMS_RETRY) -> None:
        self.url = url
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.retry = retry

    def body(self, message: OutboundMessage) -> dict[str, object]:
        return {"message_id": message.message_id, "kind": message.kind,
                "from": self.sender, "to": message.recipient, "text": message.text}

    async def send(self, message: OutboundMessage) -> None:
        await post_to_gateway(self.url, self.body(message), message.message_id, self.timeout,
                              "SMS gateway", "the text")
