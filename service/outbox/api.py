"""Staff view of the outbox over HTTP: failed deliveries, pending messages, letters to print."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from service.keys import OUTBOX_SERVICE
from service.outbox.service import STATUSES
from service.platform.http import json_response, require, row_id
from service.platform.openapi import Operation, document


class OutboxMessageOut(BaseModel):
    id: int
    channel: str
    kind: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    message_id: str
    meeting_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


class OutboxList(BaseModel):
    messages: list[OutboxMessageOut]


def _message_id(request: web.Request) -> int:
    return row_id(request.match_info["message_id"], "message")


async def list_messages(request: web.Request) -> web.Response:
    principal = await require(request, "intake", "manager", "consultant")
    messages = await request.app[OUTBOX_SERVICE].list(request.query.get("status"), principal)
    return json_response({"messages": messages})


async def retry(request: web.Request) -> web.Response:
    principal = await require(request, "intake", "manager")
    return json_response(await request.app[OUTBOX_SERVICE].retry(_message_id(request),
                                                                      principal))


async def printed(request: web.Request) -> web.Response:
    principal = await require(request, "intake", "manager")
    return json_response(await request.app[OUTBOX_SERVICE].printed(_message_id(request),
                                                                        principal))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/outbox", list_messages, name="outbox_list")
    app.router.add_post("/api/outbox/{message_id}/retry", retry, name="outbox_retry")
    app.router.add_post("/api/outbox/{message_id}/printed", printed, name="outbox_printed")


document(
    Operation("get", "/api/outbox", "Outgoing email and letters; failed deliveries",
              roles=("intake", "manager", "consultant"), responses={200: OutboxList},
              query={"status": ("string", STATUSES)}),
    Operation("post", "/api/outbox/{message_id}/retry", "Send a failed email again",
              roles=("intake", "manager"), responses={200: OutboxMessageOut},
              errors={409: "the message is no failed email"}),
    Operation("post", "/api/outbox/{message_id}/printed", "A letter was printed and sent",
              roles=("intake", "manager"), responses={200: OutboxMessageOut},
              errors={409: "the message is no letter waiting to be printed"}),
)
