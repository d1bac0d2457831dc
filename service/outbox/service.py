"""Staff's use cases on the outbox: see what is pending or failed, retry a failed message,
list the letters waiting to be printed ("Breve til print"), read one to print it, mark a
letter as printed and sent (who and when: the audit entry and `sent_at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from service.clock import Clock
from service.platform import audit
from service.platform.auth import Principal, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, Meeting, OutboxMessage
from service.platform.errors import Conflict, Invalid, NotFound
from service.platform.jobqueue import DELIVER_OUTBOX, JobQueue
from service.platform.paging import page_count

# "Breve til print" a page at a time, oldest first: a backlog (a week not printed, a
# simulated half-year nobody printed) is still a page that opens at once.
LETTERS_PER_PAGE = 100

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


@dataclass(frozen=True)
class Letter:
    """A letter waiting to be printed, as staff see it: never the CPR. `address`: the
    citizen's postal address (None: unknown, the letter cannot be sent)."""

    id: int
    kind: str
    subject: str
    text: str
    created_at: datetime
    case_ref: str | None
    citizen_name: str | None
    address: str | None
    meeting_start: datetime | None
    status: str


@dataclass(frozen=True)
class LetterPage:
    """Page `page` of `pages` of the letters waiting to be printed, and how many wait in all."""

    letters: list[Letter]
    total: int
    page: int
    pages: int


# A letter as staff see it: the message, its case's reference and citizen, its meeting's time,
# and the case's owner (need to know).
_LETTERS = OutboxMessage.__table__.outerjoin(
    Case.__table__, Case.id == OutboxMessage.case_id).outerjoin(
    Meeting.__table__, Meeting.id == OutboxMessage.meeting_id).outerjoin(
    Consultant.__table__, Consultant.id == Case.owner_id)
_LETTER_COLUMNS = (OutboxMessage.id, OutboxMessage.kind, OutboxMessage.subject,
                   OutboxMessage.body_text, OutboxMessage.created_at, OutboxMessage.status,
                   Case.case_ref, Case.citizen_name, Case.citizen_address, Meeting.start,
                   Consultant.key.label("owner_key"))


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

    async def letters(self, principal: Principal, page: int = 1) -> LetterPage:
        """The letters waiting to be printed, page `page` of them (`LETTERS_PER_PAGE`, oldest
        first: the first written goes first; past the last page, the last), and how many
        wait in all."""
        waiting = [OutboxMessage.municipality_id == self.municipality_id,
                   OutboxMessage.channel == "letter", OutboxMessage.status == "to_print"]
        only = need_to_know(principal)
        if only is not None:
            waiting.append(Consultant.key == only)
        async with self.db.snapshot() as session:
            total = (await session.execute(select(func.count(OutboxMessage.id)).select_from(
                _LETTERS).where(*waiting))).scalar_one()
            pages = page_count(total, LETTERS_PER_PAGE)
            page = min(max(page, 1), pages)
            rows = (await session.execute(select(*_LETTER_COLUMNS).select_from(_LETTERS)
                                          .where(*waiting).order_by(OutboxMessage.id)
                                          .limit(LETTERS_PER_PAGE)
                                          .offset((page - 1) * LETTERS_PER_PAGE))).all()
        return LetterPage([_letter(row) for row in rows], total, page, pages)

    async def letter(self, message_id: int, principal: Principal) -> Letter:
        """One letter (to print, or printed) to show as a printable page."""
        async with self.db.read() as session:
            row = (await session.execute(select(*_LETTER_COLUMNS).select_from(_LETTERS).where(
                OutboxMessage.id == message_id,
                OutboxMessage.municipality_id == self.municipality_id,
                OutboxMessage.channel == "letter"))).first()
        only = need_to_know(principal)
        if row is None or (only is not None and row.owner_key != only):
            raise NotFound("no such letter", "message_not_found")
        return _letter(row)

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
            if to == "printed":
                row.sent_at = self.clock.utcnow()
            if to == "pending":
                row.next_attempt_at = self.clock.utcnow()
                row.attempts = 0
            audit.record(session, principal, row.municipality_id, action, row.case_id,
                         {"outbox_id": row.id})
            return message_out(row)


def _letter(row: Row[Any]) -> Letter:
    return Letter(
        id=row.id, kind=row.kind, subject=row.subject, text=row.body_text,
        created_at=as_utc(row.created_at), case_ref=row.case_ref,
        citizen_name=row.citizen_name, address=row.citizen_address,
        meeting_start=row.start, status=row.status)
