"""Planning inside the service: owners and meeting proposals from intake, re-planning on change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from optimizer.explain import REASONS
from service.clock import SettableClock
from service.keys import DB, JOBS, PLANNER
from service.planning.solver import ThreadSolver
from service.platform.db.models import Meeting, PlanningRun
from service.platform.jobqueue import PLAN
from service.text.reasons import ASSIGNMENT_WORDS, UNASSIGNED_WORDS, reason_in_words
from tests.support import Api, make_secrets, start_api

TODAY = date(2026, 11, 20)


def body(case_id: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_id": case_id,
        "first_absence_day": "2026-11-09",
        "employment": "employed",
        "employer": {"cvr": "12345678", "name": "Sunds Træ ApS",
                     "contact_email": "leder@sundstrae.example",
                     "location": {"lat": 56.205, "lon": 9.02}},
        "visitation_category": 3,
        "diagnosis_group": "physical",
        "citizen": {"name": "Mads Madsen", "email": "mads@example.org"},
    }
    data.update(overrides)
    return data


@pytest.fixture
async def planned_api(demo_config, database_url) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(database_url), clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api


async def _case(api: Api, case_id: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_id}", headers=api.auth("intake"))
    assert resp.status == 200
    return await resp.json()


async def test_batch_intake_yields_owners_and_proposals(planned_api: Api) -> None:
    api = planned_api
    h = api.auth("intake")
    bodies = [
        body("w1"),
        body("w2", diagnosis_group="mental",
             employer={"cvr": "29189919", "name": "Stor Fabrik A/S",
                       "contact_email": "hr@storfabrik.example",
                       "location": {"lat": 56.17, "lon": 9.01}}),
        body("j1", citizen_declines_workplace_meeting=True),
        body("t1", full_recovery_plan_date="2026-12-01"),
        body("n1", visitation_category=1),
    ]
    for b in bodies:
        assert (await api.client.post("/api/cases", json=b, headers=h)).status == 201
    await api.client.app[JOBS].wait_idle()

    w1, w2, j1, t1, n1 = [await _case(api, b["case_id"]) for b in bodies]
    for case in (w1, w2, j1, t1):
        assert case["owner"] is not None, case["case_id"]
        assert case["owner"]["reasons"], case["case_id"]
    # the fixed consultant for CVR 29189919 in config/demo.toml is "anna"
    assert w2["owner"]["consultant_id"] == "anna"
    assert "fast konsulent for virksomheden" in w2["owner"]["reasons"]
    assert w1["meeting"]["kind"] == "workplace_meeting"
    assert w1["meeting"]["status"] == "proposed"
    assert w1["meeting"]["start"][:10] <= w1["decision"]["first_meeting_deadline"]
    assert len(w1["meeting"]["alternatives"]) == 2
    assert j1["meeting"]["kind"] == "jobcenter_meeting"
    assert t1["meeting"] is None  # telephone follow-up: an owner, no meeting
    assert n1["owner"] is None and n1["meeting"] is None  # outside the model

    async with api.client.app[DB].read() as session:
        runs = (await session.execute(select(PlanningRun))).scalars().all()
    assert runs and all(r.solver in ("cpsat", "greedy") for r in runs)


async def test_recovery_plan_change_removes_and_recreates_the_proposal(planned_api: Api
                                                                        ) -> None:
    api = planned_api
    h = api.auth("intake")
    await api.client.post("/api/cases", json=body("w1"), headers=h)
    await api.client.app[JOBS].wait_idle()
    assert (await _case(api, "w1"))["meeting"]["kind"] == "workplace_meeting"

    resp = await api.client.patch("/api/cases/w1", json={"full_recovery_plan_date": "2026-12-10"},
                                  headers=h)
    assert (await resp.json())["decision"]["follow_up"] == "telephone"
    await api.client.app[JOBS].wait_idle()
    case = await _case(api, "w1")
    assert case["meeting"] is None
    owner = case["owner"]["consultant_id"]
    async with api.client.app[DB].read() as session:
        cancelled = (await session.execute(select(Meeting).where(
            Meeting.status == "cancelled"))).unique().scalars().all()
    assert len(cancelled) == 1

    await api.client.patch("/api/cases/w1", json={"full_recovery_plan_date": None}, headers=h)
    await api.client.app[JOBS].wait_idle()
    case = await _case(api, "w1")
    assert case["meeting"]["kind"] == "workplace_meeting"
    assert case["owner"]["consultant_id"] == owner  # one owner from start to recovery


async def test_owner_override_is_kept_by_later_runs(planned_api: Api) -> None:
    api = planned_api
    h = api.auth("intake")
    await api.client.post("/api/cases", json=body("w1"), headers=h)
    await api.client.app[JOBS].wait_idle()
    resp = await api.client.put("/api/cases/w1/owner",
                                json={"consultant_id": "dennis", "reason": "kender familien"},
                                headers=h)
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    run = await api.client.post("/api/planning/run", headers=api.auth("manager"))
    assert run.status == 200
    case = await _case(api, "w1")
    assert case["owner"]["consultant_id"] == "dennis"
    assert case["owner"]["overridden"] is True
    assert case["meeting"]["consultant_id"] == "dennis"
    bad = await api.client.put("/api/cases/w1/owner", json={"consultant_id": "nobody",
                                                            "reason": "x"}, headers=h)
    assert bad.status == 422


def test_reasons_in_words() -> None:
    assert reason_in_words("skill_match:mental") == "speciale: psykisk"
    assert reason_in_words("fixed_employer") == "fast konsulent for virksomheden"
    assert reason_in_words("least_loaded") == "laveste belastning"


def test_every_reason_the_planner_explains_has_danish_words() -> None:
    """The planner's explanations (optimizer.explain.REASONS, rule 10's talks included) reach
    intake staff in Danish, never as a code."""
    for code in REASONS:
        code = code.replace("<date>", "2026-03-12")
        if code.startswith(("late:", "no_meeting:")) or code in ASSIGNMENT_WORDS or \
                code in UNASSIGNED_WORDS:
            assert reason_in_words(code) != code and ":" not in reason_in_words(code)[-12:], code
    assert "fortrolige samtale" in reason_in_words("late:private_talk")
    assert "fortrolige samtale" in reason_in_words("no_meeting:private_talk_agreed")


async def test_stop_during_burst_pause_is_not_lost(demo_config, sqlite_url,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """A stop that arrives while the planner waits for a burst to settle ends the loop."""
    import asyncio

    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        jobs = api.client.app[JOBS]
        await jobs.wait_idle()
        jobs.request(PLAN, demo_config.municipality.id, "change")
        worker = next(t for t in asyncio.all_tasks() if t.get_name().startswith("job:plan:"))
        await asyncio.sleep(0)  # one turn of the loop: the worker is in its burst pause
        await jobs.stop()
        assert worker.done()
        assert not worker.cancelled()  # it returned on its own, nobody cancelled it
    assert "did not finish on shutdown" not in caplog.text


async def test_cpsat_failure_falls_back_to_greedy_and_is_logged(
        planned_api: Api, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import optimizer

    real_solve = optimizer.solve

    def failing_cpsat(instance: Any, solver: str = "cpsat", **kwargs: Any) -> Any:
        if solver == "cpsat":
            raise RuntimeError("solver crashed")
        return real_solve(instance, solver=solver, **kwargs)

    monkeypatch.setattr(optimizer, "solve", failing_cpsat)
    api = planned_api
    # In this process, so that the replaced optimizer is the one that solves.
    api.client.app[PLANNER].solver = ThreadSolver()
    await api.client.post("/api/cases", json=body("f1"), headers=api.auth("intake"))
    await api.client.app[JOBS].wait_idle()
    case = await _case(api, "f1")
    assert case["owner"] is not None and case["meeting"]["kind"] == "workplace_meeting"
    runs = (await (await api.client.get("/api/planning/runs",
                                        headers=api.auth("manager"))).json())["runs"]
    assert runs[0]["solver"] == "greedy" and "solver crashed" in runs[0]["error"]
    assert "CP-SAT failed, using the greedy plan" in caplog.text


async def test_consultant_not_yet_doing_workplace_meetings_gets_none(planned_api: Api) -> None:
    # config/demo.toml: "eva" holds workplace meetings only from 2027-02-01 (after TODAY).
    api = planned_api
    h = api.auth("intake")
    for n in range(12):
        await api.client.post("/api/cases", json=body(f"r{n}", employer={
            "cvr": f"{40000000 + n}", "name": f"Firma {n}",
            "contact_email": f"chef{n}@firma.example",
            "location": {"lat": 56.13 + n * 0.01, "lon": 8.95}}), headers=h)
    await api.client.app[JOBS].wait_idle()
    cases = [await _case(api, f"r{n}") for n in range(12)]
    workplace = [c["meeting"] for c in cases if c["meeting"]]
    assert workplace, "meetings were proposed"
    assert all(m["consultant_id"] != "eva" for m in workplace
               if m["kind"] == "workplace_meeting")
    assert all(c["owner"]["consultant_id"] != "eva" for c in cases)


async def test_sent_proposal_is_not_moved_by_later_runs(planned_api: Api) -> None:
    api = planned_api
    await api.client.post("/api/cases", json=body("s1"), headers=api.auth("intake"))
    await api.client.app[JOBS].wait_idle()
    first = await _case(api, "s1")
    assert first["meeting"]["invited_at"] is not None  # the employer was sent the proposal
    # More work arrives and planning runs again (twice): the sent proposal stays as it is.
    for n in range(4):
        await api.client.post("/api/cases", json=body(f"x{n}"), headers=api.auth("intake"))
    await api.client.app[JOBS].wait_idle()
    assert (await api.client.post("/api/planning/run", headers=api.auth("manager"))).status == 200
    again = await _case(api, "s1")
    assert again["meeting"] == first["meeting"]
    async with api.client.app[DB].read() as session:
        meetings = (await session.execute(select(Meeting).join(Meeting.case).where(
            Meeting.case.has(case_ref="s1")))).unique().scalars().all()
    assert len(meetings) == 1
