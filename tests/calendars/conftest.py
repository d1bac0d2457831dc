"""The calendar tests' app: a real SQLite file, staff users, a settable clock on Friday 19
March 2027 (the horizon spans the DST change of 28 March)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time

import pytest

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import JOBS
from tests.calendars.samples import TODAY
from tests.support import Staff, make_secrets, start_api, start_staff


@pytest.fixture
async def staff(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Staff]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await api.client.app[JOBS].wait_idle()
        async for running in start_staff(api):
            yield running
