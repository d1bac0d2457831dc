"""Domain errors become HTTP statuses through the real app (NotFound 404, Invalid 422 with field
errors, Conflict 409, Forbidden 403), always as a JSON body; a garbage body never gets a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from service.keys import CLOCK, CONFIG, DB, JOBS
from service.outbox.store import Message, Outbox
from service.platform.db.models import Case, Consultant, ConsultantTask
from service.platform.jobqueue import NoJobs
from tests.intake.test_api_cases import case_body
from tests.support import Api


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error = await resp.json()
    assert isinstance(error["error"], str) and error["error"]
    return error


async def test_not_found_is_404(sqlite_api: Api) -> None:
    resp = await sqlite_api.client.get("/api/cases/nope", headers=sqlite_api.auth("intake"))
    error = await error_of(resp, 404)
    assert "errors" not in error


async def test_invalid_is_422_with_field_errors(sqlite_api: Api) -> None:
    resp = await sqlite_api.client.get("/api/outbox?status=nope",
                                       headers=sqlite_api.auth("intake"))
    error = await error_of(resp, 422)
    assert error["error"] == "invalid input"
    assert [e["field"] for e in error["errors"]] == ["status"]
    assert "pending" in error["errors"][0]["message"]


async def test_errors_carry_a_stable_code(sqlite_api: Api) -> None:
    """Beside the English words (which may change) each error says its code (which does not);
    the params stay inside (the message says them)."""
    resp = await sqlite_api.client.get("/api/cases/nope", headers=sqlite_api.auth("intake"))
    assert (await error_of(resp, 404))["code"] == "case_not_found"
    resp = await sqlite_api.client.get("/api/outbox?status=nope&limt=3",
                                       headers=sqlite_api.auth("intake"))
    error = await error_of(resp, 422)
    assert error["code"] == "invalid"
    assert [(e["field"], e["code"]) for e in error["errors"]] == [("limt", "unknown_parameter")]
    # a parameter given twice: its second value was never checked (nor used)
    for query, name in (("/api/cases?status=target&status=bogus", "status"),
                        ("/api/cases?limit=1&limit=2", "limit"),
                        ("/api/kpis?from=2026-01&from=bogus", "from")):
        resp = await sqlite_api.client.get(query, headers=sqlite_api.auth("manager"))
        error = await error_of(resp, 422)
        assert [(e["field"], e["code"]) for e in error["errors"]] == [
            (name, "repeated_parameter")], query
    resp = await sqlite_api.client.post("/api/cases", json={"case_id": "k 1"},
                                        headers=sqlite_api.auth("intake"))
    error = await error_of(resp, 422)
    assert {(e["field"], e["code"]) for e in error["errors"]} == {
        ("case_id", "string_pattern_mismatch"), ("first_absence_day", "missing"),
        ("employment", "missing")}
    assert all(set(e) == {"field", "message", "code"} for e in error["errors"])


async def test_conflict_is_409(sqlite_api: Api) -> None:
    app = sqlite_api.client.app
    outbox = Outbox(app[CLOCK], NoJobs(), app[CONFIG].municipality.id, "demo.example")
    async with app[DB].write() as session:
        letter = outbox.enqueue(session, Message("letter", "citizen_meeting", "Ib Holm",
                                                 subject="Møde", text="Kære Ib Holm"))
        await session.flush()
        letter_id = letter.id
    h = sqlite_api.auth("intake")
    first = await sqlite_api.client.post(f"/api/outbox/{letter_id}/printed", headers=h)
    assert first.status == 200 and (await first.json())["status"] == "printed"
    again = await sqlite_api.client.post(f"/api/outbox/{letter_id}/printed", headers=h)
    error = await error_of(again, 409)
    assert "printed" in error["error"]
    # A letter is no email to retry either.
    retry = await sqlite_api.client.post(f"/api/outbox/{letter_id}/retry", headers=h)
    await error_of(retry, 409)


async def test_forbidden_is_403(sqlite_api: Api, demo_config) -> None:
    api = sqlite_api
    resp = await api.client.post("/api/cases", json=case_body("k1"), headers=api.auth("intake"))
    assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()
    other = demo_config.consultants[1].id  # not the test consultant key's own
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "k1"))
                ).unique().scalar_one()
        consultant = (await session.execute(select(Consultant).where(
            Consultant.key == other))).scalar_one()
        task = ConsultantTask(municipality_id=case.municipality_id, consultant_id=consultant.id,
                              case_id=case.id, kind="employer_declined", text="Ring op")
        session.add(task)
        await session.flush()
        task_id = task.id
    resp = await api.client.post(f"/api/tasks/{task_id}/done", headers=api.auth("consultant"))
    error = await error_of(resp, 403)
    assert "another consultant" in error["error"]
    # A role that may not do this at all is a 403 of the same kind.
    resp = await api.client.post("/api/planning/run", headers=api.auth("consultant"))
    await error_of(resp, 403)


# -- garbage in, never a 5xx -------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/api/cases"),
    ("PATCH", "/api/cases/k1"),
    ("PUT", "/api/cases/k1/owner"),
    ("POST", "/api/cases/k1/meeting/confirm"),
    ("POST", "/api/outbox/1/retry"),
    ("POST", "/api/tasks/1/done"),
]

GARBAGE: list[tuple[str, bytes, str | None]] = [
    ("empty", b"", "application/json"),
    ("binary", b"\xff\xfe\x00\x01garbage\x80", "application/json"),
    ("truncated", b'{"case_id": "k1", "employer": {', "application/json"),
    ("list", b"[1, 2, 3]", "application/json"),
    ("null", b"null", "application/json"),
    ("number", b"42", "application/json"),
    ("string", b'"case"', "application/json"),
    ("wrong types", b'{"case_id": {"$gt": ""}, "first_absence_day": 20261102, '
                    b'"employer": "x", "visitation_category": [2], "start": 9, '
                    b'"consultant_id": null, "reason": {}}', "application/json"),
    ("impossible date", b'{"case_id": "k1", "first_absence_day": "2026-02-30", '
                        b'"start": "2026-02-30T25:61"}', "application/json"),
    ("NaN and infinity", b'{"case_id": "k1", "visitation_category": NaN, '
                         b'"employer": {"location": {"lat": Infinity, "lon": -1e999}}}',
     "application/json"),
    ("lone surrogate", b'{"case_id": "\\ud800", "reason": "\\udfff"}', "application/json"),
    ("nul in text", b'{"case_id": "k\\u00001", "reason": "a\\u0000b"}', "application/json"),
    ("form", b"case_id=k1&start=x", "application/x-www-form-urlencoded"),
    ("no content type", b'{"case_id": "k1"}', None),
    ("json as text", b'{"case_id": "k1"}', "text/plain"),
]


@pytest.mark.parametrize(("name", "data", "content_type"), GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_no_5xx_for_a_garbage_body(sqlite_api: Api, name: str, data: bytes,
                                         content_type: str | None) -> None:
    headers = dict(sqlite_api.auth("admin"))
    if content_type is not None:
        headers["Content-Type"] = content_type
    for method, path in ENDPOINTS:
        resp = await sqlite_api.client.request(method, path, data=data, headers=headers)
        assert resp.status < 500, (method, path, name, resp.status, await resp.text())
        if resp.status >= 400:
            await error_of(resp, resp.status)  # a JSON error body, as for every /api failure


@pytest.mark.parametrize(("name", "data"), [
    ("deeply nested", b"[" * 100_000),
    ("huge number", b'{"visitation_category": ' + b"9" * 5000 + b"}"),
], ids=["deeply nested", "huge number"])
async def test_no_5xx_for_a_body_json_cannot_read(sqlite_api: Api, name: str,
                                                  data: bytes) -> None:
    headers = {**sqlite_api.auth("intake"), "Content-Type": "application/json"}
    resp = await sqlite_api.client.post("/api/cases", data=data, headers=headers)
    assert resp.status < 500, (name, resp.status, await resp.text())
    error = await error_of(resp, 422)
    assert [e["field"] for e in error["errors"]] == ["(body)"]
