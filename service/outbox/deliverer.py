"""Delivering the outbox: due messages are claimed, handed to the sender registered for their
channel (`bots/email`, `bots/slack`), and marked sent, retried with that sender's backoff,
failed for good, or closed as obsolete — never dropped silently. Run as the `deliver_outbox`
job: idempotent, because a claim is a lease that a crash lets expire.

Each channel is delivered on its own, concurrently: Slack timing out or refusing never
delays an e-mail. Messages are claimed a few at a time (one statement each to read and to
lease them) under a short lease that is renewed while they wait and are sent, so after a
crash (even a SIGKILL) what was claimed is due again within `LEASE`, and a slow send is never
picked by a second process meanwhile; each message's result is recorded as soon as it is
sent (a crash re-sends at most the one being sent).

Delivery is at least once: a process killed after the server took a message and before its
result was recorded sends it again once the lease runs out. Each try is counted
(`attempts`) before it is made, so such a message shows both sends; an e-mail keeps its
`Message-ID` (made once, when queued), so mail servers and clients can drop the second copy,
and the gateways (SMS, Digital Post) get the same `Idempotency-Key`.

When a channel's own server is unavailable (`ServerUnavailable`: the municipality's SMTP
relay down, a gateway unreachable, Slack down), its messages wait — none is failed for it,
whatever its age, unless the channel's policy says `outlast_outage=False` — and each is tried
again after the channel's backoff (doubling up to its cap, e.g. every 30 minutes for e-mail)
until the server answers. The outage is logged once at ERROR (per process) and its end at
WARNING; the operator's alert is the outbox's oldest waiting message
(`GET /api/operations`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bots.delivery import (
    ChannelSender,
    NotYet,
    Obsolete,
    OutboundMessage,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from service.clock import Clock
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import OutboxMessage

log = logging.getLogger("fasthold.outbox")

# A message being sent is not picked again before this; the lease is renewed every
# RENEW_SECONDS while its send runs, so it only runs out when its process is gone.
LEASE = timedelta(seconds=60)
RENEW_SECONDS = 20.0
# At most this many messages of one channel per run (the job runs again on its next poll).
PER_RUN = 200
# Claimed together in one transaction (each still sent and recorded on its own).
CLAIM_BATCH = 20
# Errors of the message itself (a header that cannot be written, a payload without what its
# method needs): no retry will make it deliverable.
DATA_ERRORS = (ValueError, TypeError, LookupError)

# Told, in the transaction that marks it, of a message that failed for good (e.g. to tell
# the case's consultant that a mail to the employer bounced).
FailureHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]


@dataclass(frozen=True)
class _Claimed:
    message: OutboundMessage
    created: datetime
    attempts: int  # counting the try about to be made


@dataclass(frozen=True)
class _Outcome:
    error: str | None = None
    permanent: bool = False
    obsolete: bool = False
    quiet: bool = False  # a wait, not a failure: not worth a warning
    wait: timedelta | None = None
    server_down: bool = False  # the channel's own server, not the message (`ServerUnavailable`)


class OutboxDeliverer:
    """Sends due messages of the channels that have a sender; statuses pending → sending →
    sent | failed | obsolete (nothing left to deliver, e.g. an update of a message that was
    never posted)."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str,
                 senders: dict[str, ChannelSender], on_failed: FailureHook | None = None
                 ) -> None:
        self.db = db
        self.on_failed = on_failed
        self.clock = clock
        self.municipality_id = municipality_id
        self.senders = senders
        self.renew_seconds = RENEW_SECONDS
        self._stopping = False
        # channel -> tries in a row that found its server unavailable (this process's)
        self._outages: dict[str, int] = {}
        if "email" not in senders:
            log.warning("no SMTP server configured (FASTHOLD_SMTP_HOST): email stays in the "
                        "outbox until one is")

    def stop_soon(self) -> None:
        """Finish the messages being sent, then stop (the rest stay due for the next run)."""
        self._stopping = True

    async def deliver_due(self) -> int:
        """Send every due message once, each channel on its own; returns how many were
        sent."""
        results = await asyncio.gather(
            *(self._deliver_channel(channel, sender)
              for channel, sender in sorted(self.senders.items())),
            return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _deliver_channel(self, channel: str, sender: ChannelSender) -> int:
        """Due messages of this channel, claimed a few at a time (`CLAIM_BATCH`, under one
        lease kept alive while they wait and are sent), each sent and its result recorded at
        once, until none is due (or one tried in this round is due again, or PER_RUN were
        tried)."""
        sent = 0
        tried: set[int] = set()
        while not self._stopping and len(tried) < PER_RUN:
            batch = await self._claim(channel, min(CLAIM_BATCH, PER_RUN - len(tried)))
            if not batch:
                break
            waiting = {c.message.outbox_id for c in batch}
            renewing = asyncio.create_task(self._keep_lease(waiting),
                                           name=f"outbox-lease-{channel}")
            try:
                for claimed in batch:
                    message_id = claimed.message.outbox_id
                    if message_id in tried or self._stopping:
                        continue  # due again already, or stopping: released below
                    tried.add(message_id)
                    # Counted before it is made: a send that a killed process made, and the
                    # send after its lease ran out, are both counted (at least once).
                    await self._record_attempt(claimed)
                    outcome = await self._send(claimed, sender)
                    sent += outcome.error is None
                    self._server_state(channel, outcome, sender)
                    if outcome.error is None:
                        await self._record_sent(claimed)
                    else:
                        async with self.db.write() as session:
                            await self._record(session, claimed, outcome, sender)
                    waiting.discard(message_id)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            if waiting:  # claimed but not tried: due again at once, on the next run
                await self._release(waiting)
                break
        return sent

    async def _claim(self, channel: str, limit: int) -> list[_Claimed]:
        """Up to `limit` due messages of `channel`, oldest due first, leased in one write
        transaction: a crash while sending makes them due again after LEASE."""
        now = self.clock.utcnow()
        # Core statements on a connection: no ORM session to make for two plain statements.
        async with self.db.write_connection() as connection:
            rows = (await connection.execute(_DUE, {
                "due_municipality": self.municipality_id, "due_channel": channel,
                "due_now": now, "due_limit": limit})).all()
            if rows:
                await connection.execute(_LEASE, {"lease_ids": [r.id for r in rows],
                                                  "lease_until": now + LEASE})
        return [_Claimed(_outbound(row), as_utc(row.created_at), row.attempts + 1)
                for row in rows]

    def _server_state(self, channel: str, outcome: _Outcome, sender: ChannelSender) -> None:
        """After a try: the channel's server unavailable (the first time in a row told at
        ERROR: the operator's to mend), or answering again (told once)."""
        if outcome.server_down:
            if channel not in self._outages:
                log.error("outbox: the %s channel's server is unavailable (%s); its messages "
                          "wait and are tried again (at least every %s) until it answers — "
                          "none is failed for it", channel, (outcome.error or "")[:200],
                          sender.retry.cap)
            self._outages[channel] = self._outages.get(channel, 0) + 1
        elif not outcome.obsolete and not outcome.quiet:  # the server took or judged it
            tries = self._outages.pop(channel, None)
            if tries is not None:
                log.warning("outbox: the %s channel's server answers again after %d failed "
                            "tries", channel, tries)

    async def _send(self, claimed: _Claimed, sender: ChannelSender) -> _Outcome:
        try:
            await sender.send(claimed.message)
        except Obsolete as exc:
            return _Outcome(str(exc), obsolete=True)
        except PermanentFailure as exc:
            return _Outcome(str(exc), permanent=True)
        except ServerUnavailable as exc:
            return _Outcome(str(exc), server_down=True, quiet=True)
        except TemporaryFailure as exc:
            # A sender may know when to try again (Slack's 429 says so in Retry-After).
            wait = getattr(exc, "retry_after", None)
            return _Outcome(str(exc), quiet=isinstance(exc, NotYet),
                            wait=wait if isinstance(wait, timedelta) else None)
        except DATA_ERRORS as exc:
            return _Outcome(f"{type(exc).__name__}: {exc}", permanent=True)
        except Exception as exc:  # noqa: BLE001 - an unknown failure is retried, not lost
            return _Outcome(f"{type(exc).__name__}: {exc}")
        return _Outcome()

    async def _keep_lease(self, message_ids: set[int]) -> None:
        """While claimed messages wait and are sent, keep their claim from running out."""
        while True:
            await asyncio.sleep(self.renew_seconds)
            if not message_ids:
                continue
            async with self.db.write() as session:
                await session.execute(update(OutboxMessage).where(
                    OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "sending")
                    .values(next_attempt_at=self.clock.utcnow() + LEASE))

    async def _record_attempt(self, claimed: _Claimed) -> None:
        """The try about to be made, counted in the row before it is made."""
        async with self.db.write_connection() as connection:
            await connection.execute(_COUNT_ATTEMPT, {
                "attempt_id": claimed.message.outbox_id, "attempt_n": claimed.attempts})

    async def _record_sent(self, claimed: _Claimed) -> None:
        """Sent (most messages go this way): one UPDATE in a transaction of its own, no read
        of the row first, on a plain connection (no ORM session to make for it)."""
        async with self.db.write_connection() as connection:
            await connection.execute(_MARK_SENT, {
                "sent_id": claimed.message.outbox_id, "sent_attempts": claimed.attempts,
                "sent_now": self.clock.utcnow()})

    async def _record(self, session: AsyncSession, claimed: _Claimed, outcome: _Outcome,
                      sender: ChannelSender) -> None:
        """A message not sent: retried later, failed for good or obsolete."""
        now = self.clock.utcnow()
        error = outcome.error or ""
        row = await session.get(OutboxMessage, claimed.message.outbox_id)
        if row is None:
            return
        row.attempts = claimed.attempts
        row.last_error = error[:500]
        if outcome.obsolete:
            row.status = "obsolete"
            log.info("outbox message %s (%s, %s) is obsolete: %s", row.id, row.channel,
                     row.kind, error[:200])
        elif outcome.permanent or (
                now - claimed.created >= sender.retry.give_up_after
                and not (outcome.server_down and sender.retry.outlast_outage)):
            row.status = "failed"
            log.error("outbox message %s (%s, %s) failed for good: %s", row.id, row.channel,
                      row.kind, error[:200])
            if self.on_failed is not None:
                await self.on_failed(session, row)
        else:
            row.status = "pending"
            row.next_attempt_at = now + (outcome.wait if outcome.wait is not None
                                         else sender.retry.backoff(claimed.attempts))
            log.log(logging.INFO if outcome.quiet else logging.WARNING,
                    "outbox message %s (%s, %s) not delivered, retry %s: %s", row.id,
                    row.channel, row.kind, claimed.attempts, error[:200])

    async def _release(self, message_ids: set[int]) -> None:
        """Claimed but not tried: due again at once on the next run."""
        async with self.db.write() as session:
            await session.execute(update(OutboxMessage).where(
                OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "sending")
                .values(status="pending", next_attempt_at=self.clock.utcnow()))

_OUTBOX = OutboxMessage.__table__
# Counting a try before it is made (only while the claim is this process's).
_COUNT_ATTEMPT = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("attempt_id"),
                                       _OUTBOX.c.status == "sending").values(
    attempts=bindparam("attempt_n"))
