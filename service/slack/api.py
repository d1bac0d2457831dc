"""`POST /slack/events`: Slack's events, slash commands and interactions, verified by their
signature and dispatched by the bolt app through its aiohttp adapter functions (never bolt's
own web server). Without a signing secret there is no Slack here: 404."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from service.keys import SLACK_BOLT


async def slack_events(request: web.Request) -> web.StreamResponse:
    bolt = request.app.get(SLACK_BOLT)
    if bolt is None:
        return web.json_response({"error": "Slack is not configured here"}, status=404)
    return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/slack/events", slack_events, name="slack_events")
