"""Delivering the outbox: due messages are claimed, handed to the sender registered for their
channel (`bots/email`, next `bots/slack`), and marked sent, retried with that sender's backoff,
or failed for good — never dropped. Run as the `deliver_outbox` job: idempotent, because a
claim is a lease that a crash lets expire."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.delivery import ChannelSender, OutboundMessage, PermanentFailure, TemporaryFailure
from service.clock import Clock
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import OutboxMessage

log = logging.getLogger("fasthold.outbox")

LEASE = timedelta(minutes=5)  # a message being sent is not picked again before this
BATCH = 50

# Told, in the transaction that marks it, of a message that failed for good (e.g. to tell
# the case's consultant that a mail to the employer bounced).
FailureHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]


class OutboxDeliverer:
    """Sends due messages of the channels that have a sender; statuses pending → sending →
    sent | failed."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str,
                 senders: dict[str, ChannelSender], on_failed: FailureHook | None = None
                 ) -> None:
        self.db = db
        self.on_failed = on_failed
        self.clock = clock
        self.municipality_id = municipality_id
        self.senders = senders
        self._stopping = False
        if "email" not in senders:
            log.warning("no SMTP server configured (FASTHOLD_SMTP_HOST): email stays in the "
                        "outbox until one is")

    def stop_soon(self) -> None:
        """Finish the message being sent, then stop (the rest stay due for the next run)."""
        self._stopping = True

    async def _claim(self, now: datetime) -> list[int]:
        if not self.senders:
            return []
        async with self.db.write() as session:
            rows = (await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.municipality_id == self.municipality_id,
                    OutboxMessage.channel.in_(sorted(self.senders)),
                    or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending"),
                    OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(BATCH)
                .with_for_update(skip_locked=True))).scalars().all()
            for row in rows:
                # A lease: a crash while sending makes it due again after LEASE.
                row.status = "sending"
                row.next_attempt_at = now + LEASE
            return [row.id for row in rows]

    async def deliver_due(self) -> int:
        """Send every due message once; returns how many were sent."""
        sent = 0
        claimed = await self._claim(self.clock.utcnow())
        for position, message_id in enumerate(claimed):
            if self._stopping:
                await self._release(claimed[position:])
                break
            async with self.db.read() as session:
                row = await session.get(OutboxMessage, message_id)
                if row is None:
                    continue
                message = _outbound(row)
                created = as_utc(row.created_at)
                attempts = row.attempts + 1
            sender = self.senders[message.channel]
            error: str | None = None
            permanent = False
            wait: timedelta | None = None
            try:
                await sender.send(message)
            except PermanentFailure as exc:
                error, permanent = str(exc), True
            except TemporaryFailure as exc:
                error = str(exc)
                # A sender may know when to try again (Slack's 429 says so in Retry-After).
                wait = getattr(exc, "retry_after", None)
            except Exception as exc:  # noqa: BLE001 - an unknown failure is retried, not lost
                error = f"{type(exc).__name__}: {exc}"
            sent += await self._record(message_id, attempts, created, error, permanent,
                                       sender, wait)
        return sent

    async def _record(self, message_id: int, attempts: int, created: datetime,
                      error: str | None, permanent: bool, sender: ChannelSender,
                      wait: timedelta | None = None) -> int:
        now = self.clock.utcnow()
        async with self.db.write() as session:
            row = await session.get(OutboxMessage, message_id)
            if row is None:
                return 0
            row.attempts = attempts
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                return 1
            row.last_error = error[:500]
            if permanent or now - created >= sender.retry.give_up_after:
                row.status = "failed"
                log.error("outbox message %s (%s, %s) failed for good: %s", row.id, row.channel,
                          row.kind, error[:200])
                if self.on_failed is not None:
                    await self.on_failed(session, row)
            else:
                row.status = "pending"
                row.next_attempt_at = now + (wait if isinstance(wait, timedelta)
                                             else sender.retry.backoff(attempts))
                log.warning("outbox message %s (%s, %s) not delivered, retry %s: %s", row.id,
                            row.channel, row.kind, attempts, error[:200])
            return 0

    async def _release(self, message_ids: list[int]) -> None:
        """Claimed but not tried (shutting down): due again at once on the next start."""
        async with self.db.write() as session:
            for row in (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.id.in_(message_ids)))).scalars():
                if row.status == "sending":
                    row.status, row.next_attempt_at = "pending", self.clock.utcnow()


def _outbound(row: OutboxMessage) -> OutboundMessage:
    return OutboundMessage(
        outbox_id=row.id, channel=row.channel, kind=row.kind, recipient=row.recipient,
        subject=row.subject, text=row.body_text, html=row.body_html,
        message_id=row.message_id, payload=dict(row.payload or {}))
