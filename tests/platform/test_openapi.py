"""The API's OpenAPI document: valid 3.1, with the intake schema."""

from __future__ import annotations


async def test_openapi_document_is_valid_31(sqlite_api) -> None:
    from openapi_spec_validator import validate

    resp = await sqlite_api.client.get("/api/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    assert "CaseIntake" in doc["components"]["schemas"]
    props = doc["components"]["schemas"]["CaseIntake"]["properties"]
    assert {"case_id", "first_absence_day", "employment", "cpr"} <= set(props)
