"""Bad input is a 4xx, never a 5xx: each probe here once answered 500 (issue 10, section 2).

Deep or huge JSON, dates past year 9999, query numbers that are digits only for `isdigit()`,
ids past the database's integers, estimates durable_rules could not read, `2.0` for a
category, CPR and CVR in other scripts' digits, text the databases cannot store; and the
answers themselves: timestamps with their UTC offset, a 405 with its `Allow` header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from service.keys import JOBS
from tests.intake.test_api_cases import case_body
from tests.platform.test_errors import error_of
from tests.support import Api, today_local

JSON = {"Content-Type": "application/json"}


async def fields_of(resp: Any, status: int = 422) -> list[str]:
    error = await error_of(resp, status)
    assert error["error"] == "invalid input"
    return [e["field"] for e in error["errors"]]


async def created(api: Api, **overrides: Any) -> dict[str, Any]:
    resp = await api.client.post("/api/cases", json=case_body(**overrides),
                                 headers=api.auth("intake"))
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


# -- JSON that cannot be read, or only just ------------------------------------------------------

def _nested(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"case_id": "k1", "employer": ' + b'{"x": ' * depth + inner + b"}" * depth + b"}"


UNREADABLE = {
    "list 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
    "object 10,000 deep": _nested(10_000),
    "object 990 deep": _nested(990),      # json reads it; what comes after must not recurse
    "object 200 deep": _nested(200),
    "integer of 5,000 digits": b'{"visitation_category": ' + b"9" * 5_000 + b"}",
    "integer of 4,000 digits": b'{"expected_absence_weeks": ' + b"9" * 4_000 + b"}",
    "float past the largest": b'{"expected_absence_weeks": 1e400}',
}


@pytest.mark.parametrize("name", list(UNREADABLE))
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_json_too_deep_or_too_big_is_422(sqlite_api: Api, method: str, name: str) -> None:
    await created(sqlite_api)
    path = "/api/cases" if method == "POST" else "/api/cases/k1"
    resp = await sqlite_api.client.request(method, path, data=UNREADABLE[name],
                                           headers={**sqlite_api.auth("intake"), **JSON})
    assert resp.status == 422, (name, resp.status, await resp.text())
    await error_of(resp, 422)


async def test_no_depth_the_parser_reads_gives_a_5xx(sqlite_api: Api) -> None:
    """Just below the parser's own limit, a merge patch used to reach the recursion limit."""
    await created(sqlite_api)
    h = {**sqlite_api.auth("intake"), **JSON}
    for depth in range(860, 1000, 2):
        member = b'{"cvr": "29189919", "x": ' + b'{"x": ' * depth + b"1" + b"}" * depth + b"}"
        for method, path, body in (
                ("POST", "/api/cases", b'{"case_id": "k1", "employer": ' + member + b"}"),
                ("PATCH", "/api/cases/k1", b'{"employer": ' + member + b"}")):
            resp = await sqlite_api.client.request(method, path, data=body, headers=h)
            assert resp.status == 422, (method, depth, resp.status, await resp.text())


# -- dates whose deadlines pass year 9999 --------------------------------------------------------

async def test_deadline_after_year_9999_is_422_naming_the_date(api: Api) -> None:
    h = api.auth("intake")
    late = {"first_absence_day": "9999-11-30", "as_of": "9999-12-01"}
    resp = await api.client.post("/api/cases", json=case_body(**late), headers=h)
    assert await fields_of(resp) == ["first_absence_day"]
    await created(api)
    resp = await api.client.patch("/api/cases/k1", json=late, headers=h)
    assert await fields_of(resp) == ["first_absence_day"]
    # The last first absence day whose deadlines exist is a case like any other.
    case = await created(api, case_id="k2", first_absence_day="9999-10-02", as_of="9999-10-02")
    assert case["decision"]["intervention_deadline"] == "9999-12-31"


# -- query parameters ----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "field"), [
    ("offset=9223372036854775808", "offset"),
    ("offset=99999999999999999999", "offset"),
    ("offset=1000001", "offset"),
    ("offset=%C2%B2", "offset"),          # "²": a digit for isdigit(), not for int()
    ("limit=%C2%B2", "limit"),
    ("limit=%D9%A3", "limit"),            # Arabic-Indic three
    ("limit=%EF%BC%95", "limit"),         # fullwidth five
    ("limit=-1", "limit"),
    ("limit=+5", "limit"),
    ("limit=501", "limit"),
    ("offset=", "offset"),
    ("deadline_before=%D9%A2%D9%A0%D9%A2%D9%A6-01-01", "deadline_before"),
    ("owner=a%00b", "owner"),
])
async def test_bad_list_parameters_are_422_naming_them(sqlite_api: Api, query: str,
                                                       field: str) -> None:
    resp = await sqlite_api.client.get(f"/api/cases?{query}", headers=sqlite_api.auth("intake"))
    assert await fields_of(resp) == [field]


