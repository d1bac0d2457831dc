"""Fixtures of the meetings tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.config import MunicipalityConfig, Secrets
from service.keys import JOBS
from tests.conftest import Api, SmtpSink, mail_config, make_secrets, start_api

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
