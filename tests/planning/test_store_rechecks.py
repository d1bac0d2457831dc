"""Storing a plan re-checks every case it touches: a case closed, handed to another owner or
whose meeting changed while the solver worked is left for the next run — no new meeting, no
invitation, no reminder for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from service.clock import SettableClock
from service.keys import ANSWERS, CASE_CLOSING, DB, INTAKE, JOBS, PLANNER, REMINDERS
from service.planning.instance import InstanceContext, build_instance
from service.planning.solver import SolveRequest, SolveResult
from service.platform.auth import Principal
from service.platform.db.models import CalendarEntry, Case, Consultant, Meeting, OutboxMessage
from tests.planning.test_planning_service import TODAY, body
from tests.support import Api, make_secrets, start_api


@pytest.fixture
async def stale_api(demo_config, sqlite_url) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api


async def _plan_without_storing(api: Api) -> tuple[InstanceContext, SolveResult]:
    """A planning run up to the store: the instance built and solved, nothing stored yet."""
    planner = api.client.app[PLANNER]
    async with api.client.app[DB].snapshot() as session:
        ctx = await build_instance(session, planner.config, planner.clock.today())
    result = await planner.solver.solve(SolveRequest(ctx.instance, planner.time_limit))
    return ctx, result


async def _store(api: Api, ctx: InstanceContext, result: SolveResult) -> None:
    await api.client.app[PLANNER].store.store(ctx, result)


async def _meetings(api: Api, case_ref: str) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting).join(Case, Case.id == Meeting.case_id)
                                           .where(Case.case_ref == case_ref)
                                           .order_by(Meeting.id))).unique().scalars())


async def _messages(api: Api, kind: str) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == kind))).scalar_one()


def _principal(api: Api) -> Principal:
    municipality = api.client.app[PLANNER].config.municipality.id
    return Principal(key_id=0, name="test", role="intake", municipality_id=municipality)


async def _intake(api: Api, *bodies: dict[str, Any]) -> None:
    for b in bodies:
        resp = await api.client.post("/api/cases", json=b, headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def test_a_case_closed_while_planning_gets_no_new_meeting(stale_api: Api) -> None:
    api = stale_api
    await _intake(api, body("w1"))
    (first,) = await _meetings(api, "w1")
    assert first.status == "proposed" and first.invited_at is not None
    invitations = await _messages(api, "employer_invitation")
    ctx, result = await _plan_without_storing(api)
    assert any(a["case_id"] == "w1" and a.get("meeting") for a in result.plan["assignments"])

    await api.client.app[CASE_CLOSING].close("w1", "recovered", TODAY, "", _principal(api))
    await api.client.app[JOBS].wait_idle()
    await _store(api, ctx, result)  # the plan made before the close

    assert [m.status for m in await _meetings(api, "w1")] == ["cancelled"]
    assert await _messages(api, "employer_invitation") == invitations
    # Nor does the reminder scan remind anyone of anything about the closed case.
    later = TODAY + timedelta(days=7)
    assert await api.client.app[REMINDERS].send_due(later) == 0


async def test_a_case_handed_to_another_owner_while_planning_stays_with_them(
        stale_api: Api) -> None:
    api = stale_api
    await _intake(api, body("w1"))
    (first,) = await _meetings(api, "w1")
    old = first.consultant.key
    new = "dennis" if old != "dennis" else "bo"
    ctx, result = await _plan_without_storing(api)
    # The new owner is busy at the old proposal's time: the run after the override plans
    # another time, which the old plan must not overwrite.
    async with api.client.app[DB].write() as session:
        consultant = (await session.execute(select(Consultant).where(Consultant.key == new))
                      ).scalar_one()
        session.add(CalendarEntry(municipality_id=consultant.municipality_id,
                                  consultant_id=consultant.id,
                                  start=first.start - timedelta(hours=2),
                                  end=first.end + timedelta(hours=2)))

    await api.client.app[INTAKE].override_owner("w1", new, "kender familien", _principal(api))
    await api.client.app[JOBS].wait_idle()
    before = [(m.id, m.status, m.consultant.key) for m in await _meetings(api, "w1")]
    invitations = await _messages(api, "employer_invitation")
    await _store(api, ctx, result)  # the plan made for the old owner

    after = await _meetings(api, "w1")
    assert [(m.id, m.status, m.consultant.key) for m in after] == before
    assert all(m.consultant.key == new for m in after if m.status in ("proposed", "confirmed"))
    assert await _messages(api, "employer_invitation") == invitations


async def test_a_meeting_answered_while_planning_is_not_replaced(stale_api: Api) -> None:
    """The employer asked for other times meanwhile: the next run planned by their wishes,
    and the plan made before is not stored over it."""
    api = stale_api
    await _intake(api, body("w1"))
    (first,) = await _meetings(api, "w1")
    ctx, result = await _plan_without_storing(api)

    outcome = await api.client.app[ANSWERS].other_times(first.id, {
        "weekdays": ["thu"], "weekdays_text": ["torsdag"], "parts_of_day": ["afternoon"],
        "parts_text": ["eftermiddag"]})
    assert outcome == "done"
    await api.client.app[JOBS].wait_idle()
    before = [(m.id, m.status, m.start) for m in await _meetings(api, "w1")]
    await _store(api, ctx, result)
    assert [(m.id, m.status, m.start) for m in await _meetings(api, "w1")] == before


async def test_reminders_skip_a_closed_cases_meeting(stale_api: Api) -> None:
    """Whatever left a meeting standing on a closed case, the employer is not reminded of
    it, and the next planning run cancels it."""
    api = stale_api
    await _intake(api, body("w1"))
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "w1"))
                ).unique().scalar_one()
        case.closed_on, case.close_outcome = TODAY, "recovered"  # a meeting left behind
    later = TODAY + timedelta(days=7)
    assert await api.client.app[REMINDERS].send_due(later) == 0
    assert await _messages(api, "employer_reminder") == 0
    assert (await api.client.post("/api/planning/run", headers=api.auth("manager"))).status \
        == 200
    assert [m.status for m in await _meetings(api, "w1")] == ["cancelled"]


async def test_a_plan_that_repeats_what_is_stored_touches_only_what_it_changes(
        stale_api: Api) -> None:
    """Storing skips the plan's items that cannot change anything (an owned case keeping its
    meeting), judged from the instance: only a new case, or a case whose plan differs, is
    read and written again — and storing the repeat changes nothing."""
    api = stale_api
    await _intake(api, body("w1"), body("w2"))
    stored = [(m.id, m.status, m.start) for ref in ("w1", "w2") for m in await _meetings(api, ref)]
    ctx, result = await _plan_without_storing(api)
    planned = {a["case_id"] for a in result.plan["assignments"]}
    assert {"w1", "w2"} <= planned
    store = api.client.app[PLANNER].store
    assert [a["case_id"] for a in result.plan["assignments"] if store._may_change(ctx, a)] == []
    # A plan that would move w1's proposal to another hour is w1's to store; a case the
    # instance saw without an owner is always stored.
    moved = {**result.plan, "assignments": [
        {**a, "meeting": {**a["meeting"], "start": (datetime.fromisoformat(
            a["meeting"]["start"]) + timedelta(hours=1)).isoformat(timespec="minutes")}}
        if a["case_id"] == "w1" else a for a in result.plan["assignments"]]}
    assert [a["case_id"] for a in moved["assignments"] if store._may_change(ctx, a)] == ["w1"]
    w2 = ctx.cases["w2"]
    ctx.seen[w2.id] = replace(ctx.seen[w2.id], owner_id=None)
    assert {a["case_id"] for a in moved["assignments"] if store._may_change(ctx, a)} == {
        "w1", "w2"}
    await _store(api, *(await _plan_without_storing(api)))
    assert [(m.id, m.status, m.start) for ref in ("w1", "w2")
            for m in await _meetings(api, ref)] == stored
