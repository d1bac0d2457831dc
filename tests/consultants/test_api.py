"""Consultants managed in the app over the API (`service.consultants`): who may read and
change them, every field validated with its name, the configuration seeds the database once
and never overwrites what the app changed, making a consultant with open cases inactive asks
what happens to their cases (409) or hands them to the planner, and a consultant added in the
app is known everywhere at once (owner choices, the OpenAPI document, Slack's people)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, JOBS, SLACK_DESK
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import AuditEntry, Case, Consultant, Meeting
from tests.intake.test_api_cases import case_body
from tests.support import Api, today_local

NEW = {"id": "frida", "name": "Frida Dam", "email": "frida.dam@demo.example",
       "phone": "96 28 30 09", "slack_user_id": "U0NEWFRIDA", "team": "nord",
       "address": "Østergade 5, 7430 Ikast", "skills": ["mental", "physical"],
       "max_active_cases": 20, "meetings_per_day": 2,
       "working_hours": {"mon": ["08:00", "14:00"], "fri": None},
       "workplace_meetings": True, "workplace_meetings_from": "2027-01-04",
       "fixed_employers": ["11223344"]}


async def _json(resp: Any, status: int) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


def _fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body["errors"]}


async def test_roles_read_and_need_to_know(sqlite_api: Api) -> None:
    api = sqlite_api
    listed = await _json(await api.client.get("/api/consultants",
                                              headers=api.auth("manager")), 200)
    keys = [c["id"] for c in listed["consultants"]]
    assert {"anna", "bo", "camilla", "dennis", "eva"} <= set(keys)
    anna = next(c for c in listed["consultants"] if c["id"] == "anna")
    assert anna["active_cases"] == 0 and anna["source"] == "config"
    assert anna["fixed_employers"] == ["29189919"] and anna["max_active_cases"] == 37
    # A consultant (the key's consultant is anna) sees themselves only.
    own = await _json(await api.client.get("/api/consultants",
                                           headers=api.auth("consultant")), 200)
    assert [c["id"] for c in own["consultants"]] == ["anna"]
    await _json(await api.client.get("/api/consultants/anna",
                                     headers=api.auth("consultant")), 200)
    other = await api.client.get("/api/consultants/bo", headers=api.auth("consultant"))
    assert other.status == 404 and (await other.json())["code"] == "consultant_not_found"
    assert (await api.client.get("/api/consultants", headers=api.auth("intake"))).status == 403
    for role in ("consultant", "intake"):
        resp = await api.client.post("/api/consultants", json=NEW, headers=api.auth(role))
        assert resp.status == 403, role
        resp = await api.client.patch("/api/consultants/anna", json={"team": "x"},
                                      headers=api.auth(role))
        assert resp.status == 403, role
    assert (await api.client.get("/api/consultants/no%20such",
                                 headers=api.auth("manager"))).status == 404


async def test_add_a_consultant_who_is_then_everywhere(sqlite_api: Api) -> None:
    api = sqlite_api
    created = await _json(await api.client.post("/api/consultants", json=NEW,
                                                 headers=api.auth("manager")), 201)
    assert created["source"] == "app" and created["changed_in_app_at"]
    assert created["active_cases"] == 0 and created["active"] is True
    # No location given: the typed address is placed on the map (offline: Ikast, the town).
    assert created["location_precision"] == "town"
    assert abs(created["location"]["lat"] - 56.139) < 0.02
    assert abs(created["location"]["lon"] - 9.158) < 0.02
    assert created["address"] == "Østergade 5, 7430 Ikast"
    assert created["working_hours"] == {"mon": ["08:00", "14:00"], "tue": ["08:00", "15:30"],
                                        "wed": ["08:00", "15:30"], "thu": ["08:00", "15:30"]}
    assert created["workplace_meetings_from"] == "2027-01-04"
    # The same id again is a conflict.
    again = await api.client.post("/api/consultants", json=NEW, headers=api.auth("admin"))
    assert again.status == 409 and (await again.json())["code"] == "consultant_exists"
    # Known everywhere: the document's owner choice, Slack's people, an owner override.
    doc = await _json(await api.client.get("/api/openapi.json"), 200)
    enum = doc["components"]["schemas"]["OwnerOverride"]["properties"]["consultant_id"]["enum"]
    assert "frida" in enum
    principal = api.client.app[SLACK_DESK].people.principal("U0NEWFRIDA")
    assert principal is not None and principal.consultant_key == "frida"
    await _json(await api.client.post("/api/cases", json=case_body("f1"),
                                      headers=api.auth("intake")), 201)
    await api.client.app[JOBS].wait_idle()
    await _json(await api.client.put("/api/cases/f1/owner", json={
        "consultant_id": "frida", "category": "capacity"}, headers=api.auth("intake")), 200)
    frida = await _json(await api.client.get("/api/consultants/frida",
                                             headers=api.auth("manager")), 200)
    assert frida["active_cases"] == 1
    # Changed: a location placed by hand, Slack user removed.
    changed = await _json(await api.client.patch(
        "/api/consultants/frida", json={"location": {"lat": 56.14, "lon": 9.16},
                                        "slack_user_id": None, "max_active_cases": 25},
        headers=api.auth("manager")), 200)
    assert changed["location"] == {"lat": 56.14, "lon": 9.16}
    assert changed["location_precision"] == "exact" and changed["slack_user_id"] is None
    assert changed["max_active_cases"] == 25 and changed["team"] == "nord"
    assert api.client.app[SLACK_DESK].people.principal("U0NEWFRIDA") is None
    async with api.client.app[DB].read() as session:
        actions = [(a.action, a.details.get("consultant"), a.details.get("changed"))
                   for a in (await session.execute(select(AuditEntry).where(
                       AuditEntry.action.like("consultant.%")).order_by(AuditEntry.id)
                   )).scalars()]
    assert actions == [("consultant.create", "frida", None),
                       ("consultant.change", "frida",
                        ["location", "max_active_cases", "slack_user_id"])]


@pytest.mark.parametrize(("body", "field", "code"), [
    ({**NEW, "id": "ny konsulent"}, "id", "string_pattern_mismatch"),
    ({k: v for k, v in NEW.items() if k != "name"}, "name", "missing"),
    ({**NEW, "name": "Frida\nDam"}, "name", "not_one_line"),
    ({**NEW, "email": "frida"}, "email", "string_pattern_mismatch"),
    ({**NEW, "slack_user_id": "frida"}, "slack_user_id", "string_pattern_mismatch"),
    ({**NEW, "slack_user_id": "U0DEMO002"}, "slack_user_id", "slack_user_taken"),
    ({**NEW, "location": {"lat": 91, "lon": 9}}, "location.lat", "less_than_equal"),
    ({**NEW, "skills": ["knees"]}, "skills[0]", "literal_error"),
    ({**NEW, "max_active_cases": -1}, "max_active_cases", "greater_than_equal"),
    ({**NEW, "max_active_cases": "20"}, "max_active_cases", "int_type"),
    ({**NEW, "working_hours": {"mon": ["14:00", "08:00"]}}, "working_hours.mon",
     "not_after_start"),
    ({**NEW, "working_hours": {"mon": ["8", "14:00"]}}, "working_hours.mon[0]",
     "string_pattern_mismatch"),
    ({**NEW, "workplace_meetings_from": "4. januar"}, "workplace_meetings_from",
     "date_format"),
    # a number of seconds since 1970 is no date (it was taken as one)
    ({**NEW, "workplace_meetings_from": "1780272000"}, "workplace_meetings_from",
     "date_format"),
    ({**NEW, "fixed_employers": ["1234"]}, "fixed_employers[0]", "string_pattern_mismatch"),
    # A CVR fixed to another consultant (anna) may not be fixed to this one too.
    ({**NEW, "fixed_employers": ["29189919"]}, "fixed_employers", "fixed_elsewhere"),
    ({**NEW, "colour": "blue"}, "colour", "extra_forbidden"),
])
async def test_every_field_validated_by_name(sqlite_api: Api, body: dict[str, Any],
                                             field: str, code: str) -> None:
    resp = await sqlite_api.client.post("/api/consultants", json=body,
                                        headers=sqlite_api.auth("manager"))
    assert resp.status == 422, await resp.text()
    errors = _fields(await resp.json())
    assert errors.get(field) == code, errors


async def test_patch_rules(sqlite_api: Api) -> None:
    api = sqlite_api
    manager = api.auth("manager")
    resp = await api.client.patch("/api/consultants/bo", json={"id": "bob"}, headers=manager)
    assert resp.status == 422 and "id" in _fields(await resp.json())
    resp = await api.client.patch("/api/consultants/bo",
                                  json={"fixed_employers": ["29189919"]}, headers=manager)
    assert resp.status == 422
    assert _fields(await resp.json()) == {"fixed_employers": "fixed_elsewhere"}
    resp = await api.client.patch("/api/consultants/bo", json={"name": None}, headers=manager)
    assert resp.status == 422 and _fields(await resp.json()) == {"name": "missing"}
    assert (await api.client.patch("/api/consultants/nobody", json={"team": "x"},
                                   headers=manager)).status == 404
    # Working hours are replaced whole: a day given as null is a day off.
    bo = await _json(await api.client.patch(
        "/api/consultants/bo", json={"working_hours": {"mon": None, "tue": ["09:00", "12:00"],
                                                       "wed": None, "thu": None, "fri": None}},
        headers=manager), 200)
    assert bo["working_hours"] == {"tue": ["09:00", "12:00"]}
    bo = await _json(await api.client.patch("/api/consultants/bo", json={"team": "nord"},
                                            headers=manager), 200)
    assert bo["working_hours"] == {"tue": ["09:00", "12:00"]} and bo["team"] == "nord"
    bo = await _json(await api.client.patch("/api/consultants/bo", json={"working_hours": None},
                                            headers=manager), 200)
    assert bo["working_hours"] is None


async def test_deactivating_with_open_cases_asks_then_reassigns(sqlite_api: Api) -> None:
    api = sqlite_api
    app = api.client.app
    await _json(await api.client.post("/api/cases", json=case_body("d1"),
                                      headers=api.auth("intake")), 201)
    await _json(await api.client.put("/api/cases/d1/owner", json={
        "consultant_id": "anna"}, headers=api.auth("intake")), 200)
    await app[JOBS].wait_idle()
    async with app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "d1"))
                ).unique().scalar_one()
        meeting = (await session.execute(select(Meeting).where(Meeting.case_id == case.id))
                   ).unique().scalar_one()
        assert case.owner_overridden
        meeting.status = "confirmed"  # the employer confirmed it
        meeting_id = meeting.id
    resp = await api.client.patch("/api/consultants/anna", json={"active": False},
                                  headers=api.auth("manager"))
    body = await resp.json()
    assert resp.status == 409 and body["code"] == "consultant_has_open_cases", body
    assert body["open_cases"] == ["d1"]
    anna = await _json(await api.client.get("/api/consultants/anna",
                                            headers=api.auth("manager")), 200)
    assert anna["active"] is True and anna["active_cases"] == 1
    done = await _json(await api.client.patch(
        "/api/consultants/anna", json={"active": False, "open_cases": "reassign"},
        headers=api.auth("manager")), 200)
    assert done["active"] is False and done["reassigned_cases"] == ["d1"]
    await app[JOBS].wait_idle()
    async with app[DB].read() as session:
        anna_id = (await session.execute(select(Consultant.id).where(
            Consultant.key == "anna"))).scalar_one()
        case = (await session.execute(select(Case).where(Case.case_ref == "d1"))
                ).unique().scalar_one()
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        assert meeting.conflict_reason == "inactive" and meeting.conflict_at is not None
    # The planner gave the case to a colleague (no longer hand-chosen).
    assert case.owner_id != anna_id and not case.owner_overridden
    listed = await _json(await api.client.get("/api/consultants",
                                              headers=api.auth("manager")), 200)
    assert next(c for c in listed["consultants"] if c["id"] == "anna")["active"] is False


# -- the configuration seeds once --------------------------------------------------------------

TODAY = date(2026, 12, 1)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url, SettableClock(datetime.combine(TODAY, time(10))))
    await upgrade_async(database.url)
    try:
        yield database
    finally:
        await database.dispose()


def _with(config: MunicipalityConfig, consultants: list[dict[str, Any]]) -> MunicipalityConfig:
    data = config.model_dump()
    data["consultants"] = consultants
    return type(config).model_validate(data, strict=False)


async def test_the_configuration_seeds_once(db: Database, demo_config: MunicipalityConfig
                                            ) -> None:
    async with db.write() as session:
        await sync_consultants(session, demo_config)
    async with db.write() as session:
        rows = {c.key: c for c in (await session.execute(select(Consultant))).scalars()}
        assert {r.source for r in rows.values()} == {"config"}
        rows["anna"].max_active_cases = 5  # changed in the app
        rows["anna"].changed_in_app_at = datetime.combine(TODAY, time(9))
        session.add(Consultant(municipality_id="demo", key="frida", name="Frida", email="f@x.dk",
                               lat=56.0, lon=9.0, max_active_cases=10, source="app",
                               changed_in_app_at=datetime.combine(TODAY, time(9))))
    # The file now says other things, leaves eva and anna out and does not know frida.
    base = [c.model_dump() for c in demo_config.consultants]
    changed = [{**c, "max_active_cases": 11, "name": c["name"] + " (fil)"} for c in base
               if c["id"] not in ("anna", "eva")]
    changed.append({**base[0], "id": "gustav", "name": "Gustav", "fixed_employers": [],
                    "slack_user_id": None})
    async with db.write() as session:
        await sync_consultants(session, _with(demo_config, changed))
    async with db.read() as session:
        rows = {c.key: c for c in (await session.execute(select(Consultant))).scalars()}
    # Changed in the app: neither overwritten nor made inactive.
    assert rows["anna"].max_active_cases == 5 and rows["anna"].active
    assert rows["anna"].name == "Anna Kjær"
    assert rows["frida"].active and rows["frida"].source == "app"
    # Only ever from the file: follows the file (and one left out of it is made inactive).
    assert rows["bo"].max_active_cases == 11 and rows["bo"].name == "Bo Nielsen (fil)"
    assert not rows["eva"].active
    assert rows["gustav"].source == "config" and rows["gustav"].active


async def test_absences_api(sqlite_api: Api) -> None:
    api = sqlite_api
    own = api.auth("consultant")  # anna
    start = today_local() + timedelta(days=7)
    body = {"from": start.isoformat(), "to": (start + timedelta(days=4)).isoformat(),
            "reason": "ferie", "note": "Sommerhus"}
    made = await _json(await api.client.post("/api/consultants/anna/absences", json=body,
                                             headers=own), 201)
    assert made["from"] == body["from"] and made["to"] == body["to"]
    assert made["reason"] == "ferie" and made["note"] == "Sommerhus"
    assert made["created_by"] == "consultant:test-consultant"
    # Another consultant's absences: as if they did not exist; intake may not.
    assert (await api.client.post("/api/consultants/bo/absences", json=body,
                                  headers=own)).status == 404
    assert (await api.client.get("/api/consultants/bo/absences", headers=own)).status == 404
    assert (await api.client.post("/api/consultants/bo/absences", json=body,
                                  headers=api.auth("intake"))).status == 403
    await _json(await api.client.post("/api/consultants/bo/absences", json={
        **body, "reason": "kursus", "note": None}, headers=api.auth("manager")), 201)
    for bad, field, code in (
            ({**body, "to": (start - timedelta(days=1)).isoformat()}, "to", "before_first_day"),
            ({**body, "to": (start + timedelta(days=400)).isoformat()}, "to",
             "absence_too_long"),
            ({**body, "reason": "barsel"}, "reason", "literal_error"),
            ({**body, "from": "i morgen"}, "from", "date_format"),
            ({**body, "from": "0"}, "from", "date_format"),
            ({**body, "note": "x" * 501}, "note", "string_too_long")):
        resp = await api.client.post("/api/consultants/anna/absences", json=bad, headers=own)
        assert resp.status == 422, await resp.text()
        assert _fields(await resp.json()) == {field: code}
    listed = await _json(await api.client.get("/api/consultants/anna/absences",
                                              headers=own), 200)
    assert [a["id"] for a in listed["absences"]] == [made["id"]]
    left = await _json(await api.client.delete(
        f"/api/consultants/anna/absences/{made['id']}", headers=own), 200)
    assert left["absences"] == []
    assert (await api.client.delete(f"/api/consultants/anna/absences/{made['id']}",
                                    headers=own)).status == 404
    past = await _json(await api.client.get("/api/consultants/anna/absences?past=true",
                                            headers=own), 200)
    assert past["absences"] == []  # deleted ones are not listed
    for odd in ("yes", "1", "TRUE", ""):  # (each was read as false)
        resp = await api.client.get(f"/api/consultants/anna/absences?past={odd}", headers=own)
        assert resp.status == 422 and _fields(await resp.json()) == {"past": "not_one_of"}, odd


async def test_a_typed_base_address_is_placed_and_follows_changes(sqlite_api: Api) -> None:
    """A consultant's base address is placed as a workplace's is (service.places): a new
    address moves where they start from, one that cannot be placed starts them at the
    jobcentre (never at a guess), and coordinates typed in win over the address."""
    api = sqlite_api
    body = {**NEW, "id": "gert", "slack_user_id": None, "fixed_employers": [],
            "address": "Bredgade 2, 7451 Sunds"}
    created = await _json(await api.client.post("/api/consultants", json=body,
                                                 headers=api.auth("manager")), 201)
    assert created["location_precision"] in ("town", "postcode")
    sunds = created["location"]

    async def patch(change: dict[str, Any]) -> dict[str, Any]:
        return await _json(await api.client.patch("/api/consultants/gert", json=change,
                                                  headers=api.auth("manager")), 200)

    moved = await patch({"address": "Torvet 1, 7330 Brande"})
    assert moved["location_precision"] in ("town", "postcode")
    assert moved["location"] != sunds and moved["location"]["lat"] < sunds["lat"]
    # A change of something else keeps the placement.
    assert (await patch({"phone": "12 34 56 78"}))["location"] == moved["location"]
    nowhere = await patch({"address": "Blabla 99, 0000 Intetsteds"})
    jobcentre = api.client.app[CONFIG].jobcentre.location
    assert nowhere["location"] == {"lat": jobcentre.lat, "lon": jobcentre.lon}
    assert nowhere["location_precision"] is None
    typed = await patch({"location": {"lat": 56.2, "lon": 9.0}})
    assert typed["location_precision"] == "exact" and typed["location"] == {"lat": 56.2,
                                                                            "lon": 9.0}
    # Clearing the coordinates lets the address decide again.
    assert (await patch({"location": None}))["location_precision"] is None


async def test_an_integer_beyond_64_bits_is_a_named_field_error(sqlite_api: Api) -> None:
    """The change is validated as the API validates every JSON body (one JSON-mode check,
    `service.platform.inputs.validated_json`): a number no JSON encoder of 64 bits writes is
    a 422 naming the field, never a 500."""
    api = sqlite_api
    resp = await api.client.patch("/api/consultants/anna", json={"max_active_cases": 2**70},
                                  headers=api.auth("manager"))
    body = await _json(resp, 422)
    assert "max_active_cases" in _fields(body)


async def test_processes_starting_together_seed_the_consultants_once(
        postgres_url: str, demo_config: MunicipalityConfig) -> None:
    """Several web processes and workers of one deployment start at once on PostgreSQL, each
    syncing the configured consultants: none fails (two used to insert the same consultant,
    and a worker died of the unique key), and each consultant is there once."""
    clock = SettableClock(datetime.combine(TODAY, time(10)))
    databases = [Database(postgres_url, clock) for _ in range(4)]
    together = asyncio.Barrier(len(databases))

    async def start(database: Database) -> None:
        async with database.write() as session:
            await session.execute(select(1))  # connected, in a transaction
            await together.wait()  # all four sync at the same moment
            await sync_consultants(session, demo_config)

    try:
        await asyncio.gather(*(start(d) for d in databases))
        async with databases[0].read() as session:
            keys = list((await session.execute(select(Consultant.key))).scalars())
    finally:
        for database in databases:
            await database.dispose()
    assert sorted(keys) == sorted(c.id for c in demo_config.consultants)