async def test_the_largest_offset_still_lists(api: Api) -> None:
    resp = await api.client.get("/api/cases?offset=1000000&limit=500",
                                headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["offset"] == 1000000


# -- ids past the database's integers ------------------------------------------------------------

@pytest.mark.parametrize("raw", ["99999999999999999999", "9223372036854775808", "2147483648",
                                 "%C2%B2", "%D9%A3", "0", "-1", "1.0"])
async def test_an_id_no_row_can_have_is_404(api: Api, raw: str) -> None:
    h = api.auth("admin")
    for path in (f"/api/tasks/{raw}/done", f"/api/outbox/{raw}/retry",
                 f"/api/outbox/{raw}/printed"):
        resp = await api.client.post(path, headers=h)
        await error_of(resp, 404)


@pytest.mark.parametrize("raw", ["a%00b", "%F0%9F%98%80", "x" * 65, "a%2Fb"])
async def test_a_case_id_no_case_can_have_is_404(api: Api, raw: str) -> None:
    h = api.auth("intake")
    resp = await api.client.get(f"/api/cases/{raw}", headers=h)
    await error_of(resp, 404)
    resp = await api.client.patch(f"/api/cases/{raw}", json={"dismissed": True}, headers=h)
    await error_of(resp, 404)
    resp = await api.client.put(f"/api/cases/{raw}/owner", headers=h,
                                json={"consultant_id": "c1", "reason": "kender firmaet"})
    await error_of(resp, 404)


async def test_a_case_id_with_control_characters_is_404_on_every_case_route(api: Api) -> None:
    """A consultant's close or intervention with `%0F`/`%1F`/`%00` in the case id answered
    500 (issue 16, item 10): every route under /api/cases/{case_id} answers 404."""
    await created(api)
    day = today_local().isoformat()
    routes = [("POST", "close", {"outcome": "recovered", "on": day}),
              ("POST", "intervention", {"started_on": day}),
              ("POST", "contacts", {"who": "citizen"}),
              ("POST", "meeting-outcome", {"place": "not_held"}),
              ("POST", "meeting/confirm", {"start": "2026-12-01T10:00"}),
              ("POST", "reopen", None)]
    for role in ("consultant", "intake", "manager", "admin"):
        for raw in ("k1%0F", "%1F", "k%00", "%7F", "k1%C2%85"):
            for method, suffix, body in routes:
                resp = await api.client.request(method, f"/api/cases/{raw}/{suffix}",
                                                json=body, headers=api.auth(role))
                assert resp.status == 404, (role, raw, suffix, resp.status, await resp.text())


async def test_an_unavailable_interval_mixing_offsets_is_422(sqlite_api: Api) -> None:
    """One end with a UTC offset and one without could not be compared: 500."""
    employer = {**case_body()["employer"], "unavailable": [
        {"start": "2026-12-01T10:00:00+00:00", "end": "2026-12-01T11:00:00"}]}
    resp = await sqlite_api.client.post("/api/cases", json=case_body(employer=employer),
                                        headers=sqlite_api.auth("intake"))
    assert await fields_of(resp) == ["employer.unavailable[0].end"]


# -- numbers durable_rules could not read --------------------------------------------------------

@pytest.mark.parametrize(("weeks", "status"), [(1e-07, "not_target"), (1e16, "target"),
                                               (5e-324, "not_target")])
async def test_extreme_absence_estimates_are_decided(api: Api, weeks: float,
                                                     status: str) -> None:
    case = await created(api, visitation_category=None, expected_absence_weeks=weeks)
    assert case["decision"]["status"] == status
    # and again through a change of the estimate
    resp = await api.client.patch("/api/cases/k1", json={"expected_absence_weeks": 9},
                                  headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    resp = await api.client.patch("/api/cases/k1", json={"expected_absence_weeks": weeks},
                                  headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["decision"]["status"] == status


# -- strict numbers and ASCII digits -------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"visitation_category": 2.0}, "visitation_category"),
    ({"cpr": "٠١٠١٩٠-١٢٣٤"}, "cpr"),
    ({"cpr": "０１０１９０１２３４"}, "cpr"),
    ({"cpr": "010190-123٤"}, "cpr"),
    ({"employer": {"cvr": "٢٩١٨٩٩١٩", "name": "Demo A/S"}}, "employer.cvr"),
    ({"employer": {"cvr": "２９１８９９１９", "name": "Demo A/S"}}, "employer.cvr"),
    ({"first_absence_day": "٢٠٢٦-١١-٠٢"}, "first_absence_day"),
])
async def test_strict_numbers_and_ascii_digits(sqlite_api: Api, change: dict[str, Any],
                                               field: str) -> None:
    h = sqlite_api.auth("intake")
    resp = await sqlite_api.client.post("/api/cases", json=case_body(**change), headers=h)
    assert await fields_of(resp) == [field]
    await created(sqlite_api)
    resp = await sqlite_api.client.patch("/api/cases/k1", json=change, headers=h)
    assert await fields_of(resp) == [field]


@pytest.mark.parametrize(("body", "field"), [
    (b'{"case_id": "k1", "employer": {"cvr": "29189919", "name": "A\\u0000S"}}',
     "employer.name"),
    (b'{"case_id": "k1", "citizen": {"name": "Ib \\ud800"}}', "citizen.name"),
    (b'{"case_id": "k1", "employer": {"cvr": "29189919", "\\u0000": 1}}', "employer"),
])
async def test_text_no_database_can_store_is_422(api: Api, body: bytes, field: str) -> None:
    """PostgreSQL stores no NUL character; no database and no JSON encoder takes half a
    surrogate pair: such text is named, not stored."""
    h = {**api.auth("intake"), **JSON}
    resp = await api.client.post("/api/cases", data=body, headers=h)
    assert await fields_of(resp) == [field]
    await created(api)
    resp = await api.client.patch("/api/cases/k1", data=body.replace(b'"case_id": "k1", ', b""),
                                  headers=h)
    assert await fields_of(resp) == [field]


# -- the answers ---------------------------------------------------------------------------------

def _aware(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None


async def test_case_timestamps_carry_their_offset(api: Api) -> None:
    h = api.auth("intake")
    await created(api)
    case = await (await api.client.get("/api/cases/k1", headers=h)).json()
    assert _aware(case["created_at"]) and _aware(case["updated_at"]), case
    listed = await (await api.client.get("/api/cases", headers=h)).json()
    assert all(_aware(c["created_at"]) and _aware(c["updated_at"]) for c in listed["cases"])
    resp = await api.client.patch("/api/cases/k1", json={"dismissed": True}, headers=h)
    changed = await resp.json()
    assert _aware(changed["created_at"]) and _aware(changed["updated_at"]), changed


async def test_history_timestamps_carry_their_offset(sqlite_api: Api) -> None:
    await created(sqlite_api)
    case = await (await sqlite_api.client.get("/api/cases/k1",
                                              headers=sqlite_api.auth("intake"))).json()
    assert all(_aware(h["at"]) for h in case["history"]), case["history"]


async def test_planning_runs_and_meetings_carry_their_offset(sqlite_api: Api) -> None:
    api = sqlite_api
    h = api.auth("manager")
    await created(api)
    await api.client.app[JOBS].wait_idle()
    resp = await api.client.post("/api/planning/run", headers=h)
    assert resp.status == 200, await resp.text()
    runs = (await (await api.client.get("/api/planning/runs", headers=h)).json())["runs"]
    assert runs and all(_aware(r["started_at"]) for r in runs), runs
    case = await (await api.client.get("/api/cases/k1", headers=h)).json()
    meeting = case["meeting"]
    assert meeting is not None, case
    assert meeting["invited_at"] is None or _aware(meeting["invited_at"]), meeting


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/api/cases", {"GET", "HEAD", "POST"}),
    ("DELETE", "/api/cases/k1", {"GET", "HEAD", "PATCH"}),
    ("GET", "/api/tasks/1/done", {"POST"}),
])
async def test_405_carries_allow(sqlite_api: Api, method: str, path: str,
                                 allowed: set[str]) -> None:
    resp = await sqlite_api.client.request(method, path, headers=sqlite_api.auth("admin"))
    await error_of(resp, 405)
    assert set(resp.headers["Allow"].split(",")) == allowed


