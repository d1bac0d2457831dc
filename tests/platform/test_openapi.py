"""The API's OpenAPI document: valid 3.1, with the intake schema."""

from __future__ import annotations

from service.keys import CONFIG


async def test_openapi_document_is_valid_31(sqlite_api) -> None:
    from openapi_spec_validator import validate

    resp = await sqlite_api.client.get("/api/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    assert "CaseIntake" in doc["components"]["schemas"]
    props = doc["components"]["schemas"]["CaseIntake"]["properties"]
    assert {"case_id", "first_absence_day", "employment", "cpr"} <= set(props)


async def test_the_document_states_the_rules_the_handlers_enforce(sqlite_api) -> None:
    """Issue 16, item 10: schema-valid requests were refused for rules the document did not
    state. What a schema can say, it says; the rest is in `x-rules` and the description."""
    doc = await (await sqlite_api.client.get("/api/openapi.json")).json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]

    def rules(method: str, path: str) -> set[str]:
        return {r["field"] for r in paths[path][method].get("x-rules", [])}

    assert rules("post", "/api/cases/{case_id}/close") == {"on"}
    assert "not in the future" in paths["/api/cases/{case_id}/close"]["post"]["description"]
    assert rules("post", "/api/cases/{case_id}/intervention") == {"started_on", "ends_on"}
    assert rules("post", "/api/cases/{case_id}/meeting/confirm") == {"start"}
    assert rules("get", "/api/kpis") == {"to"}
    assert "*" in rules("patch", "/api/cases/{case_id}")
    # Said by the schema: months, the configured consultants, employer_took_part unless the
    # meeting was not held, the employer's CVR when employed, a CPR's date, no NUL in text.
    kpis = {p["name"]: p["schema"] for p in paths["/api/kpis"]["get"]["parameters"]}
    assert kpis["from"]["pattern"] == kpis["to"]["pattern"] == r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
    consultants = [c.id for c in sqlite_api.client.app[CONFIG].consultants]
    assert schemas["OwnerOverride"]["properties"]["consultant_id"]["enum"] == consultants
    assert schemas["MeetingOutcomeIn"]["else"]["required"] == ["employer_took_part"]
    assert schemas["CaseIntake"]["then"]["properties"]["employer"]["required"] == ["cvr"]
    assert schemas["CaseIntake"]["properties"]["cpr"]["pattern"].startswith("^((0[1-9]")
    assert schemas["OwnerOverride"]["properties"]["reason"]["pattern"] == "^[^\\u0000]*$"
    case_id = paths["/api/cases/{case_id}"]["get"]["parameters"][0]["schema"]
    assert case_id["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    # A merge patch: any member, each may be null; no member is required.
    patch = paths["/api/cases/{case_id}"]["patch"]["requestBody"]["content"]
    ref = patch["application/merge-patch+json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "required" not in schemas[ref]
    assert {"type": "null"} in schemas[ref]["properties"]["employment"]["anyOf"]


async def test_a_query_parameter_the_document_does_not_name_is_422(sqlite_api) -> None:
    for role, path in (("manager", "/api/kpis?fra=2026-01"), ("intake", "/api/outbox?stauts=x"),
                       ("intake", "/api/tasks?state=open&x=1"),
                       ("intake", "/api/planning/runs?limit=5")):
        resp = await sqlite_api.client.get(path, headers=sqlite_api.auth(role))
        assert resp.status == 422, (path, await resp.text())
        error = await resp.json()
        assert error["errors"][0]["message"] == "unknown query parameter"
    # Without a key it is still a 401 first.
    resp = await sqlite_api.client.get("/api/kpis?fra=2026-01")
    assert resp.status == 401
