"""A consultant's own calendar over HTTP: `PUT|GET|DELETE /api/consultants/{consultant_id}/
calendar-feed` (managers and admins for everyone, a consultant for their own)."""

from __future__ import annotations

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, Field

from service.calendars.imports import FEED_RULES, ROLES, FeedIn
from service.keys import CALENDAR_IMPORTS
from service.platform.http import json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document

PATH = "/api/consultants/{consultant_id}/calendar-feed"
NOT_THEIRS = "no consultant with this id, or another consultant's (a consultant's key)"


class FeedOut(BaseModel):
    consultant_id: str
    configured: bool = Field(description="a calendar is set")
    kind: str | None = Field(description="ics | caldav")
    url: str | None = Field(description="the address, masked: scheme and host only")
    username: str | None
    last_attempt_at: AwareDatetime | None = Field(description="the last import tried")
    last_success_at: AwareDatetime | None = Field(description="the last import that worked "
                                                  "(its entries are the ones in use)")
    last_error: str | None = Field(description="why the last import failed, in Danish; null "
                                   "when it worked")
    events: int = Field(description="busy intervals the last good import brought")


async def get_feed(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    status = await request.app[CALENDAR_IMPORTS].status(
        principal, request.match_info["consultant_id"])
    return json_response(status.as_json())


async def put_feed(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    feed = parse_model(FeedIn, await read_json_object(request))
    status = await request.app[CALENDAR_IMPORTS].set_source(
        principal, request.match_info["consultant_id"], feed)
    return json_response(status.as_json())


async def delete_feed(request: web.Request) -> web.Response:
    principal = await require(request, *ROLES)
    key = request.match_info["consultant_id"]
    imports = request.app[CALENDAR_IMPORTS]
    await imports.remove(principal, key)
    return json_response((await imports.status(principal, key)).as_json())


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, get_feed, name="calendar_source")
    app.router.add_put(PATH, put_feed, name="calendar_source_set")
    app.router.add_delete(PATH, delete_feed, name="calendar_source_remove")


document(
    Operation("get", PATH, "A consultant's own calendar import: its kind, the address masked, "
              "when it last worked and why it failed", roles=("consultant", "manager"),
              responses={200: FeedOut}, errors={404: NOT_THEIRS}),
    Operation("put", PATH, "Set a consultant's own calendar (a published .ics URL, or CalDAV) "
              "and import it at once; then every `[calendars] every_minutes`. The answer "
              "says how the first import went (`last_error`)", roles=("consultant", "manager"),
              request=FeedIn, responses={200: FeedOut}, errors={404: NOT_THEIRS},
              rules=FEED_RULES),
    Operation("delete", PATH, "Stop importing a consultant's own calendar and forget the busy "
              "time it brought", roles=("consultant", "manager"), responses={200: FeedOut},
              errors={404: NOT_THEIRS}),
)
