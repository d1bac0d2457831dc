"""Absences seen by the planner: each day away is a whole-day busy interval of that
consultant in the planning instance (`service.planning.instance`), and no proposal lands on
an absence day; an absence added or deleted asks for a planning run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, JOBS
from service.planning.instance import build_instance
from service.platform.db.models import Meeting, PlanningRun
from tests.planning.test_planning_service import body
from tests.support import Api, make_secrets, start_api

TODAY = date(2026, 11, 20)  # a Friday
AWAY_FROM, AWAY_TO = TODAY + timedelta(days=3), TODAY + timedelta(days=16)


@pytest.fixture
async def planned_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api


async def _runs(api: Api) -> int:
    async with api.client.app[DB].read() as session:
        return len((await session.execute(select(PlanningRun.id))).all())


async def test_no_proposal_on_an_absence_day(planned_api: Api) -> None:
    api = planned_api
    app = api.client.app
    keys = [c.id for c in app[CONFIG].consultants]
    runs = await _runs(api)
    ids = []
    for key in keys:  # everyone away for two weeks from Monday
        resp = await api.client.post(f"/api/consultants/{key}/absences", json={
            "from": AWAY_FROM.isoformat(), "to": AWAY_TO.isoformat(), "reason": "kursus"},
            headers=api.auth("manager"))
        assert resp.status == 201, await resp.text()
        ids.append((key, (await resp.json())["id"]))
    await app[JOBS].wait_idle()
    assert await _runs(api) > runs  # the absences asked for a planning run
    async with app[DB].read() as session:
        ctx = await build_instance(session, app[CONFIG], TODAY)
    for consultant in ctx.instance["consultants"]:
        days = {b["start"] for b in consultant["busy"] if b["start"].endswith("T00:00")}
        expected = {f"{AWAY_FROM + timedelta(days=n)}T00:00"
                    for n in range((AWAY_TO - AWAY_FROM).days + 1)}
        assert expected <= days, consultant["id"]
        one = next(b for b in consultant["busy"] if b["start"] == f"{AWAY_FROM}T00:00")
        assert one["end"] == f"{AWAY_FROM + timedelta(days=1)}T00:00"
    bodies = [body(f"a{i}") for i in range(3)]
    for case in bodies:
        resp = await api.client.post("/api/cases", json=case, headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
    await app[JOBS].wait_idle()
    async with app[DB].read() as session:
        meetings = list((await session.execute(select(Meeting).where(
            Meeting.status.in_(("proposed", "confirmed"))))).unique().scalars())
    assert len(meetings) == len(bodies)
    for meeting in meetings:
        # Monday 23.11 to Sunday 6.12 are absence days: the first working day after is 7.12.
        assert not AWAY_FROM <= meeting.start.date() <= AWAY_TO, meeting.start
    # A deleted absence no longer counts.
    key, absence = ids[0]
    resp = await api.client.delete(f"/api/consultants/{key}/absences/{absence}",
                                   headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    async with app[DB].read() as session:
        ctx = await build_instance(session, app[CONFIG], TODAY)
    first = next(c for c in ctx.instance["consultants"] if c["id"] == key)
    assert not any(b["start"].endswith("T00:00") for b in first["busy"])
