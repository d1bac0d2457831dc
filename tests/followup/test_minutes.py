"""After the first meeting (issue 20): the meeting's minutes (agreements → the consultant's
tasks with a due date, the plan back to work, a retention plan, a staff-only note, mailed to
the parties who are chosen), the meeting's real date (an unconfirmed proposal is never
back-dated; a month that has ended gets a correction), interventions with a kind, and a
partial return that keeps the case open (closing outcomes: one list without it)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy import text as sql

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, JOBS
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import alembic_config
from service.platform.db.models import AuditEntry, Meeting, OutboxMessage
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake
from tests.support import (
    SYSTEM_CLOCK,
    TEST_DATA_KEY,
    Api,
    make_secrets,
    start_api,
    today_local,
)

OWNER = "anna"
NOTE = "Borgeren fortalte om søvnbesvær og medicin"  # staff only: never leaves fasthold


async def _post(api: Api, path: str, data: dict[str, Any], role: str = "consultant"
                ) -> tuple[int, Any]:
    resp = await api.client.post(path, json=data, headers=api.auth(role))
    return resp.status, await resp.json()


async def _setup(api: Api, case_id: str, **overrides: Any) -> Meeting:
    """A case of the test consultant's with its proposed meeting."""
    await intake(api, body(case_id, **overrides))
    resp = await api.client.put(f"/api/cases/{case_id}/owner", json={
        "consultant_id": OWNER, "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    return (await _meetings(api, case_id))[-1]


async def _meetings(api: Api, case_id: str) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting).where(
            Meeting.case.has(case_ref=case_id)).order_by(Meeting.id))).unique().scalars())


async def _confirm(api: Api, case_id: str, meeting: Meeting) -> None:
    resp = await api.client.post(f"/api/cases/{case_id}/meeting/confirm", json={
        "start": meeting.start.isoformat(timespec="minutes")}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()


def _minutes(today: date) -> dict[str, Any]:
    return {
        "agreements": [
            {"what": "Tal med lægen om skånehensyn", "who": "citizen",
             "due": (today + timedelta(days=7)).isoformat()},
            {"what": "Find opgaver uden tunge løft", "who": "employer",
             "due": (today + timedelta(days=10)).isoformat()},
            {"what": "Ring til arbejdsgiveren om opgaverne", "who": "consultant",
             "due": (today + timedelta(days=14)).isoformat()}],
        "return_plan": {"steps": [
            {"from": (today + timedelta(days=7)).isoformat(), "hours_per_week": 12},
            {"from": (today + timedelta(days=21)).isoformat(), "hours_per_week": 22.5}],
            "full_time_from": (today + timedelta(days=35)).isoformat()},
        "retention_plan_requested": True,
        "note": NOTE,
    }


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime.combine(today_local(), time(9, 0)))


async def test_minutes_are_stored_shown_tasked_and_mailed_without_the_note(
        demo_config: MunicipalityConfig, sqlite_url: str, clock: SettableClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fasthold")
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        meeting = await _setup(api, "m1")
        await _confirm(api, "m1", meeting)
        clock.set(meeting.start + timedelta(minutes=90))
        today = clock.today()
        status, case = await _post(api, "/api/cases/m1/meeting-outcome", {
            "place": "workplace", "employer_took_part": True, **_minutes(today),
            "send_to": ["citizen", "employer"]})
        assert status == 200, case
        held = case["progress"]["held_meetings"]
        # A confirmed meeting that has begun is held at its planned time (the default).
        assert [h["held_at"] for h in held] == [meeting.start.isoformat(timespec="minutes")]
        assert held[0]["agreements"][2] == {"what": "Ring til arbejdsgiveren om opgaverne",
                                            "who": "consultant",
                                            "due": (today + timedelta(days=14)).isoformat()}
        assert held[0]["return_plan"]["steps"][1] == {
            "from": (today + timedelta(days=21)).isoformat(), "hours_per_week": 22.5}
        assert held[0]["retention_plan_requested"] is True and held[0]["note"] == NOTE
        # The consultant's agreement is their task, due on the agreed day.
        tasks = (await (await api.client.get("/api/tasks", headers=api.auth("consultant"))
                        ).json())["tasks"]
        agreed = [t for t in tasks if t["kind"] == "agreement"]
        assert [(t["text"], t["due_on"]) for t in agreed] == [
            ("Aftale: Ring til arbejdsgiveren om opgaverne",
             (today + timedelta(days=14)).isoformat())]
        # Each party is mailed its own agreements and the consultant's, and the plan: never
        # the note, never the other party's agreement.
        async with api.client.app[DB].read() as session:
            mails = {m.recipient: m for m in (await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == "meeting_minutes"))).scalars()}
            audit = [e.details for e in (await session.execute(select(AuditEntry))).scalars()]
        assert set(mails) == {CITIZEN, EMPLOYER}
        # No journal mailbox configured (demo.toml): no copy for the case file.
        async with api.client.app[DB].read() as session:
            assert (await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == "journal_minutes"))).first() is None
        employer, citizen = mails[EMPLOYER].body_text, mails[CITIZEN].body_text
        assert "Find opgaver uden tunge løft" in employer
        assert "Tal med lægen" not in employer and "Tal med lægen" in citizen
        assert "Find opgaver" not in citizen
        for text in (employer, citizen, mails[EMPLOYER].body_html or ""):
            assert "Ring til arbejdsgiveren om opgaverne" in text
            assert "22,5 timer om ugen" in text and "Fuld tid fra" in text
            assert "søvnbesvær" not in text and "mental" not in text
            # whom to call: the consultant on their own number, not the jobcentre's
            owner = next(c for c in api.client.app[CONFIG].consultants
                         if c.name in text and c.phone)
            assert f"på {owner.phone}, hvis noget ikke passer" in text
            # the municipality's privacy notice, as at the end of every mail (demo.toml)
            assert "Sådan behandler vi personoplysninger" in text
            assert "https://demo.example/persondata" in text
        # The note is never logged nor in the audit log.
        assert "søvnbesvær" not in caplog.text
        assert not [d for d in audit if "søvnbesvær" in str(d)]