# Marking a message sent: the statement made once, its values the parameters.
_MARK_SENT = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("sent_id")).values(
    status="sent", attempts=bindparam("sent_attempts"), sent_at=bindparam("sent_now"),
    last_error=None)

_CLAIMED_COLUMNS = tuple(_OUTBOX.c[name] for name in (
    "id", "channel", "kind", "recipient", "subject", "body_text", "body_html", "message_id",
    "payload", "attempts", "created_at"))
# A claim: a channel's due messages, oldest due first (skipping rows another process holds
# locked), then leased. Made once, their values the parameters.
_DUE = select(*_CLAIMED_COLUMNS).where(
    _OUTBOX.c.municipality_id == bindparam("due_municipality"),
    _OUTBOX.c.channel == bindparam("due_channel"),
    or_(_OUTBOX.c.status == "pending", _OUTBOX.c.status == "sending"),
    _OUTBOX.c.next_attempt_at <= bindparam("due_now")).order_by(
    _OUTBOX.c.next_attempt_at, _OUTBOX.c.id).limit(bindparam("due_limit")).with_for_update(
    skip_locked=True)
_LEASE = update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("lease_ids", expanding=True))).values(
    status="sending", next_attempt_at=bindparam("lease_until"))


def _outbound(row: Any) -> OutboundMessage:
    return OutboundMessage(
        outbox_id=row.id, channel=row.channel, kind=row.kind, recipient=row.recipient,
        subject=row.subject, text=row.body_text, html=row.body_html,
        message_id=row.message_id, payload=dict(row.payload or {}),
        attempt=row.attempts + 1)
