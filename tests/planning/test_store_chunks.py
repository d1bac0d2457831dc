"""Storing a plan holds the write lock only briefly: every transaction of the store — the
owners and proposals, and the cases left without an owner — takes at most `STORE_CHUNK`
cases, however many the plan has (reads wait behind it for their audit entry)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, PLANNER
from service.planning.solver import SolveResult
from service.planning.store import STORE_CHUNK
from service.platform.db.engine import Database
from service.platform.db.models import Case
from tests.planning.test_planning_service import TODAY, body
from tests.planning.test_store_rechecks import _plan_without_storing
from tests.support import Api, make_secrets, quick_planning, start_api


class CountingDatabase:
    """The app's database, counting the cases each write transaction loaded."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cases_per_transaction: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.db.write() as session:
            yield session
            self.cases_per_transaction.append(
                sum(isinstance(row, Case) for row in session.identity_map.values()))


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    # 220 cases: a 1 s solver limit (the plan is replaced by the test's own).
    async for running in start_api(quick_planning(demo_config), make_secrets(sqlite_url),
                                   clock=clock):
        await running.client.app[JOBS].wait_idle()
        yield running


async def test_cases_left_without_owner_are_stored_in_chunks(api: Api) -> None:
    count = 2 * STORE_CHUNK + 20
    responses = await asyncio.gather(*(api.client.post(
        "/api/cases", json=body(f"u{i}"), headers=api.auth("intake")) for i in range(count)))
    assert {r.status for r in responses} == {201}
    await api.client.app[JOBS].wait_idle()
    ctx, _ = await _plan_without_storing(api)
    async with api.client.app[DB].write() as session:  # as if nobody had room for them
        await session.execute(update(Case).values(owner_id=None))
    assert len(ctx.cases) >= count
    unassigned = [{"case_id": ref, "reason": "ingen har plads"} for ref in ctx.cases]
    result = SolveResult("test", "FEASIBLE", {}, {"assignments": [], "unassigned": unassigned},
                         {})
    store = api.client.app[PLANNER].store
    counting = CountingDatabase(store.db)
    store.db = counting  # type: ignore[assignment]
    try:
        await store.store(ctx, result)
    finally:
        store.db = counting.db
    # The unassigned cases' transactions (the last one is the scan of the active meetings
    # and follow-up calls).
    chunks = counting.cases_per_transaction[:-1]
    assert len(chunks) >= 3 and max(chunks) <= STORE_CHUNK
    # Every case nobody owns got the planner's reason, chunk by chunk.
    async with api.client.app[DB].read() as session:
        unowned = (await session.execute(select(Case).where(Case.owner_id.is_(None))
                                         )).unique().scalars().all()
    assert len(unowned) >= count
    assert all(c.owner_reasons == ["ikke fordelt: ingen har plads"] for c in unowned)
