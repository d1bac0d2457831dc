"""Staff view of the outbox: failed deliveries, pending messages, letters to print."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from service import audit
from service.api.openapi import Operation, document
from service.app import CONFIG
from service.db.models import OutboxMessage
from service.http import DB, ApiError, field_error_response, require
from service.outbox import as_utc
from service.timeutil import utcnow

STATUSES = ("pending", "sending", "sent", "failed", "to_print", "printed")


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
    created_at: str
    next_attempt_at: str
    sent_at: str | None


class OutboxList(BaseModel):
    messages: list[OutboxMessageOut]


def _out(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "channel": row.channel, "kind": row.kind, "recipient": row.recipient,
        "subject": row.subject, "status": row.status, "attempts": row.attempts,
        "last_error": row.last_error, "message_id": row.message_id,
        "meeting_id": row.meeting_id,
        "created_at": as_utc(row.created_at).isoformat(),
        "next_attempt_at": as_utc(row.next_attempt_at).isoformat(),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None,
    }


async def list_messages(request: web.Request) -> web.Response:
    await require(request, "intake", "manager", "consultant")
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise field_error_response([{"field": "status",
                                     "message": f"must be one of {', '.join(STATUSES)}"}])
    query = select(OutboxMessage).where(
        OutboxMessage.municipality_id == request.app[CONFIG].municipality.id)
    if status:
        query = query.where(OutboxMessage.status == status)
    async with request.app[DB].read() as session:
        rows = (await session.execute(query.order_by(OutboxMessage.id.desc()).limit(500))
                ).scalars().all()
    return web.json_response({"messages": [_out(r) for r in rows]})


async def _change(request: web.Request, allowed_from: tuple[str, ...], to: str,
                  action: str) -> web.Response:
    principal = await require(request, "intake", "manager")
    try:
        message_id = int(request.match_info["message_id"])
    except ValueError:
        raise ApiError(404, "no such message") from None
    async with request.app[DB].write() as session:
        row = await session.get(OutboxMessage, message_id)
        if row is None or row.municipality_id != request.app[CONFIG].municipality.id:
            raise ApiError(404, "no such message")
        if row.status not in allowed_from:
            raise ApiError(409, f"message is {row.status}; only {', '.join(allowed_from)} "
                           f"can be changed this way")
        row.status = to
        if to == "pending":
            row.next_attempt_at = utcnow()
            row.attempts = 0
        audit.record(session, principal, row.municipality_id, action, row.case_id,
                     {"outbox_id": row.id})
        out = _out(row)
    return web.json_response(out)


async def retry(request: web.Request) -> web.Response:
    """A failed email is tried again (e.g. after the address was corrected)."""
    return await _change(request, ("failed",), "pending", "outbox.retry")


async def printed(request: web.Request) -> web.Response:
    """A letter was printed and sent by staff."""
    return await _change(request, ("to_print",), "printed", "outbox.printed")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/outbox", list_messages, name="outbox_list")
    app.router.add_post("/api/outbox/{message_id}/retry", retry, name="outbox_retry")
    app.router.add_post("/api/outbox/{message_id}/printed", printed, name="outbox_printed")


document(
    Operation("get", "/api/outbox", "Outgoing email and letters; failed deliveries",
              roles=("intake", "manager", "consultant"), responses={200: OutboxList},
              query={"status": ("string", STATUSES)}),
    Operation("post", "/api/outbox/{message_id}/retry", "Send a failed email again",
              roles=("intake", "manager"), responses={200: OutboxMessageOut}),
    Operation("post", "/api/outbox/{message_id}/printed", "A letter was printed and sent",
              roles=("intake", "manager"), responses={200: OutboxMessageOut}),
)
