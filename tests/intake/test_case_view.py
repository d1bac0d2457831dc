"""The API's case read (`GET /api/cases/{case_id}`, plain Core statements in one go) answers
exactly what the ORM entities make of the same case — owner, employer, the active meeting,
decision history, held meetings with minutes, interventions, CPR masked — on both databases;
and every read is in the audit log, also when many arrive at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.followup.records import HeldMeeting, InterventionRow, progress
from service.intake.views import case_out
from service.keys import DB, INTAKE, JOBS
from service.platform.db.engine import as_utc
from service.platform.db.models import (
    ACTIVE_MEETING,
    AuditEntry,
    Case,
    DecisionRecord,
    Intervention,
    Meeting,
)
from tests.meetings.email_cases import body, intake
from tests.support import Api, make_secrets, start_api, today_local

OWNER = "anna"  # the test consultant key belongs to the config's first consultant


async def _orm_view(api: Api, case_ref: str, clock: SettableClock,
                    consultant: str | None = None) -> dict[str, Any]:
    """The case as the ORM entities show it (what the read answered before it was Core);
    `consultant`: as that consultant sees it (of the citizen's other cases, their own)."""
    app = api.client.app
    async with app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == case_ref))
                ).unique().scalar_one()
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING)))
                   ).unique().scalar_one_or_none()
        history = (await session.execute(select(DecisionRecord).where(
            DecisionRecord.case_id == case.id).order_by(DecisionRecord.id))).scalars().all()
        held = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status == "held").order_by(Meeting.start))
                ).unique().scalars().all()
        rows = (await session.execute(select(Intervention).where(
            Intervention.case_id == case.id).order_by(Intervention.started_on,
                                                      Intervention.id))).scalars().all()
        # the citizen's other open cases (a manager sees them all, a consultant their own)
        others = [] if case.cpr_hash is None or case.closed_on else [other.case_ref for other in (
            await session.execute(select(Case).where(
                Case.municipality_id == case.municipality_id, Case.cpr_hash == case.cpr_hash,
                Case.closed_on.is_(None), Case.erased_at.is_(None), Case.id != case.id)
                .order_by(Case.case_ref))).unique().scalars()
            if consultant is None or (other.owner is not None and other.owner.key == consultant)]
    out = case_out(case, clock.today(), meeting, app[INTAKE].cpr(case))
    out["progress"].update(progress(
        [HeldMeeting(m.held_at or m.start, m.place, m.employer_took_part, m.on_time,
                     list(m.agreements or []), m.return_plan,
                     bool(m.retention_plan_requested), m.minutes_note) for m in held],
        [InterventionRow(i.kind, i.started_on, i.ends_on, i.hours_per_week) for i in rows],
        clock.today()))
    out["history"] = [{"at": as_utc(h.at).isoformat(), "trigger": h.trigger, "actor": h.actor,
                       "changed_facts": h.changed_facts, "before": h.before, "after": h.after}
                      for h in history]
    out["other_open_cases"] = others
    return out


async def test_the_read_answers_what_the_entities_show(demo_config: MunicipalityConfig,
                                                       database_url: str) -> None:
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(database_url), clock=clock):
        h = api.auth("manager")
        # No owner, no meeting, no employer: the bare case.
        await intake(api, body("v0", employment="unemployed", employer=None))
        resp = await api.client.get("/api/cases/v0", headers=h)
        assert resp.status == 200, await resp.text()
        assert await resp.json() == await _orm_view(api, "v0", clock)
        # Owner, employer, a proposed meeting, a patched fact (history).
        await intake(api, body("v1"))
        resp = await api.client.put("/api/cases/v1/owner", json={
            "consultant_id": OWNER, "reason": "test"}, headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        resp = await api.client.patch("/api/cases/v1", json={"dismissed": True},
                                      headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        case = await (await api.client.get("/api/cases/v1", headers=h)).json()
        assert case["meeting"] is not None and case["owner"]["consultant_id"] == OWNER
        assert len(case["history"]) == 2 and case["cpr"].endswith("XXXX")
        assert case == await _orm_view(api, "v1", clock)
        # The meeting held with minutes, the follow-up planned, an intervention started.
        async with api.client.app[DB].read() as session:
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case.has(case_ref="v1"), Meeting.status.in_(ACTIVE_MEETING)))
                       ).unique().scalar_one()
        clock.set(meeting.start + timedelta(minutes=70))
        resp = await api.client.post("/api/cases/v1/meeting-outcome", json={
            "place": "workplace", "employer_took_part": True, "retention_plan_requested": True,
            "agreements": [{"what": "Find lette opgaver", "who": "employer",
                            "due": (clock.today() + timedelta(days=7)).isoformat()}],
            "note": "kun for personalet"}, headers=api.auth("consultant"))
        assert resp.status == 200, await resp.text()
        resp = await api.client.post("/api/cases/v1/intervention", json={
            "started_on": clock.today().isoformat()}, headers=h)
        assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        resp = await api.client.get("/api/cases/v1", headers=api.auth("consultant"))
        case = await resp.json()
        assert case["progress"]["held_meetings"][0]["agreements"][0]["what"] == \
            "Find lette opgaver"
        assert case["progress"]["interventions"]
        assert case == await _orm_view(api, "v1", clock, consultant=OWNER)


async def test_every_read_is_audited_also_in_a_burst(sqlite_api: Api) -> None:
    await intake(sqlite_api, body("b1"))
    h = sqlite_api.auth("manager")
    before = await _reads(sqlite_api)
    responses = await asyncio.gather(*(sqlite_api.client.get("/api/cases/b1", headers=h)
                                       for _ in range(40)))
    assert [r.status for r in responses] == [200] * 40
    # Each answer came after its entry was committed: all 40 are there at once.
    assert await _reads(sqlite_api) == before + 40


async def _reads(api: Api) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "case.read"))).scalar_one()
