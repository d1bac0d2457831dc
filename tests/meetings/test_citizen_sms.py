"""The citizen's reminder by SMS (`[sms] enabled`): to the case's citizen phone when it is a
number a text can go to, through the municipality's gateway (a local fake here), retried
from the outbox; refused for good, the owner is told to call; no such number, e-mail as
before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bots.sms import mobile_number
from service.config import MunicipalityConfig, SmsConfig
from service.keys import DB, JOBS, OUTBOX, REMINDERS
from service.meetings.reminders import CITIZEN_DAY_BEFORE
from service.platform.db.models import Meeting, OutboxMessage
from tests.meetings.conftest import sqlite_mail_secrets
from tests.meetings.email_cases import body, confirm_first_time, intake, invitation
from tests.meetings.test_citizen_reminders import _move_to, _plain_weekday_after
from tests.support import (
    Api,
    FakeGateway,
    SmtpSink,
    fake_gateway,
    link_path,
    mail_config,
    start_api,
    today_local,
    wait_until,
)


@pytest.mark.parametrize(("typed", "number"), [
    ("20123456", "+4520123456"), ("20 12 34 56", "+4520123456"),
    ("+45 2012 3456", "+4520123456"), ("0045-20-12-34-56", "+4520123456"),
    ("(+45) 20 12 34 56", "+4520123456"), ("+46 70 123 45 67", "+46701234567"),
    ("0046701234567", "+46701234567"), ("", None), (None, None), ("1234", None),
    ("ring efter kl. 16", None), ("12345678", None), ("2012345", None)])
def test_a_typed_phone_number_as_the_gateway_takes_it(typed: str | None,
                                                      number: str | None) -> None:
    assert mobile_number(typed) == number


def test_the_sender_is_an_sms_sender_id() -> None:
    assert SmsConfig(sender="Herning JC").sender == "Herning JC"
    with pytest.raises(ValidationError, match="sender"):
        SmsConfig(sender="Herning Jobcenter")  # more than 11 characters
    with pytest.raises(ValidationError, match="gateway_url"):
        SmsConfig(gateway_url="ftp://sms")


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[FakeGateway, str]]:
    async with fake_gateway("/sms") as served:
        yield served


@pytest.fixture
async def sms_api(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
                  gateway: tuple[FakeGateway, str]) -> AsyncIterator[Api]:
    config = mail_config(demo_config).model_copy(update={"sms": SmsConfig(
        enabled=True, gateway_url=gateway[1], sender="Jobcenter")})
    async for api in start_api(config, sqlite_mail_secrets(sqlite_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


async def _remind(api: Api, sink: SmtpSink, ref: str, phone: str) -> OutboxMessage:
    """A confirmed workplace meeting of a citizen with `phone` moved to a plain Wednesday,
    the day before's reminders sent; the citizen's."""
    await intake(api, body(ref, citizen={"name": "Mads Madsen", "email": "mads@example.org",
                                         "phone": phone}))
    await confirm_first_time(api, link_path(await invitation(sink)))
    async with api.client.app[DB].read() as session:
        meeting_id = (await session.execute(select(Meeting.id).where(
            Meeting.status == "confirmed"))).scalar_one()
    wednesday = _plain_weekday_after(today_local(), 2)
    await _move_to(api, meeting_id, wednesday)
    assert await api.client.app[REMINDERS].send_due(wednesday - timedelta(days=1)) == 2
    await api.client.app[JOBS].wait_idle()
    return await _citizen_reminder(api)


async def _citizen_reminder(api: Api) -> OutboxMessage:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == CITIZEN_DAY_BEFORE))).scalar_one()


async def _delivered(api: Api, settled: Callable[[OutboxMessage], bool]) -> OutboxMessage:
    """The citizen's reminder once a delivery round has settled it as `settled` says (the
    service's own deliverer, woken by the commit, may be the one that tries it)."""
    await api.client.app[OUTBOX].deliver_due()

    async def found() -> OutboxMessage | None:
        reminder = await _citizen_reminder(api)
        return reminder if reminder.status != "sending" and settled(reminder) else None

    return await wait_until(found, what="the reminder's delivery settled")


async def _due_now(api: Api, row: OutboxMessage) -> None:
    async with api.client.app[DB].write() as session:
        found = await session.get(OutboxMessage, row.id)
        assert found is not None
        found.next_attempt_at = datetime(2000, 1, 1)


async def test_the_reminder_goes_by_sms_and_is_retried(
        sms_api: Api, smtp_sink: SmtpSink, gateway: tuple[FakeGateway, str]) -> None:
    fake, _ = gateway
    fake.answers = [503]
    reminder = await _remind(sms_api, smtp_sink, "s1", "20 12 34 56")
    assert (reminder.channel, reminder.recipient) == ("sms", "+4520123456")
    reminder = await _delivered(sms_api, lambda r: r.attempts == 1)
    assert reminder.status == "pending"  # 503: later
    await _due_now(sms_api, reminder)
    reminder = await _delivered(sms_api, lambda r: r.status == "sent")
    (sent,) = fake.received
    assert fake.keys == [reminder.message_id]
    assert sent["to"] == "+4520123456" and sent["from"] == "Jobcenter"
    text = str(sent["text"])
    assert text.startswith("Påmindelse fra ")
    assert "Dit opfølgningsmøde er i morgen kl. 10.00 på din arbejdsplads hos Sunds Træ " \
        "ApS. Kan du ikke komme, så ring til " in text
    assert "\n" not in text and len(text) <= 306  # two parts at most
    assert "mental" not in text.lower() and "010190" not in text and "http" not in text
    # the e-mail reminder is not sent as well: one reminder, by SMS
    async with sms_api.client.app[DB].read() as session:
        channels = list((await session.execute(select(OutboxMessage.channel).where(
            OutboxMessage.kind == CITIZEN_DAY_BEFORE))).scalars())
    assert channels == ["sms"]


async def test_a_refused_text_tells_the_owner_to_call(
        sms_api: Api, smtp_sink: SmtpSink, gateway: tuple[FakeGateway, str]) -> None:
    fake, _ = gateway
    fake.answers = [400]  # a landline
    await _remind(sms_api, smtp_sink, "s2", "97 12 34 56")
    reminder = await _delivered(sms_api, lambda r: r.status == "failed")
    assert "refused" in str(reminder.last_error)
    async with sms_api.client.app[DB].read() as session:
        told = list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.channel == "slack",
            OutboxMessage.kind == "citizen_mail_failed"))).scalars())
    assert told == ["citizen_mail_failed"]


async def test_without_a_number_a_text_can_go_to_the_mail_goes(
        sms_api: Api, smtp_sink: SmtpSink) -> None:
    reminder = await _remind(sms_api, smtp_sink, "s3", "ring efter kl. 16")
    assert (reminder.channel, reminder.recipient) == ("email", "mads@example.org")
