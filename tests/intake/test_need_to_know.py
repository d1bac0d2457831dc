"""Need to know: a consultant's key lists, reads and changes only the cases the consultant
owns — another's case is a 404, as if it did not exist — and sees only their cases' outgoing
messages; intake and managers keep seeing every case; every read stays audited."""

from __future__ import annotations

from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, Case, OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.support import Api, today_local


async def _own(api: Api, case_id: str, consultant: str) -> None:
    resp = await api.client.put(f"/api/cases/{case_id}/owner", json={
        "consultant_id": consultant, "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()


async def test_a_consultant_sees_and_changes_only_their_own_cases(
        api: Api, demo_config: MunicipalityConfig) -> None:
    mine_key = demo_config.consultants[0].id  # the test's consultant key is theirs
    other_key = demo_config.consultants[1].id
    await intake(api, body("mine"), body("theirs"), body("nobodys", employment="unemployed"))
    await _own(api, "mine", mine_key)
    await _own(api, "theirs", other_key)
    await api.client.app[JOBS].wait_idle()
    h = api.auth("consultant")

    listed = await (await api.client.get("/api/cases", headers=h)).json()
    assert [c["case_id"] for c in listed["cases"]] == ["mine"] and listed["total"] == 1
    for query in ("?owner=" + other_key, "?owner=none", "?status=target"):
        found = await (await api.client.get("/api/cases" + query, headers=h)).json()
        assert {c["case_id"] for c in found["cases"]} <= {"mine"}, query

    assert (await api.client.get("/api/cases/mine", headers=h)).status == 200
    today = today_local().isoformat()
    errors: dict[str, list[str]] = {}
    for case_id in ("theirs", "nobodys", "does-not-exist"):
        answers = [
            await api.client.get(f"/api/cases/{case_id}", headers=h),
            await api.client.patch(f"/api/cases/{case_id}", json={"dismissed": True},
                                   headers=h),
            await api.client.post(f"/api/cases/{case_id}/meeting/confirm",
                                  json={"start": f"{today}T10:00"}, headers=h),
            await api.client.post(f"/api/cases/{case_id}/close",
                                  json={"outcome": "other", "on": today}, headers=h),
            await api.client.post(f"/api/cases/{case_id}/reopen", headers=h),
        ]
        assert [a.status for a in answers] == [404] * 5, case_id
        errors[case_id] = [(await a.json())["error"].replace(case_id, "X") for a in answers]
    # Someone else's case reads exactly like one that does not exist.
    assert errors["theirs"] == errors["nobodys"] == errors["does-not-exist"], errors

    patched = await api.client.patch("/api/cases/mine", json={"citizen": {"phone": "12345678"}},
                                     headers=h)
    assert patched.status == 200, await patched.text()

    # Intake and managers keep their access to every case.
    for role in ("intake", "manager"):
        everything = await (await api.client.get("/api/cases", headers=api.auth(role))).json()
        assert everything["total"] == 3, role
        assert (await api.client.get("/api/cases/theirs", headers=api.auth(role))).status == 200

    async with api.client.app[DB].read() as session:
        ids = dict((await session.execute(select(Case.case_ref, Case.id))).all())
        reads = (await session.execute(select(AuditEntry.action, AuditEntry.case_id).where(
            AuditEntry.role == "consultant"))).all()
    assert ("case.read", ids["mine"]) in reads
    assert ("case.read_refused", ids["theirs"]) in reads
    assert ("case.list", None) in reads
    # Every attempt on another's case is audited, naming what was tried (one policy per
    # action: service.platform.policies) — closing, reopening and confirming too.
    async with api.client.app[DB].read() as session:
        refused = (await session.execute(select(AuditEntry.case_id, AuditEntry.details).where(
            AuditEntry.action == "case.read_refused"))).all()
    for case_id in ("theirs", "nobodys"):
        assert sorted(d["action"] for c, d in refused if c == ids[case_id]) == sorted(
            ("read", "patch", "confirm_meeting", "close", "reopen")), case_id


async def test_a_consultant_lists_only_their_cases_messages(
        api: Api, demo_config: MunicipalityConfig) -> None:
    await intake(api, body("m1"), body("m2", employer={
        "cvr": "87654321", "name": "Anden ApS", "contact_name": "Per Hansen",
        "contact_email": "per@anden.example", "address": "Torvet 1, 7400 Herning"}))
    await _own(api, "m1", demo_config.consultants[0].id)
    await _own(api, "m2", demo_config.consultants[1].id)
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        by_case = (await session.execute(select(Case.case_ref, OutboxMessage.id).join(
            Case, Case.id == OutboxMessage.case_id))).all()
    mine = {m for ref, m in by_case if ref == "m1"}
    assert mine and {m for ref, m in by_case if ref == "m2"}, by_case

    seen = await api.client.get("/api/outbox", headers=api.auth("consultant"))
    assert {m["id"] for m in (await seen.json())["messages"]} == mine
    for role in ("intake", "manager"):
        every = await api.client.get("/api/outbox", headers=api.auth(role))
        assert {m["id"] for m in (await every.json())["messages"]} >= {m for _, m in by_case}
