"""The outbox is channel-neutral: messages join the caller's transaction, and the deliverer
hands each to the sender registered for its channel — real SMTP for email, a Slack sender of
the test's own — with that sender's own backoff. Time moves by the clock, never by sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bots.delivery import (
    ChannelSender,
    OutboundMessage,
    PermanentFailure,
    RetryPolicy,
    ServerUnavailable,
    TemporaryFailure,
)
from bots.email.channel import EMAIL_RETRY, EmailChannel, SenderIdentity
from bots.email.sender import SmtpSettings
from service.clock import SettableClock
from service.outbox.deliverer import LEASE, OutboxDeliverer
from service.outbox.store import Message, Outbox
from service.platform.db.engine import Database, as_utc
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import OutboxMessage
from service.platform.jobqueue import DELIVER_OUTBOX
from tests.support import SmtpSink, text_part, wait_until

MUNICIPALITY = "demo"
SLACK_RETRY = RetryPolicy(first=timedelta(minutes=10), cap=timedelta(hours=1),
                          give_up_after=timedelta(hours=6))


@dataclass
class FakeSlack:
    """A Slack channel sender (bots.delivery.ChannelSender) that keeps what it is given;
    `failures` lists what each next try raises before one succeeds."""

    retry: RetryPolicy = SLACK_RETRY
    sent: list[OutboundMessage] = field(default_factory=list)
    tries: int = 0
    failures: list[Exception] = field(default_factory=list)
    # Set: each send hangs until the event is set (Slack not answering).
    gate: asyncio.Event | None = None
    hanging: int = 0

    async def send(self, message: OutboundMessage) -> None:
        self.tries += 1
        if self.gate is not None:
            self.hanging += 1
            try:
                await self.gate.wait()
            finally:
                self.hanging -= 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


@dataclass
class RecordingJobs:
    """A job queue (service.platform.jobqueue.JobQueue) that notes what was requested."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        self.requests.append((job, municipality_id, reason))


@dataclass
class House:
    db: Database
    clock: SettableClock
    jobs: RecordingJobs
    outbox: Outbox
    slack: FakeSlack
    email: EmailChannel
    deliverer: OutboxDeliverer

    async def rows(self) -> dict[str, OutboxMessage]:
        """Every outbox row by recipient."""
        async with self.db.read() as session:
            rows = (await session.execute(select(OutboxMessage))).scalars().all()
        return {r.recipient: r for r in rows}

    async def status(self, recipient: str) -> str:
        return (await self.rows())[recipient].status


@pytest.fixture
async def house(sqlite_url: str, smtp_sink: SmtpSink) -> AsyncIterator[House]:
    clock = SettableClock(datetime(2026, 11, 23, 10, 0))
    await upgrade_async(sqlite_url)
    db = Database(sqlite_url, clock)
    jobs = RecordingJobs()
    slack = FakeSlack()
    email = EmailChannel(SmtpSettings("127.0.0.1", smtp_sink.port),
                         SenderIdentity("jobcenter@demo.example", "Jobcenter Demo"))
    senders: dict[str, ChannelSender] = {"email": email, "slack": slack}
    try:
        yield House(db, clock, jobs, Outbox(clock, jobs, MUNICIPALITY, "demo.example"), slack,
                    email, OutboxDeliverer(db, clock, MUNICIPALITY, senders))
    finally:
        await db.dispose()


EMPLOYER = "leder@sundstrae.example"
CONSULTANT = "U024BE7LH"
CITIZEN = "Ib Holm"


def three_messages() -> list[Message]:
    return [
        Message("email", "employer_invitation", EMPLOYER, subject="Vælg et tidspunkt",
                text="Kære Lone Berg"),
        Message("slack", "consultant_task", CONSULTANT, text="Ring til Sunds Træ ApS",
                payload={"blocks": [{"type": "section"}]}),
        Message("letter", "citizen_meeting", CITIZEN, subject="Møde i jobcentret",
                text="Kære Ib Holm"),
    ]


async def enqueue(house: House, *messages: Message) -> None:
    async with house.db.write() as session:
        for message in messages:
            house.outbox.enqueue(session, message)


# -- dispatch by channel -----------------------------------------------------------------------

