"""Fixtures of the meetings tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from service.clock import SettableClock
from service.config import MunicipalityConfig, Secrets
from service.keys import JOBS
from tests.support import Api, SmtpSink, mail_config, make_secrets, smtp_secrets, start_api

INTAKE_CHANNEL = "C0INTAKE"


def sqlite_mail_secrets(sqlite_url: str, port: int) -> Secrets:
    return make_secrets(sqlite_url, FASTHOLD_SMTP_HOST="127.0.0.1",
                        FASTHOLD_SMTP_PORT=str(port),
                        FASTHOLD_SLACK_INTAKE_CHANNEL=INTAKE_CHANNEL)


@pytest.fixture
async def mail(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink
                      ) -> AsyncIterator[Api]:
    """The app on SQLite sending its mail to `smtp_sink`, with an intake channel (Slack
    messages stay in the outbox: no bot token)."""
    async for api in start_api(mail_config(demo_config),
                               sqlite_mail_secrets(sqlite_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


def no_decline_grace(config: MunicipalityConfig) -> MunicipalityConfig:
    """`[meetings] decline_grace_working_days = 0`: a decline moves the case at once."""
    return config.model_copy(update={"meetings": config.meetings.model_copy(
        update={"decline_grace_working_days": 0})})


@pytest.fixture
async def no_grace_api(demo_config: MunicipalityConfig, database_url: str,
                       smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    """`mail_api` (SQLite and PostgreSQL) where an employer's decline moves the case to a
    jobcentre meeting at once (no grace for the consultant's call)."""
    async for api in start_api(mail_config(no_decline_grace(demo_config)),
                               smtp_secrets(database_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


@pytest.fixture
async def clocked(demo_config: MunicipalityConfig, database_url: str, smtp_sink: SmtpSink
                  ) -> AsyncIterator[tuple[Api, SettableClock]]:
    """The app with a clock the test moves, on SQLite and on PostgreSQL."""
    clock = SettableClock(datetime.now(UTC), demo_config.municipality.timezone)
    async for api in start_api(mail_config(demo_config),
                               smtp_secrets(database_url, smtp_sink.port), clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api, clock
