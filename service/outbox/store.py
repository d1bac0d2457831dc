"""Writing to the outbox: a message joins the caller's transaction and is delivered only if
that commits. Channels: `email`, `slack` (each delivered by a sender in `bots/`), `letter` (a
citizen without an email address: kept for staff to print and send)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.models import OutboxMessage
from service.platform.jobqueue import DELIVER_OUTBOX, JobQueue

CHANNELS = ("email", "slack", "letter")


def new_message_id(domain: str) -> str:
    """A stable Message-ID, stored with the message, so retries never look like new mail."""
    return f"<{uuid.uuid4().hex}@{domain}>"


@dataclass(frozen=True)
class Message:
    """A message to send: who (channel + recipient), what kind, and its rendered content."""

    channel: str
    kind: str
    recipient: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    meeting_id: int | None = None
    # A deterministic id (e.g. a reminder's) makes the database refuse the same message twice.
    message_id: str | None = None


class Outbox:
    """Enqueues messages in the caller's transaction; asks for delivery once it commits."""

    def __init__(self, clock: Clock, jobs: JobQueue, municipality_id: str,
                 message_id_domain: str) -> None:
        self.clock = clock
        self.jobs = jobs
        self.municipality_id = municipality_id
        self.domain = message_id_domain

    def enqueue(self, session: AsyncSession, message: Message) -> OutboxMessage:
        if message.channel not in CHANNELS:
            raise ValueError(f"channel: must be one of {', '.join(CHANNELS)}")
        row = OutboxMessage(
            municipality_id=self.municipality_id, channel=message.channel, kind=message.kind,
            recipient=message.recipient, subject=message.subject, body_text=message.text,
            body_html=message.html, payload=dict(message.payload),
            message_id=message.message_id or new_message_id(self.domain),
            case_id=message.case_id,
            meeting_id=message.meeting_id, attempts=0,
            status="to_print" if message.channel == "letter" else "pending",
            next_attempt_at=self.clock.utcnow())
        session.add(row)
        if message.channel != "letter":
            event.listen(session.sync_session, "after_commit", self._deliver_soon, once=True)
        return row

    def _deliver_soon(self, _session: object) -> None:
        self.jobs.request(DELIVER_OUTBOX, self.municipality_id, "enqueued")