async def test_each_message_goes_to_its_channels_sender(house: House,
                                                        smtp_sink: SmtpSink) -> None:
    await enqueue(house, *three_messages())
    assert house.jobs.requests and set(house.jobs.requests) == {
        (DELIVER_OUTBOX, MUNICIPALITY, "enqueued")}  # asked once the transaction committed

    assert await house.deliverer.deliver_due() == 2
    assert [m.recipient for m in house.slack.sent] == [CONSULTANT]
    slack = house.slack.sent[0]
    assert (slack.channel, slack.kind, slack.text) == ("slack", "consultant_task",
                                                       "Ring til Sunds Træ ApS")
    assert slack.payload == {"blocks": [{"type": "section"}]}
    mail = (await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER))[0]
    assert str(mail["Subject"]) == "Vælg et tidspunkt" and "Kære Lone Berg" in text_part(mail)
    assert len(smtp_sink.messages) == 1  # the Slack message and the letter are not mail

    rows = await house.rows()
    assert {r: rows[r].status for r in rows} == {EMPLOYER: "sent", CONSULTANT: "sent",
                                                 CITIZEN: "to_print"}
    assert mail["Message-ID"] == rows[EMPLOYER].message_id
    assert slack.message_id == rows[CONSULTANT].message_id
    assert rows[EMPLOYER].sent_at is not None and rows[EMPLOYER].attempts == 1
    assert rows[CITIZEN].attempts == 0 and rows[CITIZEN].sent_at is None
    # Nothing is sent twice, and the letter stays for staff to print.
    house.clock.advance(timedelta(days=2))
    assert await house.deliverer.deliver_due() == 0
    assert len(house.slack.sent) == 1 and len(smtp_sink.messages) == 1
    assert await house.status(CITIZEN) == "to_print"


async def test_a_channel_without_a_sender_waits_in_the_outbox(house: House) -> None:
    await enqueue(house, *three_messages())
    only_slack = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"slack": house.slack})
    assert await only_slack.deliver_due() == 1
    assert await house.status(EMPLOYER) == "pending"
    assert (await house.rows())[EMPLOYER].attempts == 0


async def test_a_rolled_back_transaction_enqueues_nothing(house: House) -> None:
    with pytest.raises(RuntimeError, match="the change failed"):
        async with house.db.write() as session:
            for message in three_messages():
                house.outbox.enqueue(session, message)
            await session.flush()  # written, but not committed
            raise RuntimeError("the change failed")
    assert await house.rows() == {}
    assert house.jobs.requests == []  # no delivery asked for
    assert await house.deliverer.deliver_due() == 0
    assert house.slack.tries == 0


async def test_an_unknown_channel_is_refused(house: House) -> None:
    async with house.db.write() as session:
        with pytest.raises(ValueError, match="channel"):
            house.outbox.enqueue(session, Message("fax", "x", "12345678"))


# -- retries with each sender's own backoff ----------------------------------------------------

async def test_a_temporary_failure_is_retried_after_the_senders_own_backoff(
        house: House, smtp_sink: SmtpSink) -> None:
    house.slack.failures = [TemporaryFailure("rate limited"), TemporaryFailure("rate limited")]
    smtp_sink.refuse[EMPLOYER] = 451  # the mail server says: later
    await enqueue(house, *three_messages()[:2])
    start = house.clock.utcnow()
    assert await house.deliverer.deliver_due() == 0
    rows = await house.rows()
    for recipient, policy in ((EMPLOYER, EMAIL_RETRY), (CONSULTANT, SLACK_RETRY)):
        row = rows[recipient]
        assert (row.status, row.attempts) == ("pending", 1), recipient
        assert row.last_error
        assert row.next_attempt_at.replace(tzinfo=None) == (
            start + policy.backoff(1)).replace(tzinfo=None), recipient
    assert "451" in rows[EMPLOYER].last_error and rows[CONSULTANT].last_error == "rate limited"

    # Not due yet: nothing is tried.
    assert await house.deliverer.deliver_due() == 0
    assert house.slack.tries == 1

    # Email's backoff (30 s) is over, Slack's (10 min) is not.
    smtp_sink.refuse.clear()
    house.clock.advance(EMAIL_RETRY.backoff(1))
    assert await house.deliverer.deliver_due() == 1
    assert await house.status(EMPLOYER) == "sent" and house.slack.tries == 1
    house.clock.advance(SLACK_RETRY.backoff(1) - EMAIL_RETRY.backoff(1) - timedelta(seconds=1))
    assert await house.deliverer.deliver_due() == 0 and house.slack.tries == 1
    house.clock.advance(timedelta(seconds=1))
    assert await house.deliverer.deliver_due() == 0  # tried, failed again
    assert house.slack.tries == 2
    row = (await house.rows())[CONSULTANT]
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at.replace(tzinfo=None) == (
        house.clock.utcnow() + timedelta(minutes=20)).replace(tzinfo=None)  # doubled

    house.clock.advance(SLACK_RETRY.backoff(2))
    assert await house.deliverer.deliver_due() == 1
    row = (await house.rows())[CONSULTANT]
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert [m.recipient for m in house.slack.sent] == [CONSULTANT]
    assert len(smtp_sink.to(EMPLOYER)) == 1


