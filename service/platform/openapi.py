"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from service.keys import CONSULTANTS


class FieldError(BaseModel):
    field: str
    message: str = Field(description="what is wrong, in English")
    code: str = Field(description="what is wrong as a stable code (`missing`, "
                      "`string_too_long`, `date_in_future`, …): the words may change, the "
                      "code does not")


class ErrorOut(BaseModel):
    error: str
    code: str | None = Field(default=None, description="the error's stable code "
                             "(`not_found`, `case_closed`, `invalid`, …); absent on errors "
                             "of the HTTP layer (401, 413, 415)")
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
    # A pattern a string query parameter must match: {"from": "^20[0-9]{2}-..."}.
    patterns: dict[str, str] = field(default_factory=dict)
    # Rules the handler enforces that no schema can state, because they depend on today or
    # on what is stored (the case's first absence day, the meeting's offered times):
    # {field: rule}; "*" for any field (a merge patch: the merged case must be valid). Said in
    # the description and as `x-rules`; breaking one is a 422 naming the field.
    rules: dict[str, str] = field(default_factory=dict)
    # Answers that are no JSON: {200: ("text/csv", "what it is")}.
    files: dict[int, tuple[str, str]] = field(default_factory=dict)


_OPERATIONS: list[Operation] = []


def document(*operations: Operation) -> None:
    """Register operations for the document (called by each API module at import)."""
    _OPERATIONS.extend(operations)


def query_names(method: str, path: str) -> frozenset[str] | None:
    """The query parameters the document names for an operation (None: not documented)."""
    for op in _OPERATIONS:
        if op.method == method.lower() and op.path == path:
            return frozenset(op.query)
    return None


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


# Path parameters: what each may be (anything else is simply not found: 404).
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "case_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
                "description": "the case's id (1-64 of A-Z, a-z, 0-9, _ and -)"},
    "message_id": {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
    "task_id": {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
    "consultant_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
                      "description": "the consultant's id"},
    "absence_id": {"type": "string", "pattern": "^[1-9][0-9]{0,9}$"},
}
# Text no database can store: every string the API takes must be without NUL characters
# (the text rules of service/platform/http.py; a string with one is a 422 naming the field).
NO_NUL = "^[^\\u0000]*$"
# Model schemas whose values come from the municipality's configuration at request time.
Enums = dict[tuple[str, str], list[str]]


def _no_nul(node: Any) -> None:
    """Every free-text string schema (no pattern, enum, const or format of its own) gets the
    text rule as a pattern."""
    if isinstance(node, list):
        for item in node:
            _no_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
        node["pattern"] = NO_NUL
    for value in node.values():
        _no_nul(value)


def _patch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) of a model: any subset of its members, each also null
    (removed); what the merged object must be is the operation's rule."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in ("required", "if", "then", "else")}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: (prop if _nullable(prop) else {"anyOf": [_patch_schema(prop),
                                                           {"type": "null"}]})
            for name, prop in out["properties"].items()}
    return out


def _nullable(prop: Any) -> bool:
    return isinstance(prop, dict) and any(
        isinstance(option, dict) and option.get("type") == "null"
        for option in prop.get("anyOf", []))


def build_document(enums: Enums | None = None) -> dict[str, Any]:
    """The document; `enums`: {(model, property): values} known only at request time (e.g.
    the configured consultants' ids)."""
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
    for (model, prop), values in (enums or {}).items():
        target = components.get(model, {}).get("properties", {}).get(prop)
        if target is not None:
            target.pop("pattern", None)
            target["enum"] = list(values)
    for op in _OPERATIONS:
        if op.partial and op.request is not None:
            name = f"{op.request.__name__}Patch"
            components[name] = _patch_schema(components[op.request.__name__])
            components[name]["description"] = (
                "JSON merge patch (RFC 7396) of the members of "
                f"{op.request.__name__}: any of them, null removes one")
    _no_nul(components)
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
        if op.rules:
            item["description"] += " Rules beyond the schema (else 422 naming the field): " + \
                "; ".join(f"{name}: {rule}" for name, rule in op.rules.items()) + "."
            item["x-rules"] = [{"field": name, "rule": rule} for name, rule in op.rules.items()]
        params: list[dict[str, Any]] = []
        for segment in op.path.split("/"):
            if segment.startswith("{"):
                name = segment.strip("{}")
                param = dict(PATH_PARAMETERS.get(name, {"type": "string"}))
                description = param.pop("description", None)
                params.append({"name": name, "in": "path", "required": True, "schema": param,
                               **({"description": description} if description else {})})
        for name, (kind, enum) in op.query.items():
            schema_q: dict[str, Any] = ({"type": "string", "format": "date"} if kind == "date"
                                        else {"type": kind})
            if enum:
                schema_q["enum"] = list(enum)
            if name in op.limits:
                schema_q["minimum"], schema_q["maximum"] = op.limits[name]
            if name in op.patterns:
                schema_q["pattern"] = op.patterns[name]
            elif schema_q["type"] == "string" and "enum" not in schema_q and \
                    "format" not in schema_q:
                schema_q["pattern"] = NO_NUL
            params.append({"name": name, "in": "query", "required": False, "schema": schema_q})
        if params:
            item["parameters"] = params
        if op.request is not None:
            suffix = "Patch" if op.partial else ""
            body_schema = {"$ref": f"#/components/schemas/{op.request.__name__}{suffix}"}
            media = ("application/json", "application/merge-patch+json") if op.partial \
                else ("application/json",)
            item["requestBody"] = {"required": True, "content": {
                m: {"schema": body_schema} for m in media}}
        for status, model in op.responses.items():
            item["responses"][str(status)] = {
                "description": "OK" if status < 300 else "",
                "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
        for status, (media_type, description) in op.files.items():
            item["responses"][str(status)] = {"description": description, "content": {
                media_type: {"schema": {"type": "string"}}}}
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
    # The consultants as the database has them (a consultant added in the app included).
    consultants = [key for key, _ in await request.app[CONSULTANTS].choices()]
    return web.json_response(build_document({("OwnerOverride", "consultant_id"): consultants}))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json, name="openapi")
