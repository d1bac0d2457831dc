"""Handing a message to a gateway over HTTP, as the Digital Post and SMS senders do: a JSON
POST with the message's stable id as `Idempotency-Key` (a retry is never a second message),
and the answer sorted into the outbox's outcomes — 2xx delivered; unreachable, a timeout,
429 or 5xx: the gateway is unavailable, tried again later (`ServerUnavailable`: not the
message's fault); another answer refused for good (`PermanentFailure`). Plain data; knows
nothing of the service."""

from __future__ import annotations

import aiohttp

from bots.delivery import PermanentFailure, ServerUnavailable


async def post_to_gateway(url: str, body: dict[str, object], message_id: str,
                          timeout: aiohttp.ClientTimeout, gateway: str, what: str) -> None:
    """POST `body` to `url`; `gateway` and `what` ("Digital Post", "the letter") name them in
    the failure's message (which staff see under "Forsendelser")."""
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.post(url, json=body, headers={"Idempotency-Key": message_id}) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ServerUnavailable(f"{gateway} unreachable: {type(exc).__name__}") from exc
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise ServerUnavailable(f"{gateway} answered {status}")
    raise PermanentFailure(f"{gateway} refused {what} ({status})")
