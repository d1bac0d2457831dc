"""The outbox: messages written in the same transaction as the change that caused them, and
the background deliverer that sends them, retries temporary failures and never drops one.

Channels: `email` (sent over SMTP), `letter` (a citizen without an email address: kept for
staff to print and send; never delivered by us), `slack` (left pending until the Slack bot
delivers it). Statuses: pending -> sending -> sent | failed; letters: to_print -> printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.email.sender import (
    Attachment,
    OutgoingEmail,
    PermanentFailure,
    SmtpSender,
    SmtpSettings,
    TemporaryFailure,
)
from service.background import finish_or_cancel
from service.db.engine import Database
from service.db.models import OutboxMessage
from service.timeutil import utcnow

log = logging.getLogger("fasthold.outbox")

RETRY_FOR = timedelta(hours=26)  # "at least 24 hours" of retries before giving up
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=30)
LEASE = timedelta(minutes=5)  # a message being sent is not picked again before this


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_message_id(domain: str) -> str:
    """A stable Message-ID, stored with the message, so retries never look like new mail."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 30 min: quick when a server blips, calm when it is down."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def enqueue(session: AsyncSession, *, municipality_id: str, channel: str, kind: str,
            recipient: str, subject: str, body_text: str, body_html: str | None = None,
            sender_domain: str, case_id: int | None = None, meeting_id: int | None = None,
            payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Add a message to the caller's transaction; it is sent only if that commits."""
    message = OutboxMessage(
        municipality_id=municipality_id, channel=channel, kind=kind, recipient=recipient,
        subject=subject, body_text=body_text, body_html=body_html, payload=payload or {},
        message_id=new_message_id(sender_domain), case_id=case_id, meeting_id=meeting_id,
        status="to_print" if channel == "letter" else "pending", next_attempt_at=utcnow())
    session.add(message)
    return message


@dataclass
class SenderIdentity:
    address: str
    name: str


Send = Callable[[OutgoingEmail], Awaitable[None]]


class OutboxDeliverer:
    """Sends due email messages; one loop per app, woken early after each commit."""

    def __init__(self, db: Database, municipality_id: str, identity: SenderIdentity,
                 send: Send | None, poll_seconds: float = 5.0) -> None:
        self.db = db
        self.municipality_id = municipality_id
        self.identity = identity
        self.send = send
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        if self.send is None:
            log.warning("no SMTP server configured (FASTHOLD_SMTP_HOST): email stays in the "
                        "outbox until one is")
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox delivery round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    def stop_soon(self) -> None:
        """Finish the message being sent, then stop (pending messages stay for next start)."""
        self._stopping = True
        self._wake.set()

    async def _claim(self, now: datetime) -> list[int]:
        async with self.db.write() as session:
            rows = (await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.municipality_id == self.municipality_id,
                    OutboxMessage.channel == "email",
                    or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending"),
                    OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(50)
                .with_for_update(skip_locked=True))).scalars().all()
            for row in rows:
                # A lease: a crash while sending makes it due again after LEASE.
                row.status = "sending"
                row.next_attempt_at = now + LEASE
            return [row.id for row in rows]

    async def deliver_due(self) -> int:
        """Send every due message once; returns how many were sent."""
        if self.send is None:
            return 0
        sent = 0
        claimed = await self._claim(utcnow())
        for position, message_id in enumerate(claimed):
            if self._stopping:
                await self._release(claimed[position:])
                break
            async with self.db.read() as session:
                row = await session.get(OutboxMessage, message_id)
                if row is None:
                    continue
                email = self._email(row)
                created = as_utc(row.created_at)
                attempts = row.attempts + 1
            error: str | None = None
            permanent = False
            try:
                await self.send(email)
            except PermanentFailure as exc:
                error, permanent = str(exc), True
            except TemporaryFailure as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - an unknown failure is retried, not lost
                error = f"{type(exc).__name__}: {exc}"
            now = utcnow()
            async with self.db.write() as session:
                row = await session.get(OutboxMessage, message_id)
                if row is None:
                    continue
                row.attempts = attempts
                if error is None:
                    row.status, row.sent_at, row.last_error = "sent", now, None
                    sent += 1
                    self.delivered += 1
                elif permanent or now - created >= RETRY_FOR:
                    row.status = "failed"
                    row.last_error = error[:500]
                    log.error("outbox message %s (%s) failed for good: %s", row.id, row.kind,
                              error[:200])
                else:
                    row.status = "pending"
                    row.last_error = error[:500]
                    row.next_attempt_at = now + backoff(attempts)
                    log.warning("outbox message %s (%s) not delivered, retry %s: %s", row.id,
                                row.kind, attempts, error[:200])
        return sent

    async def _release(self, message_ids: list[int]) -> None:
        """Claimed but not tried (shutting down): due again at once on the next start."""
        async with self.db.write() as session:
            for row in (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.id.in_(message_ids)))).scalars():
                if row.status == "sending":
                    row.status, row.next_attempt_at = "pending", utcnow()

    def _email(self, row: OutboxMessage) -> OutgoingEmail:
        payload = row.payload or {}
        calendar = payload.get("ics")
        attachments = [Attachment("moede.ics", "text/calendar", calendar.encode("utf-8"))] \
            if calendar else []
        return OutgoingEmail(
            message_id=row.message_id, sender_address=self.identity.address,
            sender_name=self.identity.name, recipient=row.recipient, subject=row.subject,
            text=row.body_text, html=row.body_html, attachments=attachments,
            calendar=calendar.encode("utf-8") if calendar else None)


OUTBOX = web.AppKey("outbox_deliverer", OutboxDeliverer)


def smtp_sender_from(secrets: Any, host_override: tuple[str, int] | None = None
                     ) -> Send | None:
    """The SMTP sender from the environment's settings (or the demo sink), or None."""
    if host_override is not None:
        return SmtpSender(SmtpSettings(host=host_override[0], port=host_override[1])).send
    if not secrets.smtp_host:
        return None
    return SmtpSender(SmtpSettings(
        host=secrets.smtp_host, port=secrets.smtp_port, username=secrets.smtp_username,
        password=secrets.smtp_password, starttls=secrets.smtp_starttls,
        tls=secrets.smtp_tls)).send


@contextlib.asynccontextmanager
async def running(deliverer: OutboxDeliverer) -> AsyncIterator[OutboxDeliverer]:
    """Run the deliverer in the background while the block runs."""
    task = asyncio.create_task(deliverer.run_forever(), name="outbox-deliverer")
    try:
        yield deliverer
    finally:
        # Stop between messages, not in the middle of a database call; cancel only if stuck.
        deliverer.stop_soon()
        await finish_or_cancel(task, timeout=60)
