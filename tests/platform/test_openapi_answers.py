"""The OpenAPI document names the answers the API gives: 409 where a use case can refuse for
the state of things, 422 wherever input is checked (body or query), the bounds of the list's
numbers, and timestamps as date-times (with their offset, which the answers carry)."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.support import Api


async def _document(api: Api) -> dict[str, Any]:
    doc = await (await api.client.get("/api/openapi.json")).json()
    validate(doc)
    return doc


async def test_conflicts_are_documented(sqlite_api: Api) -> None:
    paths = (await _document(sqlite_api))["paths"]
    for path in ("/api/outbox/{message_id}/retry", "/api/outbox/{message_id}/printed"):
        answer = paths[path]["post"]["responses"]["409"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"}


async def test_every_checked_input_documents_422(sqlite_api: Api) -> None:
    paths = (await _document(sqlite_api))["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            takes_input = "requestBody" in op or any(
                p["in"] == "query" for p in op.get("parameters", []))
            if takes_input:
                assert "422" in op["responses"], (method, path)
    for path in ("/api/cases", "/api/outbox", "/api/tasks"):
        assert "422" in paths[path]["get"]["responses"], path


async def test_list_bounds_are_documented(sqlite_api: Api) -> None:
    params = {p["name"]: p["schema"] for p in
              (await _document(sqlite_api))["paths"]["/api/cases"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 500)
    assert (params["offset"]["minimum"], params["offset"]["maximum"]) == (0, 1_000_000)


async def test_timestamps_are_date_times(sqlite_api: Api) -> None:
    schemas = (await _document(sqlite_api))["components"]["schemas"]
    for model, fields in {"TaskOut": ("created_at", "done_at"),
                          "OutboxMessageOut": ("created_at", "next_attempt_at", "sent_at"),
                          "PlanningRunOut": ("started_at",),
                          "CaseOut": ("created_at", "updated_at"),
                          "DecisionHistoryOut": ("at",)}.items():
        for name in fields:
            prop = schemas[model]["properties"][name]
            formats = {prop.get("format")} | {o.get("format") for o in prop.get("anyOf", [])}
            assert "date-time" in formats, (model, name, prop)