async def test_a_permanent_failure_ends_failed(house: House, smtp_sink: SmtpSink) -> None:
    house.slack.failures = [PermanentFailure("channel_not_found")]
    smtp_sink.refuse[EMPLOYER] = 550
    await enqueue(house, *three_messages()[:2])
    assert await house.deliverer.deliver_due() == 0
    rows = await house.rows()
    assert (rows[CONSULTANT].status, rows[CONSULTANT].last_error) == ("failed",
                                                                      "channel_not_found")
    assert rows[EMPLOYER].status == "failed" and "550" in rows[EMPLOYER].last_error
    house.clock.advance(timedelta(days=2))
    assert await house.deliverer.deliver_due() == 0  # never tried again by itself
    assert house.slack.tries == 1 and smtp_sink.messages == []


async def test_temporary_failures_give_up_after_the_senders_limit(house: House) -> None:
    house.slack.failures = [TemporaryFailure("timeout")] * 20
    await enqueue(house, three_messages()[1])
    given_up_at = house.clock.utcnow() + SLACK_RETRY.give_up_after
    while await house.status(CONSULTANT) == "pending":
        assert house.clock.utcnow() <= given_up_at + SLACK_RETRY.cap, "never gave up"
        assert await house.deliverer.deliver_due() == 0
        house.clock.advance(SLACK_RETRY.cap)
    row = (await house.rows())[CONSULTANT]
    assert row.status == "failed" and row.last_error == "timeout"
    assert house.slack.sent == []


def test_the_backoff_doubles_up_to_its_cap_and_stays_there() -> None:
    assert [EMAIL_RETRY.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    # A mail retried for a day is tried ~50 times: its wait stays the cap (the doubling once
    # overflowed a timedelta at the 43rd try, and the message was retried every lease).
    assert EMAIL_RETRY.backoff(43) == EMAIL_RETRY.backoff(10_000) == EMAIL_RETRY.cap


# -- channels on their own; claims that outlive their process ---------------------------------

async def test_one_channels_failures_never_delay_anothers(house: House,
                                                          smtp_sink: SmtpSink) -> None:
    house.slack.gate = asyncio.Event()  # Slack does not answer
    slack = three_messages()[1]
    await enqueue(house, *[Message("slack", slack.kind, f"U{i:08d}", text=slack.text)
                           for i in range(5)])
    await enqueue(house, three_messages()[0])  # the e-mail is due after the Slack messages
    delivering = asyncio.create_task(house.deliverer.deliver_due())
    try:
        await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER)
        assert await house.status(EMPLOYER) == "sent"
        assert house.slack.hanging == 1 and house.slack.sent == []  # still stuck on the first
    finally:
        house.slack.gate.set()
    assert await delivering == 6
    assert len(house.slack.sent) == 5


async def test_what_a_killed_process_was_sending_is_due_again_within_a_lease(
        house: House, smtp_sink: SmtpSink) -> None:
    house.slack.gate = asyncio.Event()
    await enqueue(house, three_messages()[1])
    dying = asyncio.create_task(house.deliverer.deliver_due())
    await wait_until(lambda: house.slack.hanging == 1, what="the Slack message being sent")
    dying.cancel()  # the process is gone mid-send: nothing of it runs any more
    with contextlib.suppress(asyncio.CancelledError):
        await dying
    row = (await house.rows())[CONSULTANT]
    # the try under way is counted already: the server may have taken it (at least once)
    assert (row.status, row.attempts) == ("sending", 1)
    house.slack.gate = None
    restarted = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"slack": house.slack})
    house.clock.advance(timedelta(seconds=30))
    assert await restarted.deliver_due() == 0  # its lease still holds
    house.clock.advance(timedelta(seconds=30))
    assert await restarted.deliver_due() == 1  # due again a minute after it was claimed
    assert [m.recipient for m in house.slack.sent] == [CONSULTANT]
    row = (await house.rows())[CONSULTANT]
    assert (row.status, row.attempts) == ("sent", 2)  # both sends counted


