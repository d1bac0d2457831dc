"""Closing a case's tasks (`close_tasks`): the same rows done whether the transaction holds
task objects (the ORM's statement keeps them in step) or not (a plain statement)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.keys import DB
from service.meetings.tasks import close_tasks
from service.platform.db.models import Case, Consultant, ConsultantTask
from tests.meetings.email_cases import body, intake
from tests.support import Api

DONE = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


async def _two_cases(api: Api) -> tuple[int, int, int]:
    await intake(api, body("t1"), body("t2"))
    async with api.client.app[DB].read() as session:
        cases = list((await session.execute(select(Case.id).order_by(Case.id))).scalars())
        consultant = (await session.execute(select(Consultant.id).limit(1))).scalar_one()
    return cases[0], cases[1], consultant


def _task(case_id: int, consultant_id: int, kind: str) -> ConsultantTask:
    return ConsultantTask(municipality_id="demo", consultant_id=consultant_id,
                          case_id=case_id, kind=kind, text=kind)


async def _open_kinds(api: Api) -> set[tuple[int, str]]:
    async with api.client.app[DB].read() as session:
        return {(case_id, kind) for case_id, kind in (await session.execute(select(
            ConsultantTask.case_id, ConsultantTask.kind).where(
            ConsultantTask.done_at.is_(None), ConsultantTask.kind.in_(("a", "b"))))).all()}


async def test_closing_tasks_the_transaction_does_not_hold(sqlite_api: Api) -> None:
    first, second, consultant = await _two_cases(sqlite_api)
    db = sqlite_api.client.app[DB]
    async with db.write() as session:
        session.add_all([_task(first, consultant, "a"), _task(first, consultant, "b"),
                         _task(second, consultant, "a")])
    async with db.write() as session:
        await close_tasks(session, first, ("a",), DONE)
    # only the case's tasks of that kind
    assert await _open_kinds(sqlite_api) == {(first, "b"), (second, "a")}


async def test_closing_tasks_the_transaction_holds(sqlite_api: Api) -> None:
    first, second, consultant = await _two_cases(sqlite_api)
    db = sqlite_api.client.app[DB]
    async with db.write() as session:
        session.add(_task(first, consultant, "a"))
    async with db.write() as session:
        # one read in this transaction (its object says it is done), one added and not yet
        # written (written first): both rows are closed
        loaded = (await session.execute(select(ConsultantTask).where(
            ConsultantTask.kind == "a"))).scalar_one()
        added = _task(first, consultant, "a")
        session.add(added)
        other = _task(second, consultant, "a")
        session.add(other)
        await close_tasks(session, first, ("a",), DONE)
        assert loaded.done_at == DONE and other.done_at is None
    assert await _open_kinds(sqlite_api) == {(second, "a")}