async def test_minutes_input_is_checked_field_by_field(
        demo_config: MunicipalityConfig, sqlite_url: str, clock: SettableClock) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        meeting = await _setup(api, "m2")
        await _confirm(api, "m2", meeting)
        clock.set(meeting.start + timedelta(minutes=60))
        today = clock.today()
        good = {"place": "jobcentre", "employer_took_part": False}
        plan = _minutes(today)["return_plan"]
        wrong: list[tuple[dict[str, Any], str]] = [
            ({"return_plan": {**plan, "steps": plan["steps"][::-1]}}, "return_plan"),
            ({"return_plan": {**plan, "full_time_from": plan["steps"][1]["from"]}},
             "return_plan"),
            ({"return_plan": {**plan, "steps": [{"from": today.isoformat(),
                                                 "hours_per_week": 81}]}},
             "return_plan.steps[0].hours_per_week"),
            ({"agreements": [{"what": "x", "who": "boss", "due": today.isoformat()}]},
             "agreements[0].who"),
            ({"agreements": [{"what": "x" * 301, "who": "citizen", "due": today.isoformat()}]},
             "agreements[0].what"),
            ({"agreements": [{"what": "x", "who": "citizen", "due": today.isoformat()}] * 21},
             "agreements"),
            ({"note": "x" * 2001}, "note"),
            ({"send_to": ["slack"]}, "send_to[0]"),
            ({"held_at": (clock.local_now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
             "held_at"),
            ({"held_at": "2001-01-01T10:00"}, "held_at"),
            ({"held_at": "2026-12-01T10:00+01:00"}, "held_at"),
        ]
        for extra, field in wrong:
            status, error = await _post(api, "/api/cases/m2/meeting-outcome", {**good, **extra})
            assert status == 422, (extra, error)
            assert field in [e["field"] for e in error["errors"]], (extra, error)
        status, error = await _post(api, "/api/cases/m2/meeting-outcome", {
            "place": "not_held", "agreements": _minutes(today)["agreements"]})
        assert status == 422 and error["errors"][0]["field"] == "agreements", error
        assert (await _meetings(api, "m2"))[-1].status == "confirmed"


async def test_an_unconfirmed_july_proposal_registered_in_december_is_held_in_december(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """Issue 20 item 10, as a new user tried it: the proposal's time is no meeting's time."""
    clock = SettableClock(datetime(2026, 7, 6, 9, 0))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        proposal = await _setup(api, "jul", first_absence_day="2026-06-29")
        assert proposal.status == "proposed" and proposal.start.month == 7
        clock.set(datetime(2026, 12, 2, 11, 0))
        status, case = await _post(api, "/api/cases/jul/meeting-outcome",
                                   {"place": "workplace", "employer_took_part": True})
        assert status == 200, case
        held = (await _meetings(api, "jul"))[-1]
        assert (held.status, held.start, held.held_at) == (
            "held", datetime(2026, 12, 2, 11, 0), datetime(2026, 12, 2, 11, 0))
        assert held.on_time is False  # judged on 2 December: the week-8 deadline had passed
        assert held.outcome and held.outcome["planned_start"].startswith("2026-07")
        assert case["progress"]["held_meetings"][0]["on_time"] is False
        # Held in the current month: nothing reported is changed.
        async with api.client.app[DB].read() as session:
            corrections = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "kpi.correction"))).scalars().all()
        assert corrections == []