async def test_a_long_send_keeps_its_claim(house: House) -> None:
    house.slack.gate = asyncio.Event()
    house.deliverer.renew_seconds = 0.01
    await enqueue(house, three_messages()[1])
    sending = asyncio.create_task(house.deliverer.deliver_due())
    try:
        await wait_until(lambda: house.slack.hanging == 1, what="the Slack message being sent")
        house.clock.advance(LEASE * 3)  # the send takes longer than a lease …

        async def renewed() -> bool:
            row = (await house.rows())[CONSULTANT]
            return row.next_attempt_at.replace(tzinfo=None) == (
                house.clock.utcnow() + LEASE).replace(tzinfo=None)

        await wait_until(renewed, what="the claim renewed while the send runs")
        # … and a second process does not take it meanwhile.
        other = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"slack": FakeSlack()})
        assert await other.deliver_due() == 0
    finally:
        house.slack.gate.set()
    assert await sending == 1
    row = (await house.rows())[CONSULTANT]
    assert (row.status, row.attempts) == ("sent", 1)


# -- an error no retry can mend --------------------------------------------------------------

async def test_a_mail_that_cannot_be_built_fails_at_once_and_is_told(
        house: House, smtp_sink: SmtpSink) -> None:
    told: list[tuple[int, str, str | None]] = []

    async def on_failed(_session: object, row: OutboxMessage) -> None:
        told.append((row.id, row.status, row.last_error))

    deliverer = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"email": house.email},
                                on_failed=on_failed)  # type: ignore[arg-type]
    for name in ("Karen\rØstergård", "Karen\u2028Østergård", "Karen\x0bØstergård"):
        await enqueue(house, Message("email", "employer_invitation", EMPLOYER,
                                     subject=f"Opfølgningsmøde om {name}", text="Kære Lone",
                                     message_id=f"<{len(told)}@x>"))
        assert await deliverer.deliver_due() == 0
        row = (await house.rows())[EMPLOYER]
        assert (row.status, row.attempts) == ("failed", 1), name  # not pending for 26 hours
        assert "cannot be built" in (row.last_error or "")
        assert told[-1] == (row.id, "failed", row.last_error)
        async with house.db.write() as session:
            await session.delete(await session.get(OutboxMessage, row.id))
    assert smtp_sink.messages == []


# -- the municipality's own server down: its messages wait, none fails for it ------------------

async def test_a_mail_server_down_over_a_weekend_fails_no_mail(
        house: House, caplog: pytest.LogCaptureFixture) -> None:
    """The relay refuses connections for 27 hours (longer than e-mail's 26 hours): every
    mail keeps waiting, tried at least every 30 minutes, the operator told once; when the
    relay is back they go, and a recipient the relay refuses then fails as before."""
    down = SmtpSink()  # not started: connections are refused
    email = EmailChannel(SmtpSettings("127.0.0.1", down.port),
                         SenderIdentity("jobcenter@demo.example", "Jobcenter Demo"))
    deliverer = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"email": email})
    gone = "gone@sundstrae.example"
    await enqueue(house, three_messages()[0], Message("email", "employer_invitation", gone,
                                                      subject="Vælg et tidspunkt", text="x"))
    with caplog.at_level(logging.INFO, logger="fasthold.outbox"):
        assert await deliverer.deliver_due() == 0
        end = house.clock.utcnow() + timedelta(hours=27)
        tries = 1
        while house.clock.utcnow() < end:
            rows = await house.rows()
            assert {r.status for r in rows.values() if r.channel == "email"} == {"pending"}
            due = min(as_utc(r.next_attempt_at) for r in rows.values() if r.channel == "email")
            assert due - house.clock.utcnow() <= EMAIL_RETRY.cap  # at least every 30 min
            house.clock.set(due)
            assert await deliverer.deliver_due() == 0
            tries += 1
        rows = await house.rows()
        assert {rows[EMPLOYER].status, rows[gone].status} == {"pending"}  # 27 h: not failed
        assert rows[EMPLOYER].attempts > 50 and "unreachable" in rows[EMPLOYER].last_error
        outage = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(outage) == 1 and "unavailable" in outage[0].getMessage()  # told once
        assert not [r for r in caplog.records if "failed for good" in r.getMessage()]

        up = SmtpSink(port=down.port)
        up.refuse[gone] = 550  # the recipient's fault: fails (it is over 26 hours old)
        up.start()
        try:
            house.clock.advance(EMAIL_RETRY.cap)
            assert await deliverer.deliver_due() == 1
        finally:
            up.stop()
    rows = await house.rows()
    assert (rows[EMPLOYER].status, rows[gone].status) == ("sent", "failed")
    assert "550" in rows[gone].last_error
    assert [m["To"] for m in up.messages] == [EMPLOYER]
    assert "answers again" in caplog.text


