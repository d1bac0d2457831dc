"""Whom intake may choose as owner, pinned once (`service.consultants.choices`): the
Slack modal and the case page ask here. Active consultants only, the current owner left
out, a workplace-meeting case only to someone holding workplace meetings that day, each
with their load and whether they are full."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.consultants.choices import owner_choices
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant

TODAY = date(2026, 12, 1)


@pytest.fixture
async def db(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url, SettableClock(datetime.combine(TODAY, time(10))))
    await upgrade_async(database.url)
    async with database.write() as session:
        await sync_consultants(session, demo_config)
    async with database.write() as session:
        ids = dict((await session.execute(select(Consultant.key, Consultant.id))).all())
        await session.execute(update(Consultant).where(Consultant.key == "bo")
                              .values(max_active_cases=1))
        await session.execute(update(Consultant).where(Consultant.key == "dennis")
                              .values(active=False))
        for ref, owner, follow_up in (("w1", "anna", "workplace_meeting"),
                                      ("j1", "bo", "jobcenter_meeting")):
            session.add(Case(municipality_id="demo", case_ref=ref,
                             facts={"case_id": ref, "first_absence_day": "2026-11-01"},
                             as_of=TODAY, status="target", follow_up=follow_up,
                             first_meeting_deadline=TODAY + timedelta(days=20),
                             intervention_deadline=TODAY + timedelta(days=55),
                             owner_id=ids[owner]))
    try:
        yield database
    finally:
        await database.dispose()


async def _choices(db: Database, ref: str, day: date) -> dict[str, tuple[int, bool]]:
    async with db.read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        return {c.key: (c.cases, c.full) for c in await owner_choices(session, "demo", case,
                                                                    day)}


async def test_the_owner_choice_rule(db: Database) -> None:
    workplace = await _choices(db, "w1", TODAY)
    # anna owns it, dennis is inactive, eva holds no workplace meetings before February.
    assert set(workplace) == {"bo", "camilla"}
    assert workplace["bo"] == (1, True)  # bo is full with his one case, and may still be chosen
    assert workplace["camilla"] == (0, False)
    assert "eva" in await _choices(db, "w1", date(2027, 2, 1))
    # A jobcentre meeting needs no workplace role: eva may take it; bo owns it.
    assert set(await _choices(db, "j1", TODAY)) == {"anna", "camilla", "eva"}
