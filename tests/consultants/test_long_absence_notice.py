"""A long absence registered (at least `[planning] long_absence_working_days` working days)
is posted once in the Slack intake channel: who and when, with the link to "Møder der skal
flyttes" where their cases are handed over — never why (the reason may be health). A short
absence is not posted, nor is anything without an intake channel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.consultants.absences import long_absence_days
from service.keys import DB
from service.platform.db.models import OutboxMessage
from service.slack.notices import LONG_ABSENCE_KIND
from tests.meetings.conftest import INTAKE_CHANNEL
from tests.support import Api, make_secrets, start_api

MONDAY = date(2026, 12, 7)


async def _posts(api: Api) -> list[OutboxMessage]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == LONG_ABSENCE_KIND).order_by(OutboxMessage.id))).scalars())


async def _absence(api: Api, first: date, last: date, reason: str) -> None:
    resp = await api.client.post("/api/consultants/anna/absences", json={
        "from": first.isoformat(), "to": last.isoformat(), "reason": reason},
        headers=api.auth("manager"))
    assert resp.status == 201, await resp.text()


@pytest.fixture
def clocked() -> SettableClock:
    return SettableClock(datetime.combine(MONDAY - timedelta(days=14), time(10)))


async def test_a_long_absence_is_posted_once_without_its_reason(
        demo_config: MunicipalityConfig, sqlite_url: str, clocked: SettableClock) -> None:
    secrets = make_secrets(sqlite_url, FASTHOLD_SLACK_INTAKE_CHANNEL=INTAKE_CHANNEL)
    async for api in start_api(demo_config, secrets, clock=clocked):
        # a week (5 working days): short, not posted
        await _absence(api, MONDAY, MONDAY + timedelta(days=6), "kursus")
        assert await _posts(api) == []
        # two weeks and two days around Christmas: 10 working days (the 25th and 26th are
        # public holidays, the jobcentre is closed on the 24th); to the 28th only 9
        last = MONDAY + timedelta(days=22)
        assert long_absence_days(demo_config, MONDAY + timedelta(days=7), last) == 10
        assert long_absence_days(demo_config, MONDAY + timedelta(days=7),
                                 last - timedelta(days=1)) is None
        await _absence(api, MONDAY + timedelta(days=7), last, "sygdom")
        [post] = await _posts(api)
        assert post.recipient == INTAKE_CHANNEL and post.channel == "slack"
        text = post.body_text + str(post.payload)
        assert "Anna Kjær er væk 14. dec. 2026–29. dec. 2026 (10 arbejdsdage)" in text
        assert "/meetings/to-move" in text
        assert "sygdom" not in text and "syg" not in text.lower()


async def test_no_intake_channel_no_post(
        demo_config: MunicipalityConfig, sqlite_url: str, clocked: SettableClock) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clocked):
        await _absence(api, MONDAY, MONDAY + timedelta(days=27), "ferie")
        assert await _posts(api) == []


def test_long_means_working_days(demo_config: MunicipalityConfig) -> None:
    # two whole weeks are 10 working days; Easter 2027 (Thursday 25 March to Monday 29 March)
    # takes three of them
    assert long_absence_days(demo_config, date(2027, 3, 1), date(2027, 3, 14)) == 10
    assert long_absence_days(demo_config, date(2027, 3, 22), date(2027, 4, 4)) is None
    assert long_absence_days(demo_config, date(2027, 3, 1), date(2027, 3, 12)) == 10
    assert long_absence_days(demo_config, date(2027, 3, 1), date(2027, 3, 11)) is None