@pytest.mark.parametrize("outlast", [True, False])
async def test_an_unavailable_server_is_outlasted_unless_the_channel_says_not(
        house: House, outlast: bool) -> None:
    """A channel's policy may give up while its server is down (the SMS reminder for
    tomorrow is of no use after 6 hours); a failure of the message itself gives up after
    `give_up_after` whatever the policy."""
    house.slack.retry = RetryPolicy(first=SLACK_RETRY.first, cap=SLACK_RETRY.cap,
                                    give_up_after=SLACK_RETRY.give_up_after,
                                    outlast_outage=outlast)
    house.slack.failures = [ServerUnavailable("gateway answered 503")] * 40
    await enqueue(house, three_messages()[1])
    for _ in range(8):  # 8 hours of an outage
        assert await house.deliverer.deliver_due() == 0
        house.clock.advance(SLACK_RETRY.cap)
    row = (await house.rows())[CONSULTANT]
    assert row.status == ("pending" if outlast else "failed")
    assert row.last_error == "gateway answered 503"
    house.slack.failures = [TemporaryFailure("mailbox full")]  # the recipient's, after 8 h
    if outlast:
        house.clock.advance(SLACK_RETRY.cap)
        assert await house.deliverer.deliver_due() == 0
        assert await house.status(CONSULTANT) == "failed"


async def test_mail_server_failures_are_told_from_the_recipients(smtp_sink: SmtpSink) -> None:
    """Which SMTP failures are the relay's (`ServerUnavailable`) and which the recipient's."""
    from bots.email.sender import OutgoingEmail, SmtpSender

    def mail(to: str) -> OutgoingEmail:
        return OutgoingEmail("<x@demo.example>", "jobcenter@demo.example", "Jobcenter", to,
                             "Emne", "Tekst")

    sender = SmtpSender(SmtpSettings("127.0.0.1", smtp_sink.port, timeout=5))
    smtp_sink.refuse.update({"full@x.example": 452, "gone@x.example": 550})
    with pytest.raises(TemporaryFailure) as later:
        await sender.send(mail("full@x.example"))
    assert not isinstance(later.value, ServerUnavailable)  # the recipient's: gives up in time
    with pytest.raises(PermanentFailure):
        await sender.send(mail("gone@x.example"))
    with pytest.raises(ServerUnavailable):
        await SmtpSender(SmtpSettings("127.0.0.1", SmtpSink().port)).send(mail("a@x.example"))
    with pytest.raises(ServerUnavailable):  # a login the relay does not offer or take
        await SmtpSender(SmtpSettings("127.0.0.1", smtp_sink.port, username="u",
                                      password="p")).send(mail("a@x.example"))


async def test_a_mail_sent_again_after_a_killed_send_keeps_its_message_id(
        house: House, smtp_sink: SmtpSink) -> None:
    """At least once: the worker is killed after the relay took the mail and before the
    outbox marked it sent; the mail goes again after the lease — the same Message-ID (mail
    servers and clients drop the copy), and both sends counted."""
    gate = asyncio.Event()
    real_send = house.email.send

    async def send_then_hang(message: OutboundMessage) -> None:
        await real_send(message)
        await gate.wait()  # the process dies here

    house.email.send = send_then_hang  # type: ignore[method-assign]
    await enqueue(house, three_messages()[0])
    dying = asyncio.create_task(house.deliverer.deliver_due())
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER)
    dying.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await dying
    house.email.send = real_send  # type: ignore[method-assign]
    restarted = OutboxDeliverer(house.db, house.clock, MUNICIPALITY, {"email": house.email})
    house.clock.advance(LEASE)
    assert await restarted.deliver_due() == 1
    row = (await house.rows())[EMPLOYER]
    assert (row.status, row.attempts) == ("sent", 2)
    ids = [m["Message-ID"] for m in smtp_sink.to(EMPLOYER)]
    assert ids == [row.message_id, row.message_id]
