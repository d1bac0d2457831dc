"""Writing to the outbox: a message joins the caller's transaction and is delivered only if
that commits. Channels: `email`, `slack` (each delivered by a sender in `bots/`), `letter` (a
citizen without an email address: kept for staff to print and send, or with Digital Post
on, delivered by its sender like e-mail)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.commit_hooks import on_commit
from service.platform.db.engine import flushed_connection
from service.platform.db.models import OutboxMessage
from service.platform.jobqueue import DELIVER_OUTBOX, JobQueue

CHANNELS = ("email", "slack", "letter", "sms")
# A printed letter about a meeting fewer working days away than this does not reach the
# citizen in time: the consultant is asked to phone instead.
LETTER_WORKING_DAYS = 3


# INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, made once per dialect (SQLite,
# PostgreSQL); the values are the statement's parameters (no statement built per message).
_INSERT_ONCE = {postgres: insert(OutboxMessage).on_conflict_do_nothing(
    index_elements=["dedupe_key"]).returning(OutboxMessage.id)
    for postgres, insert in ((False, sqlite_insert), (True, postgresql_insert))}


def new_message_id(domain: str) -> str:
    """A stable Message-ID, stored with the message, so retries never look like new mail."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def dedupe_key(*parts: object) -> str:
    """A fixed-length key naming what a message is (e.g. meeting, kind, calendar SEQUENCE,
    recipient): the outbox holds at most one message per key."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
                 message_id_domain: str, *, digital_post: bool = False) -> None:
        """`digital_post`: letters are delivered (a Digital Post sender) instead of waiting
        to be printed."""
        self.clock = clock
        self.digital_post = digital_post
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
            status=self._first_status(message.channel),
            next_attempt_at=self.clock.utcnow())
        session.add(row)
        if row.status == "pending":
            on_commit(session, (self, DELIVER_OUTBOX), self._deliver_soon)
        return row

    async def enqueue_once(self, session: AsyncSession, message: Message, key: str) -> bool:
        """Enqueue unless a message with the same `key` (`dedupe_key`) is already in the
        outbox — written earlier, earlier in this transaction, or by a racing transaction
        (PostgreSQL makes this insert wait for that one's outcome). One statement
        (INSERT … ON CONFLICT DO NOTHING) on SQLite and PostgreSQL alike: a duplicate is
        skipped without failing the caller's transaction. Returns whether it was queued."""
        if message.channel not in CHANNELS:
            raise ValueError(f"channel: must be one of {', '.join(CHANNELS)}")
        now = self.clock.utcnow()
        statement = _INSERT_ONCE[session.get_bind().dialect.name == "postgresql"]
        # The message's case and meeting, and messages added before it, are written before
        # it; the statement itself without the ORM's bulk-insert bookkeeping.
        connection = await flushed_connection(session)
        queued = (await connection.execute(statement, {
            "municipality_id": self.municipality_id, "channel": message.channel,
            "kind": message.kind, "recipient": message.recipient, "subject": message.subject,
            "body_text": message.text, "body_html": message.html,
            "payload": dict(message.payload),
            "message_id": message.message_id or new_message_id(self.domain),
            "dedupe_key": key, "case_id": message.case_id, "meeting_id": message.meeting_id,
            "attempts": 0, "status": self._first_status(message.channel),
            "next_attempt_at": now, "created_at": now})).first() is not None
        if queued and self._first_status(message.channel) == "pending":
            on_commit(session, (self, DELIVER_OUTBOX), self._deliver_soon)
        return queued

    def _first_status(self, channel: str) -> str:
        return "to_print" if channel == "letter" and not self.digital_post else "pending"

    def _deliver_soon(self) -> None:
        self.jobs.request(DELIVER_OUTBOX, self.municipality_id, "enqueued")
