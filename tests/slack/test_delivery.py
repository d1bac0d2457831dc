"""Delivering Slack messages from the outbox over the real Web API protocol (slack_sdk's
client against the fake Slack on loopback): 429 honours Retry-After, 5xx and network errors
are retried with backoff, an unknown user or a channel the bot is not in falls back to
e-mail (the Slack message failed, visible to staff), and a message is posted once even when
the outbox tries it again after a crash. Time moves by the clock, never by sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bots.slack.channel import SlackChannel, make_client
from bots.slack.fake_api import FakeSlackApi
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.outbox.deliverer import OutboxDeliverer
from service.outbox.store import Message, Outbox
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database, as_utc
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import OutboxMessage, SlackPost
from service.slack.posts import EmailInstead, PostLog
from tests.support import SLACK_INTAKE_CHANNEL, _free_port

ANNA = "U0DEMO001"


@dataclass
class NoJobs:
    requests: list[str] = field(default_factory=list)

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        self.requests.append(job)


@dataclass
class Desk:
    db: Database
    clock: SettableClock
    outbox: Outbox
    channel: SlackChannel
    deliverer: OutboxDeliverer

    async def enqueue(self, message: Message) -> int:
        async with self.db.write() as session:
            row = self.outbox.enqueue(session, message)
            await session.flush()
            return row.id

    async def row(self, outbox_id: int) -> OutboxMessage:
        async with self.db.read() as session:
            found = await session.get(OutboxMessage, outbox_id)
            assert found is not None
            return found

    async def rows(self, channel: str) -> list[OutboxMessage]:
        async with self.db.read() as session:
            return list((await session.execute(select(OutboxMessage).where(
                OutboxMessage.channel == channel).order_by(OutboxMessage.id))).scalars())


def desk_for(db: Database, clock: SettableClock, config: MunicipalityConfig, outbox: Outbox,
             api_url: str, token: str) -> Desk:
    channel = SlackChannel(make_client(token, api_url), PostLog(db, "demo"),
                           EmailInstead(db, config, outbox), clock.utcnow)
    return Desk(db, clock, outbox, channel,
                OutboxDeliverer(db, clock, "demo", {"slack": channel}))


@pytest.fixture
async def desk(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi
               ) -> AsyncIterator[Desk]:
    clock = SettableClock(datetime(2026, 11, 23, 10, 0))
    await upgrade_async(sqlite_url)
    db = Database(sqlite_url, clock)
    async with db.write() as session:
        await sync_consultants(session, demo_config)
    outbox = Outbox(clock, NoJobs(), "demo", "demo.example")
    try:
        yield desk_for(db, clock, demo_config, outbox, slack_api.base_url, slack_api.token)
    finally:
        await db.dispose()


def dm(text: str, to: str = ANNA, kind: str = "case_assigned") -> Message:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return Message("slack", kind, to, subject=text, text=f"{text} http://x/cases/k1",
                   payload={"method": "chat.postMessage", "text": text, "blocks": blocks})


async def test_a_message_is_posted_and_where_it_landed_is_kept(
        desk: Desk, slack_api: FakeSlackApi) -> None:
    outbox_id = await desk.enqueue(dm("Ny sag til dig: k1"))
    assert await desk.deliverer.deliver_due() == 1
    posted = slack_api.conversation(slack_api.dm_channel(ANNA))
    assert [p.text for p in posted] == ["Ny sag til dig: k1"]
    assert (await desk.row(outbox_id)).status == "sent"
    assert await desk.channel.posts.posted(outbox_id) == (posted[0].channel, posted[0].ts)
    # An update of it goes to the same message.
    await desk.enqueue(Message("slack", "slack_update", ANNA, text="Opdateret", payload={
        "method": "chat.update", "update_of": outbox_id, "text": "Opdateret", "blocks": []}))
    assert await desk.deliverer.deliver_due() == 1
    assert posted[0].text == "Opdateret" and posted[0].edits == 1


async def test_429_waits_for_retry_after(desk: Desk, slack_api: FakeSlackApi) -> None:
    slack_api.refuse_next("chat.postMessage", 429, retry_after=7)
    first = await desk.enqueue(dm("en"))
    second = await desk.enqueue(dm("to"))
    assert await desk.deliverer.deliver_due() == 0
    for outbox_id in (first, second):
        row = await desk.row(outbox_id)
        assert row.status == "pending" and "429" in (row.last_error or "")
        assert as_utc(row.next_attempt_at) == desk.clock.utcnow() + timedelta(seconds=7)
    # Slack said wait: the second message was not even tried.
    assert len(slack_api.calls_of("chat.postMessage")) == 1
    desk.clock.advance(timedelta(seconds=6))
    assert await desk.deliverer.deliver_due() == 0
    desk.clock.advance(timedelta(seconds=1))
    assert await desk.deliverer.deliver_due() == 2
    assert len(slack_api.conversation(slack_api.dm_channel(ANNA))) == 2


async def test_server_errors_are_retried_with_backoff(desk: Desk, slack_api: FakeSlackApi
                                                      ) -> None:
    slack_api.refuse_next("chat.postMessage", 500, error="internal_error", times=2)
    outbox_id = await desk.enqueue(dm("k1"))
    assert await desk.deliverer.deliver_due() == 0
    row = await desk.row(outbox_id)
    assert row.status == "pending" and "500" in (row.last_error or "")
    assert as_utc(row.next_attempt_at) - desk.clock.utcnow() == timedelta(seconds=30)
    desk.clock.advance(timedelta(seconds=30))
    assert await desk.deliverer.deliver_due() == 0
    assert as_utc((await desk.row(outbox_id)).next_attempt_at) - desk.clock.utcnow() \
        == timedelta(seconds=60)
    desk.clock.advance(timedelta(seconds=60))
    assert await desk.deliverer.deliver_due() == 1


async def test_network_errors_are_retried(demo_config: MunicipalityConfig, desk: Desk,
                                          slack_api: FakeSlackApi) -> None:
    nowhere = desk_for(desk.db, desk.clock, demo_config, desk.outbox,
                       f"http://127.0.0.1:{_free_port()}/api/", slack_api.token)
    outbox_id = await nowhere.enqueue(dm("k1"))
    assert await nowhere.deliverer.deliver_due() == 0
    row = await nowhere.row(outbox_id)
    assert row.status == "pending" and "Slack: chat.postMessage" in (row.last_error or "")
    # Slack is reachable again: the next try sends it.
    desk.clock.advance(timedelta(seconds=30))
    assert await desk.deliverer.deliver_due() == 1


async def test_an_unknown_user_gets_it_by_email(desk: Desk, slack_api: FakeSlackApi
                                                ) -> None:
    assert slack_api.users is not None
    slack_api.users.discard(ANNA)  # Anna left the workspace
    outbox_id = await desk.enqueue(dm("Ny sag til dig: k1"))
    assert await desk.deliverer.deliver_due() == 0
    row = await desk.row(outbox_id)
    assert row.status == "failed"
    assert "channel_not_found" in (row.last_error or "")
    assert "anna.kjaer@demo.example" in (row.last_error or "")
    mails = await desk.rows("email")
    assert [(m.recipient, m.kind) for m in mails] == [("anna.kjaer@demo.example",
                                                       "slack_fallback")]
    assert "Ny sag til dig: k1" in mails[0].body_text and "kunne ikke leveres i Slack" in \
        mails[0].body_text
    # Retrying the failed message (staff may) does not mail twice.
    assert "anna.kjaer@demo.example" == await desk.channel.fallback.send_by_email(
        await _outbound(desk, outbox_id), "channel_not_found")
    assert len(await desk.rows("email")) == 1


async def test_a_channel_without_the_bot_is_mailed_to_the_jobcentre(
        desk: Desk, slack_api: FakeSlackApi) -> None:
    slack_api.channels.discard(SLACK_INTAKE_CHANNEL)
    outbox_id = await desk.enqueue(dm("Sag k1 er fordelt", SLACK_INTAKE_CHANNEL,
                                      "intake_assignment"))
    assert await desk.deliverer.deliver_due() == 0
    assert (await desk.row(outbox_id)).status == "failed"
    assert [m.recipient for m in await desk.rows("email")] == ["jobcenter@demo.example"]


async def test_a_message_is_posted_once_even_if_tried_again_after_a_crash(
        desk: Desk, slack_api: FakeSlackApi) -> None:
    outbox_id = await desk.enqueue(dm("k1"))
    # The sender posted it, then the process died before the outbox marked it sent.
    await desk.channel.send(await _outbound(desk, outbox_id))
    assert len(slack_api.calls_of("chat.postMessage")) == 1
    assert await desk.deliverer.deliver_due() == 1  # tried again after the restart …
    assert len(slack_api.calls_of("chat.postMessage")) == 1  # … and not posted twice
    async with desk.db.read() as session:
        assert len((await session.execute(select(SlackPost))).scalars().all()) == 1


async def test_an_update_waits_for_the_message_it_updates(desk: Desk, slack_api: FakeSlackApi
                                                          ) -> None:
    original = await desk.enqueue(dm("k1"))
    update = await desk.enqueue(Message("slack", "slack_update", ANNA, text="ny", payload={
        "method": "chat.update", "update_of": original, "text": "ny", "blocks": []}))
    # Pretend the original's turn has not come yet: push it into the future.
    async with desk.db.write() as session:
        row = await session.get(OutboxMessage, original)
        assert row is not None
        row.next_attempt_at = desk.clock.utcnow() + timedelta(minutes=1)
    assert await desk.deliverer.deliver_due() == 0
    assert (await desk.row(update)).status == "pending"
    assert as_utc((await desk.row(update)).next_attempt_at) - desk.clock.utcnow() == \
        timedelta(seconds=5)  # looks again soon, not after the whole backoff
    desk.clock.advance(timedelta(minutes=1))
    assert await desk.deliverer.deliver_due() >= 1  # the post (and the update if after it)
    desk.clock.set(as_utc((await desk.row(update)).next_attempt_at))
    await desk.deliverer.deliver_due()
    assert (await desk.row(update)).status == "sent"
    assert [p.text for p in slack_api.conversation(slack_api.dm_channel(ANNA))] == ["ny"]


async def test_an_update_waits_longer_each_time_its_post_is_not_there(
        desk: Desk, slack_api: FakeSlackApi) -> None:
    slack_api.refuse_next("chat.postMessage", 500, error="internal_error", times=100)
    original = await desk.enqueue(dm("k1"))
    update = await desk.enqueue(Message("slack", "slack_update", ANNA, text="ny", payload={
        "method": "chat.update", "update_of": original, "text": "ny", "blocks": []}))
    waits = []
    for _ in range(5):
        await desk.deliverer.deliver_due()
        row = await desk.row(update)
        assert row.status == "pending"
        waits.append(as_utc(row.next_attempt_at) - desk.clock.utcnow())
        desk.clock.set(as_utc(row.next_attempt_at))
    assert waits == [timedelta(seconds=s) for s in (5, 10, 20, 40, 80)]  # not every 5 s
    assert slack_api.calls_of("chat.update") == []


async def test_an_update_of_a_message_never_posted_is_obsolete(
        desk: Desk, slack_api: FakeSlackApi) -> None:
    assert slack_api.users is not None
    slack_api.users.discard(ANNA)  # the post fails for good (e-mailed instead) …
    original = await desk.enqueue(dm("k1"))
    assert await desk.deliverer.deliver_due() == 0
    assert (await desk.row(original)).status == "failed"
    # … so its updates have nothing to update, nor have those of a sent message without a
    # post (one the outbox sent before Slack posts were kept), nor one of no message at all.
    async with desk.db.write() as session:
        sent = desk.outbox.enqueue(session, dm("k2"))
        sent.status = "sent"
        await session.flush()
        sent_id = sent.id
    updates = [await desk.enqueue(Message(
        "slack", "slack_update", ANNA, text="ny",
        payload={"method": "chat.update", "update_of": of, "text": "ny", "blocks": []}))
        for of in (original, sent_id, 999_999, None)]
    assert await desk.deliverer.deliver_due() == 0
    for update in updates:
        row = await desk.row(update)
        assert (row.status, row.attempts) == ("obsolete", 1), row.last_error
        assert "never posted" in (row.last_error or "")
    desk.clock.advance(timedelta(days=2))
    assert await desk.deliverer.deliver_due() == 0  # never tried again
    assert [(await desk.row(u)).attempts for u in updates] == [1, 1, 1, 1]
    assert slack_api.calls_of("chat.update") == []


async def _outbound(desk: Desk, outbox_id: int):  # type: ignore[no-untyped-def]
    from service.outbox.deliverer import _outbound as outbound  # noqa: PLC0415

    return outbound(await desk.row(outbox_id))
