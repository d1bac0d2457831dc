"""Staff's use cases on the outbox: see what is pending or failed, retry a failed message,
mark a letter as printed and sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.clock import Clock
from service.platform import audit
from service.platform.auth import Principal, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, OutboxMessage
from service.platform.errors import Conflict, Invalid, NotFound
from service.platform.jobqueue import DELIVER_OUTBOX, JobQueue

# obsolete: nothing left to deliver (an update of a Slack message that was never posted).
STATUSES = ("pending", "sending", "sent", "failed", "to_print", "printed", "obsolete")


def message_out(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "channel": row.channel, "kind": row.kind, "recipient": row.recipient,
        "subject": row.subject, "status": row.status, "attempts": row.attempts,
        "last_error": row.last_error, "message_id": row.message_id,
        "meeting_id": row.meeting_id,
        "created_at": as_utc(row.created_at).isoformat(),
        "next_attempt_at": as_utc(row.next_attempt_at).isoformat(),
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None,
    }


class OutboxService:
    def __init__(self, db: Database, clock: Clock, jobs: JobQueue, municipality_id: str
                 ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.municipality_id = municipality_id

    async def list(self, status: str | None, principal: Principal) -> list[dict[str, Any]]:
        """The newest messages; a consultant sees only those about cases they own."""
        if status is not None and status not in STATUSES:
            raise Invalid.field("status", f"must be one of {', '.join(STATUSES)}", "not_one_of",
                                {"allowed": ", ".join(STATUSES)})
        query = select(OutboxMessage).where(
            OutboxMessage.municipality_id == self.municipality_id)
        if status:
            query = query.where(OutboxMessage.status == status)
        only = need_to_know(principal)
        if only is not None:
            query = query.where(OutboxMessage.case_id.in_(
                select(Case.id).join(Consultant, Consultant.id == Case.owner_id).where(
                    Case.municipality_id == self.municipality_id, Consultant.key == only)))
        async with self.db.read() as session:
            rows = (await session.execute(query.order_by(OutboxMessage.id.desc()).limit(500))
                    ).scalars().all()
        return [message_out(r) for r in rows]

    async def retry(self, message_id: int, principal: Principal) -> dict[str, Any]:
        """A failed message is tried again (e.g. after the address was corrected)."""
        out = await self._change(message_id, ("failed",), "pending", "outbox.retry", principal)
        self.jobs.request(DELIVER_OUTBOX, self.municipality_id, "retry")
        return out

    async def printed(self, message_id: int, principal: Principal) -> dict[str, Any]:
        """A letter was printed and sent by staff."""
        return await self._change(message_id, ("to_print",), "printed", "outbox.printed",
                                  principal)

    async def _change(self, message_id: int, allowed_from: tuple[str, ...], to: str,
                      action: str, principal: Principal) -> dict[str, Any]:
        async with self.db.write() as session:
            row = await session.get(OutboxMessage, message_id)
            if row is None or row.municipality_id != self.municipality_id:
                raise NotFound("no such message", "message_not_found")
            if row.status not in allowed_from:
                raise Conflict(f"message is {row.status}; only {', '.join(allowed_from)} "
                               f"can be changed this way", "message_status",
                               {"status": row.status})
            row.status = to
            if to == "pending":
                row.next_attempt_at = self.clock.utcnow()
                row.attempts = 0
            audit.record(session, principal, row.municipality_id, action, row.case_id,
                         {"outbox_id": row.id})
            return message_out(row)
