"""Planning plans only what needs planning (issue 22): a case that needs no meeting — a
telephone follow-up, or one whose first meeting was held — and keeps an active owner is left
out of the instance; it counts in its owner's `active_cases` only. Leaving it out changes no
plan: the same instance with those cases put back plans every other case the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

import optimizer
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.planning.consultants import sync_consultants
from service.planning.instance import build_instance
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant, Meeting

TODAY = date(2026, 12, 1)
# ref, follow-up, owner, first meeting held
CASES = [("t1", "telephone", "anna", False), ("h1", "workplace_meeting", "anna", True),
         ("w1", "workplace_meeting", None, False), ("w2", "workplace_meeting", None, False),
         ("t2", "telephone", None, False), ("t3", "telephone", "dennis", False)]


@pytest.fixture
async def db(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url, SettableClock(datetime.combine(TODAY, time(10))))
    await upgrade_async(database.url)
    async with database.write() as session:
        await sync_consultants(session, demo_config)
    async with database.write() as session:
        await session.execute(update(Consultant).where(Consultant.key == "dennis")
                              .values(active=False))
        ids = dict((await session.execute(select(Consultant.key, Consultant.id))).all())
        for ref, follow_up, owner, held in CASES:
            case = Case(municipality_id="demo", case_ref=ref,
                        facts={"case_id": ref, "first_absence_day": "2026-11-01"},
                        as_of=TODAY, status="target", follow_up=follow_up,
                        first_meeting_deadline=TODAY + timedelta(days=20),
                        intervention_deadline=TODAY + timedelta(days=55),
                        owner_id=ids[owner] if owner else None)
            session.add(case)
            await session.flush()
            if held:
                start = datetime.combine(TODAY - timedelta(days=3), time(9))
                session.add(Meeting(municipality_id="demo", case_id=case.id,
                                    consultant_id=ids[owner], kind=follow_up, start=start,
                                    end=start + timedelta(hours=1), status="held"))
    try:
        yield database
    finally:
        await database.dispose()


async def test_cases_needing_nothing_are_left_out_and_change_no_plan(
        db: Database, demo_config: MunicipalityConfig) -> None:
    async with db.read() as session:
        ctx = await build_instance(session, demo_config, TODAY)
    instance = ctx.instance
    # t1 and h1 (anna's, nothing to plan) are left out; t3's owner is inactive: it needs one.
    assert sorted(c["id"] for c in instance["cases"]) == ["t2", "t3", "w1", "w2"]
    anna = next(c for c in instance["consultants"] if c["id"] == "anna")
    assert anna["active_cases"] == 2  # still counted against her capacity

    full = {**instance, "cases": [*instance["cases"], *(
        {"id": ref, "follow_up": "telephone", "deadline": "2026-12-21",
         "diagnosis_group": "other", "consultant_id": "anna", "meeting": None,
         "employer": {"cvr": "00000000", "location": demo_config.jobcentre.location
                      .model_dump(), "unavailable": []}} for ref in ("t1", "h1"))]}
    plans = []
    for data in (instance, full):
        plan = optimizer.solve(optimizer.parse_instance(data), solver="greedy").to_json()
        plans.append({a["case_id"]: (a["consultant_id"], a["meeting"])
                      for a in plan["assignments"] if a["case_id"] not in ("t1", "h1")})
    assert plans[0] == plans[1] and set(plans[0]) >= {"w1", "w2"}


async def test_the_jobcentres_days_off_are_closed_every_year(
        db: Database, demo_config: MunicipalityConfig) -> None:
    """Juleaftensdag and nytårsaftensdag (and grundlovsdag) are no public holidays, but the
    jobcentre is closed: no meeting is planned on them, unless the municipality says so. The
    instance carries only the closed days of its planning window."""
    async with db.read() as session:
        ctx = await build_instance(session, demo_config, TODAY)
    assert ctx.instance["closed_dates"] == ["2026-12-24", "2026-12-31"]
    plan = optimizer.solve(optimizer.parse_instance(ctx.instance), solver="greedy").to_json()
    days = {a["meeting"]["start"][:10] for a in plan["assignments"] if a["meeting"]}
    assert days and not days & {"2026-12-24", "2026-12-31"}

    open_all_year = demo_config.model_copy(update={"planning": demo_config.planning.model_copy(
        update={"closed_every_year": [], "closed_dates": [date(2026, 12, 28)]})})
    async with db.read() as session:
        ctx = await build_instance(session, open_all_year, TODAY)
    assert ctx.instance["closed_dates"] == ["2026-12-28"]
