"""`POST /slack/events`: Slack's events, slash commands and interactions, verified by their
signature and dispatched by the bolt app (never bolt's own web server). Without a signing
secret there is no Slack here: 404.

The route checks the request before bolt sees it: a body larger than any Slack sends is 413
before it is read, and the v0 signature is verified on the raw bytes with the service's
clock (a missing, non-numeric or stale timestamp, or a wrong signature, is 401). A refusal
is logged in one short line without any of the request's content (a stale modal submission
carries what a person typed; bolt's own verification would log the whole body)."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bots.slack.requests import verify
from service.keys import CLOCK, SLACK_BOLT, SLACK_SETTINGS

log = logging.getLogger("fasthold.slack")

# The largest request body taken. Slack documents no limit for what it sends, but the largest
# thing it sends us is a modal's submission: the view (Slack refuses views over 250 kB:
# `view_too_large`) and its input values, URL-encoded. 1 MiB is more than any of that.
MAX_SLACK_BODY = 1024 * 1024
_READ_CHUNK = 64 * 1024


def _refused(request: web.Request, status: int, why: str) -> web.Response:
    log.warning("Slack request refused (%s) from %s: %s", status, request.remote, why)
    return web.json_response({"error": "invalid request" if status == 401 else why},
                             status=status)


async def _body(request: web.Request) -> bytes | None:
    """The whole body, however it arrives (in pieces, chunked), or None if it is larger than
    `MAX_SLACK_BODY`."""
    if request.content_length is not None and request.content_length > MAX_SLACK_BODY:
        return None
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > MAX_SLACK_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def slack_events(request: web.Request) -> web.StreamResponse:
    bolt = request.app.get(SLACK_BOLT)
    settings = request.app.get(SLACK_SETTINGS)
    secret = settings.signing_secret if settings is not None else None
    if bolt is None or not secret:
        return web.json_response({"error": "Slack is not configured here"}, status=404)
    body = await _body(request)
    if body is None:
        return _refused(request, 413, f"request body too large (max {MAX_SLACK_BODY} bytes)")
    why = verify(secret, body, request.headers.get("X-Slack-Request-Timestamp"),
                 request.headers.get("X-Slack-Signature"),
                 request.app[CLOCK].utcnow().timestamp())
    if why is not None:
        return _refused(request, 401, why)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(request, 400, "body is not UTF-8")
    try:
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # Signed, but not of Slack's shapes (bolt reads its parts as it parses it).
        return _refused(request, 400, f"not a Slack payload ({type(exc).__name__})")
    return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/slack/events", slack_events, name="slack_events")