async def test_a_meeting_held_in_an_ended_month_is_a_correction(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    clock = SettableClock(datetime(2026, 11, 23, 9, 0))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        meeting = await _setup(api, "nov", first_absence_day="2026-11-16")
        clock.set(datetime(2026, 12, 3, 10, 0))
        status, error = await _post(api, "/api/cases/nov/meeting-outcome", {
            "place": "workplace", "employer_took_part": True, "held_at": "2026-11-15T10:00"})
        assert status == 422 and error["errors"][0]["field"] == "held_at", error
        status, case = await _post(api, "/api/cases/nov/meeting-outcome", {
            "place": "phone", "employer_took_part": False, "held_at": "2026-11-27T13:30"},
            role="manager")
        assert status == 200, case
        held = (await _meetings(api, "nov"))[-1]
        assert (held.id, held.start, held.on_time) == (meeting.id, datetime(2026, 11, 27, 13, 30),
                                                       True)
        async with api.client.app[DB].read() as session:
            corrections = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "kpi.correction"))).scalars().all()
        assert [(c.details["what"], c.details["month"], c.actor) for c in corrections] == [
            ("meeting_held", "2026-11", "manager:test-manager")]


async def test_interventions_have_a_kind_and_a_partial_return_keeps_the_case_open(
        demo_config: MunicipalityConfig, sqlite_url: str, clock: SettableClock) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _setup(api, "k1")
        today = clock.today()
        start = body("k1")["first_absence_day"]
        status, case = await _post(api, "/api/cases/k1/intervention", {
            "kind": "partial_return", "started_on": today.isoformat(), "hours_per_week": 18,
            "ends_on": (today + timedelta(days=28)).isoformat()})
        assert status == 200, case
        assert case["closed"] is None and case["owner"]["consultant_id"] == OWNER
        assert case["progress"]["partial_return"] is True
        # Several per case; the earliest start is the case's (the week-13 KPI reads it); a
        # request without a kind (a client from before kinds) registers "other".
        status, case = await _post(api, "/api/cases/k1/intervention", {"started_on": start})
        assert status == 200, case
        assert case["progress"]["intervention_started_on"] == start
        assert [(i["kind"], i["started_on"], i["hours_per_week"])
                for i in case["progress"]["interventions"]] == [
            ("other", start, None), ("partial_return", today.isoformat(), 18.0)]
        for extra, field in (({"kind": "vacation"}, "kind"),
                             ({"hours_per_week": -1}, "hours_per_week"),
                             ({"ends_on": start, "started_on": today.isoformat()}, "ends_on")):
            status, error = await _post(api, "/api/cases/k1/intervention",
                                        {"started_on": start, **extra})
            assert status == 422 and error["errors"][0]["field"] == field, (extra, error)
        # A partial return is no longer a way to close a case.
        status, error = await _post(api, "/api/cases/k1/close", {
            "outcome": "partly_recovered", "on": today.isoformat()})
        assert status == 422 and error["errors"][0]["field"] == "outcome", error
        status, case = await _post(api, "/api/cases/k1/close", {
            "outcome": "other_programme", "on": today.isoformat()})
        assert status == 200 and case["closed"]["outcome"] == "other_programme", case