@pytest.mark.parametrize(("path", "data", "field"), [
    ("/api/cases/k1/close", {"outcome": "recovered", "on": "1780272000"}, "on"),
    ("/api/cases/k1/intervention", {"kind": "work_trial", "started_on": "1795132800"},
     "started_on"),
    ("/api/cases/k1/meeting-outcome", {"place": "jobcentre", "held_at": "1780272000"},
     "held_at")])
async def test_a_number_of_seconds_is_no_date(api: Api, path: str, data: dict[str, str],
                                               field: str) -> None:
    """Dates and times are ISO 8601 text, as the document says: "1780272000" was taken as
    1 June 2026 (pydantic reads seconds since 1970)."""
    await created(api)
    resp = await api.client.post(path, json=data, headers=api.auth("manager"))
    assert resp.status == 422 and field in await fields_of(resp), await resp.text()


async def test_an_unavailable_interval_in_seconds_is_422(sqlite_api: Api) -> None:
    employer = {**case_body()["employer"], "unavailable": [
        {"start": "1780272000", "end": "1780275600"}]}
    resp = await sqlite_api.client.post("/api/cases", json=case_body(employer=employer),
                                        headers=sqlite_api.auth("intake"))
    assert "employer.unavailable[0].start" in await fields_of(resp)
