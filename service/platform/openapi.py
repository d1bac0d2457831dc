"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    errors: list[FieldError] | None = None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    roles: tuple[str, ...] = ()
    request: type[BaseModel] | None = None
    partial: bool = False
    responses: dict[int, type[BaseModel]] = field(default_factory=dict)
    query: dict[str, tuple[str, tuple[str, ...] | None]] = field(default_factory=dict)
    # The range of an integer query parameter: {"limit": (1, 500)}.
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Error answers beyond those every operation of its kind has: {409: "already sent"}.
    errors: dict[int, str] = field(default_factory=dict)


_OPERATIONS: list[Operation] = []


def document(*operations: Operation) -> None:
    """Register operations for the document (called by each API module at import)."""
    _OPERATIONS.extend(operations)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


def build_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [ErrorOut]
    for op in _OPERATIONS:
        if op.request is not None:
            models.append(op.request)
        models.extend(op.responses.values())
    unique = list(dict.fromkeys(models))
    _, schema = models_json_schema(
        [(m, "validation" if m is not ErrorOut else "serialization") for m in unique],
        ref_template="#/components/schemas/{model}")
    components = schema.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in _OPERATIONS:
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_')}".replace(
                "{", "").replace("}", ""),
            "security": [{"apiKey": []}],
            "description": f"Roles: {', '.join(op.roles + ('admin',))}.",
            "responses": {},
        }
        params: list[dict[str, Any]] = []
        for segment in op.path.split("/"):
            if segment.startswith("{"):
                params.append({"name": segment.strip("{}"), "in": "path", "required": True,
                               "schema": {"type": "string"}})
        for name, (kind, enum) in op.query.items():
            schema_q: dict[str, Any] = ({"type": "string", "format": "date"} if kind == "date"
                                        else {"type": kind})
            if enum:
                schema_q["enum"] = list(enum)
            if name in op.limits:
                schema_q["minimum"], schema_q["maximum"] = op.limits[name]
            params.append({"name": name, "in": "query", "required": False, "schema": schema_q})
        if params:
            item["parameters"] = params
        if op.request is not None:
            ref = {"$ref": f"#/components/schemas/{op.request.__name__}"}
            body_schema = ({"description": "JSON merge patch (RFC 7396) of the fields below; "
                            "the merged case must be valid", "allOf": [ref]} if op.partial
                           else ref)
            media = ("application/json", "application/merge-patch+json") if op.partial \
                else ("application/json",)
            item["requestBody"] = {"required": True, "content": {
                m: {"schema": body_schema} for m in media}}
        for status, model in op.responses.items():
            item["responses"][str(status)] = {
                "description": "OK" if status < 300 else "",
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
        item["responses"].update({
            "401": _error("missing or invalid API key"),
            "403": _error("the key's role may not do this"),
        })
        if "{" in op.path:
            item["responses"]["404"] = _error("not found (no such case, message or task)")
        if op.request is not None:
            item["responses"].update({
                "413": _error("body too large"),
                "415": _error("body is not JSON"),
            })
        if op.request is not None or op.query:
            item["responses"]["422"] = _error("invalid input: a list of field errors")
        for status, description in op.errors.items():
            item["responses"][str(status)] = _error(description)
        paths.setdefault(op.path, {})[op.method] = item
    paths["/healthz"] = {"get": {"summary": "Liveness and readiness", "operationId": "healthz",
                                 "security": [], "responses": {
                                     "200": {"description": "OK"},
                                     "503": {"description": "database unavailable"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fasthold API", "version": "0.1.0",
                 "description": "Case intake, decisions and planning for 'Sammen om "
                 "fastholdelse'. Staff endpoints need a bearer API key with a role."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_document())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json, name="openapi")