async def test_the_case_file_gets_a_copy_of_the_minutes_without_the_note(
        demo_config: MunicipalityConfig, sqlite_url: str, clock: SettableClock) -> None:
    """`[followup] journal_email`: the case system's journal mailbox gets every held
    meeting's minutes, the case number first in the subject — every agreement, the plan, who
    took part and who was mailed — never the consultant's note."""
    config = demo_config.model_copy(update={"followup": demo_config.followup.model_copy(
        update={"journal_email": "journal@kommune.example"})})
    async for api in start_api(config, make_secrets(sqlite_url), clock=clock):
        meeting = await _setup(api, "j1")
        await _confirm(api, "j1", meeting)
        clock.set(meeting.start + timedelta(minutes=90))
        status, _ = await _post(api, "/api/cases/j1/meeting-outcome", {
            "place": "workplace", "employer_took_part": True, **_minutes(clock.today()),
            "send_to": ["employer"]})
        assert status == 200
        async with api.client.app[DB].read() as session:
            [copy] = (await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == "journal_minutes"))).scalars().all()
        assert copy.recipient == "journal@kommune.example"
        assert copy.subject.startswith("j1 – referat af opfølgningsmøde ")
        for text in (copy.body_text, copy.body_html or ""):
            for words in ("Første opfølgningsmøde, på arbejdspladsen",
                          "Arbejdsgiveren deltog", "Find opgaver uden tunge løft",
                          "Tal med lægen", "Ring til arbejdsgiveren om opgaverne",
                          "22,5 timer om ugen", "Fuld tid fra", "arbejdsgiveren"):
                assert words in text, (words, text)
            assert NOTE not in text and "søvnbesvær" not in text


async def test_corrections_name_the_months_whose_figures_change(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """A first meeting held by the end of week 8 changes the month it was held (first
    meetings) and the month week 8 ended (met, not missed); a follow-up changes no figure;
    an intervention changes the month its case's week 13 ended, only when it is the first
    workplace-oriented one started by then (education is not workplace-oriented)."""
    clock = SettableClock(datetime(2026, 9, 14, 9, 0))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _setup(api, "sep", first_absence_day="2026-09-10")  # week 8 ends 11-04
        clock.set(datetime(2027, 1, 5, 10, 0))
        status, case = await _post(api, "/api/cases/sep/meeting-outcome", {
            "place": "workplace", "employer_took_part": True, "held_at": "2026-10-30T10:00"},
            role="manager")
        assert status == 200, case
        # A follow-up held in December: no figure counts it.
        status, case = await _post(api, "/api/cases/sep/meeting-outcome", {
            "place": "phone", "employer_took_part": False, "held_at": "2026-12-01T10:00"},
            role="manager")
        assert status == 200, case
        # Week 13 ended 2026-12-09: education first (not counted), then a work trial
        # started in October — December's figure changes; a second one changes nothing.
        # The case's intervention_started_on is the earliest workplace-oriented start: an
        # education alone leaves it empty (the week-13 reminder and next step still ask).
        started_on = []
        for kind, started in (("education", "2026-10-01"), ("work_trial", "2026-10-20"),
                              ("wage_subsidy", "2026-11-02")):
            status, case = await _post(api, "/api/cases/sep/intervention", {
                "kind": kind, "started_on": started}, role="manager")
            assert status == 200, case
            resp = await api.client.get("/api/cases/sep", headers=api.auth("manager"))
            started_on.append((await resp.json())["progress"]["intervention_started_on"])
        assert started_on == [None, "2026-10-20", "2026-10-20"]
        async with api.client.app[DB].read() as session:
            corrections = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "kpi.correction").order_by(AuditEntry.id))
            ).scalars().all()
        assert [(c.details["what"], c.details["month"]) for c in corrections] == [
            ("meeting_held", "2026-10"), ("meeting_held", "2026-11"),
            ("intervention", "2026-12")]


async def test_the_migration_keeps_only_workplace_oriented_starts(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """Migration 0019: a case whose only intervention is an education no longer counts as
    having started its intervention; one with a work trial keeps that start."""
    clock = SettableClock(datetime(2026, 11, 2, 9, 0))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        for ref, kind in (("edu", "education"), ("trial", "work_trial")):
            await _setup(api, ref, first_absence_day="2026-10-20")
            status, case = await _post(api, f"/api/cases/{ref}/intervention", {
                "kind": kind, "started_on": "2026-10-28"}, role="manager")
            assert status == 200, case
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    config = alembic_config(sqlite_url, cipher)
    query = sql("SELECT case_ref, intervention_started_on FROM cases ORDER BY case_ref")
    starts = []
    for revision in ("0018", "head"):  # as before it (any kind), then after it
        await asyncio.to_thread(
            command.downgrade if revision == "0018" else command.upgrade, config, revision)
        db = Database(sqlite_url, SYSTEM_CLOCK)
        try:
            async with db.read() as session:
                starts.append([tuple(r) for r in (await session.execute(query)).all()])
        finally:
            await db.dispose()
    assert starts == [[("edu", "2026-10-28"), ("trial", "2026-10-28")],
                      [("edu", None), ("trial", "2026-10-28")]]
