"""A consultant's caseload, pinned once (`service.consultants.caseload`): the open target
cases they own — a closed case or one outside the target group takes no room — and the
dashboard's load and the planning instance's `active_cases` count exactly that."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.consultants.caseload import caseloads, has_room, is_active
from service.kpis.figures import KpiService
from service.planning.consultants import sync_consultants
from service.planning.instance import build_instance
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import Case, Consultant

TODAY = date(2026, 12, 1)
CASES = [  # ref, owner, status, closed
    ("a1", "anna", "target", False), ("a2", "anna", "target", False),
    ("a3", "anna", "target", True), ("a4", "anna", "excluded", False),
    ("a5", "anna", "not_target", False), ("b1", "bo", "target", False),
    ("n1", None, "target", False),
]


@pytest.fixture
async def db(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url, SettableClock(datetime.combine(TODAY, time(10))))
    await upgrade_async(database.url)
    async with database.write() as session:
        await sync_consultants(session, demo_config)
    async with database.write() as session:
        ids = dict((await session.execute(select(Consultant.key, Consultant.id))).all())
        for ref, owner, status, closed in CASES:
            session.add(Case(municipality_id="demo", case_ref=ref,
                             facts={"case_id": ref, "first_absence_day": "2026-11-01"},
                             as_of=TODAY, status=status, follow_up="workplace_meeting",
                             first_meeting_deadline=TODAY + timedelta(days=20),
                             intervention_deadline=TODAY + timedelta(days=55),
                             owner_id=ids[owner] if owner else None,
                             closed_on=TODAY if closed else None))
    try:
        yield database
    finally:
        await database.dispose()


def test_the_rule() -> None:
    assert is_active("target", None)
    assert not is_active("target", TODAY) and not is_active("excluded", None)
    assert has_room(36, 37) and not has_room(37, 37)


async def test_one_count_for_every_reader(db: Database, demo_config: MunicipalityConfig
                                          ) -> None:
    async with db.read() as session:
        ids = dict((await session.execute(select(Consultant.key, Consultant.id))).all())
        keys = {id_: key for key, id_ in ids.items()}
        counted = {keys[i]: n for i, n in (await caseloads(session, "demo")).items()}
        assert counted == {"anna": 2, "bo": 1}
        # The case being reopened is left out; only the owners asked for are counted.
        a1 = (await session.execute(select(Case.id).where(Case.case_ref == "a1"))).scalar_one()
        assert await caseloads(session, "demo", owners=[ids["anna"]], leaving_out=a1) == {
            ids["anna"]: 1}
        instance = (await build_instance(session, demo_config, TODAY)).instance
    planned = {c["id"]: c["active_cases"] for c in instance["consultants"]}
    loads = {load.consultant_id: load.open_cases
             for load in await KpiService(db, demo_config, db.clock).load()}
    assert planned == loads
    assert {k: v for k, v in loads.items() if v} == {"anna": 2, "bo": 1}
