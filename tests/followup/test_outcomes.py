"""Registering what the consultant did: calls, how the meeting went (held where / not held →
a new time is planned), the intervention's start. Only the owner or a manager; another
consultant's case is a 404 as if it did not exist (audited); bad input names its field; a
closed case takes no registration."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import event, select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, OUTCOMES
from service.platform.auth import Principal
from service.platform.db.engine import as_utc
from service.platform.db.models import AuditEntry, BookedMinute, Case, Intervention, Meeting
from tests.meetings.email_cases import body, intake
from tests.support import Api, make_secrets, start_api, today_local

OWNER = "anna"  # the test consultant key belongs to the config's first consultant
# What a consultant may try on another consultant's case: each is a 404, as for no case.
NOT_THEIRS = (("contacts", {"who": "employer"}),
              ("meeting-outcome", {"place": "phone", "employer_took_part": False}),
              ("intervention", {"started_on": today_local().isoformat()}))


async def _post(api: Api, path: str, data: dict[str, Any], role: str = "consultant"
                ) -> tuple[int, Any]:
    resp = await api.client.post(path, json=data, headers=api.auth(role))
    return resp.status, await resp.json()


async def _setup(api: Api, case_id: str) -> None:
    await intake(api, body(case_id))
    resp = await api.client.put(f"/api/cases/{case_id}/owner", json={
        "consultant_id": OWNER, "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def _meetings(api: Api) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting).order_by(Meeting.id)))
                    .unique().scalars())


async def test_calls_meeting_held_and_intervention(demo_config: MunicipalityConfig,
                                                  sqlite_url: str) -> None:
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _setup(api, "o1")
        status, case = await _post(api, "/api/cases/o1/contacts", {"who": "citizen"})
        assert status == 200, case
        assert case["progress"]["citizen_called_at"] == clock.utcnow().isoformat()
        assert case["progress"]["employer_called_at"] is None
        # The proposed meeting has not begun: nothing to register yet.
        status, error = await _post(api, "/api/cases/o1/meeting-outcome",
                                    {"place": "workplace", "employer_took_part": True})
        assert status == 409, error
        proposed = (await _meetings(api))[0]
        clock.set(proposed.start + timedelta(minutes=70))
        status, case = await _post(api, "/api/cases/o1/meeting-outcome",
                                   {"place": "workplace", "employer_took_part": True})
        assert status == 200, case
        held = (await _meetings(api))[0]
        assert (held.status, held.place, held.employer_took_part) == ("held", "workplace",
                                                                      True)
        assert case["meeting"] is None
        # A held first meeting is not planned again: the next is a follow-up, proposed from
        # two weeks before it is due (its own test in test_follow_ups.py).
        await api.client.app[JOBS].wait_idle()
        assert [m.purpose for m in await _meetings(api)] == ["first_meeting"]
        assert case["next_follow_up"]["kind"] == "workplace_meeting"
        started = clock.today().isoformat()
        status, case = await _post(api, "/api/cases/o1/intervention", {"started_on": started},
                                   role="manager")
        assert status == 200 and case["progress"]["intervention_started_on"] == started
        async with api.client.app[DB].read() as session:
            actions = set((await session.execute(select(AuditEntry.action))).scalars())
        assert {"case.called_citizen", "meeting.outcome", "case.intervention"} <= actions


async def test_not_held_frees_the_time_and_plans_a_new_one(demo_config: MunicipalityConfig,
                                                          sqlite_url: str) -> None:
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await _setup(api, "o2")
        first = (await _meetings(api))[0]
        resp = await api.client.post("/api/cases/o2/meeting/confirm", json={
            "start": first.start.isoformat(timespec="minutes")},
            headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        clock.set(first.start + timedelta(minutes=5))
        status, case = await _post(api, "/api/cases/o2/meeting-outcome",
                                   {"place": "not_held"})
        assert status == 200, case
        await api.client.app[JOBS].wait_idle()
        meetings = await _meetings(api)
        assert [m.status for m in meetings] == ["not_held", "proposed"]
        async with api.client.app[DB].read() as session:
            booked = (await session.execute(select(BookedMinute).where(
                BookedMinute.meeting_id == first.id))).first()
        assert booked is None


async def test_phone_follow_up_without_a_booked_meeting(demo_config: MunicipalityConfig,
                                                        sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _setup(api, "o3")
        # Without a current meeting (the proposal withdrawn), a phone follow-up held now is
        # recorded as the case's meeting.
        async with api.client.app[DB].write() as session:
            for meeting in (await session.execute(select(Meeting))).unique().scalars():
                meeting.status = "cancelled"
        status, case = await _post(api, "/api/cases/o3/meeting-outcome",
                                   {"place": "phone", "employer_took_part": False})
        assert status == 200, case
        held = [m for m in await _meetings(api) if m.status == "held"]
        assert [(m.kind, m.place, m.employer_took_part) for m in held] == [
            ("telephone", "phone", False)]


async def test_who_may_register_and_bad_input(demo_config: MunicipalityConfig,
                                              sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _setup(api, "o4")
        # Intake staff do not register outcomes; another consultant's case is not theirs.
        status, _ = await _post(api, "/api/cases/o4/contacts", {"who": "employer"}, "intake")
        assert status == 403
        resp = await api.client.put("/api/cases/o4/owner", json={
            "consultant_id": "bo", "reason": "test"}, headers=api.auth("intake"))
        assert resp.status == 200
        # Another consultant's case is answered exactly as an unknown one, and audited.
        unknown = [await _post(api, f"/api/cases/nope/{path}", data)
                   for path, data in NOT_THEIRS]
        for (path, data), (status, unknown_error) in zip(NOT_THEIRS, unknown, strict=True):
            status, error = await _post(api, f"/api/cases/o4/{path}", data)
            assert status == 404, (path, error)
            assert error == {**unknown_error, "error": unknown_error["error"].replace(
                "'nope'", "'o4'")}, (path, error)
        async with api.client.app[DB].read() as session:
            refused = (await session.execute(select(AuditEntry).where(
                AuditEntry.action == "case.read_refused"))).scalars().all()
        assert [(e.role, e.details["action"]) for e in refused] == [
            ("consultant", "register_contact"), ("consultant", "register_meeting"),
            ("consultant", "register_intervention")]
        assert all(e.case_id is not None for e in refused)
        async with api.client.app[DB].read() as session:
            actions = set((await session.execute(select(AuditEntry.action))).scalars())
        assert not {"case.called_employer", "meeting.outcome", "case.intervention"} & actions
        for path, data, field in (
                ("contacts", {"who": "boss"}, "who"),
                ("contacts", {}, "who"),
                ("meeting-outcome", {"place": "garden", "employer_took_part": True}, "place"),
                ("meeting-outcome", {"place": "workplace"}, "employer_took_part"),
                ("meeting-outcome", {"place": "phone", "employer_took_part": "yes"},
                 "employer_took_part"),
                ("intervention", {"started_on": "2026-13-01"}, "started_on"),
                ("intervention", {"started_on": (today_local() + timedelta(days=1))
                                  .isoformat()}, "started_on"),
                ("intervention", {"started_on": "2000-01-01"}, "started_on")):
            status, error = await _post(api, f"/api/cases/o4/{path}", data, "manager")
            assert status == 422, (path, data, error)
            assert error["errors"][0]["field"] == field, (path, data, error)
        status, _ = await _post(api, "/api/cases/none/contacts", {"who": "citizen"}, "manager")
        assert status == 404
        resp = await api.client.post("/api/cases/o4/close", json={
            "outcome": "recovered", "on": today_local().isoformat()},
            headers=api.auth("manager"))
        assert resp.status == 200
        status, _ = await _post(api, "/api/cases/o4/contacts", {"who": "citizen"}, "manager")
        assert status == 409


async def test_the_answer_to_a_write_is_no_read_of_the_case(demo_config: MunicipalityConfig,
                                                            sqlite_url: str) -> None:
    """A registration answers with the case as the caller now sees it, and the audit log has
    the registration — not a `case.read` nobody made; reading the case is one."""
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _setup(api, "o5")
        status, case = await _post(api, "/api/cases/o5/contacts", {"who": "citizen"})
        assert status == 200 and case["progress"]["citizen_called_at"] is not None, case
        assert case["history"] and case["owner"]["consultant_id"] == OWNER
        resp = await api.client.post("/api/cases/o5/close", json={
            "outcome": "other_municipality", "on": today_local().isoformat()},
            headers=api.auth("consultant"))
        assert resp.status == 200
        assert (await resp.json())["closed"]["outcome"] == "other_municipality"
        resp = await api.client.post("/api/cases/o5/reopen", headers=api.auth("consultant"))
        assert resp.status == 200 and (await resp.json())["reopened"]["owner_kept"] is True

        assert await _consultants_actions(api) == ["case.called_citizen", "case.close",
                                                   "case.reopen"]
        assert (await api.client.get("/api/cases/o5", headers=api.auth("consultant"))
                ).status == 200
        assert (await _consultants_actions(api))[-1] == "case.read"


async def _consultants_actions(api: Api) -> list[str]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(AuditEntry.action).where(
            AuditEntry.role == "consultant").order_by(AuditEntry.id))).scalars())


async def test_calls_and_interventions_as_plain_statements(demo_config: MunicipalityConfig,
                                                           database_url: str) -> None:
    """A call and an intervention are written as plain statements on the transaction's
    connection (no ORM flush): on SQLite and PostgreSQL alike, the same rows, stamps and
    audit entries (in order) as the ORM wrote them, in a fixed number of statements."""
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    first_absence = today_local() - timedelta(days=10)  # body()'s
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    async for api in start_api(demo_config, make_secrets(database_url), clock=clock):
        await _setup(api, "p1")
        app = api.client.app
        outcomes, db = app[OUTCOMES], app[DB]
        manager = Principal(key_id=0, name="leder", role="manager",
                            municipality_id=demo_config.municipality.id)
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            clock.set(clock.local_now().replace(tzinfo=None) + timedelta(minutes=5))
            await outcomes.register_contact("p1", "employer", manager)
            assert statements == ["SELECT", "UPDATE", "INSERT"]  # case, call, audit
            called_at = clock.utcnow()
            clock.set(clock.local_now().replace(tzinfo=None) + timedelta(minutes=5))
            statements.clear()
            await outcomes.register_intervention("p1", clock.today(), manager,
                                                 kind="work_trial")
            # Started on the first absence day (a correction only when the month its week
            # 13 ended has ended: the week-13 figure counts it there).
            await outcomes.register_intervention("p1", first_absence, manager,
                                                 kind="partial_return", hours_per_week=15.0)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        today = clock.today()
        week13_end = first_absence + timedelta(days=90)
        assert (week13_end.year, week13_end.month) >= (today.year, today.month)
        # Each time: the case, the intervention, the earliest start, the case's earliest
        # start (changed each time here), the audit entry; no correction (week 13 has not
        # ended).
        assert statements == ["SELECT", "INSERT", "SELECT", "UPDATE", "INSERT"] * 2
        async with db.read() as session:
            case = (await session.execute(select(Case).where(Case.case_ref == "p1"))
                    ).unique().scalar_one()
            entries = (await session.execute(select(AuditEntry).where(
                AuditEntry.case_id == case.id).order_by(AuditEntry.id))).scalars().all()
            kinds = (await session.execute(select(Intervention.kind).where(
                Intervention.case_id == case.id).order_by(Intervention.id))).scalars().all()
        assert as_utc(case.employer_called_at) == called_at
        assert as_utc(case.updated_at) == clock.utcnow()
        assert case.intervention_started_on == first_absence
        assert kinds == ["work_trial", "partial_return"]
        actions = [e.action for e in entries]
        expected = ["case.called_employer", "case.intervention", "case.intervention"]
        assert actions[-len(expected):] == expected
        assert {as_utc(e.at) for e in entries if e.action == "case.intervention"} == {
            clock.utcnow()}
        assert all(e.actor == manager.actor for e in entries if e.action.startswith(
            ("case.called", "case.intervention", "kpi.")))
