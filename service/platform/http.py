"""HTTP plumbing shared by the JSON API: JSON errors, domain errors to status codes, body
parsing and authentication."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from pydantic import BaseModel

from service.keys import AUTH
from service.platform.auth import Principal
from service.platform.db.engine import database_unavailable
from service.platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    field_error,
)
from service.platform.inputs import validated, validated_json
from service.platform.logs import exception_line, safe_path, safe_traceback, scrub
from service.platform.openapi import query_names

log = logging.getLogger("fasthold.http")

MAX_JSON_BODY = 256 * 1024
# The longest request line the server reads (aiohttp's default is 8190 bytes): a mangled
# employer link of 10 KB must still reach its page ("the link does not work"), not the HTTP
# parser's plain-text 400. Longer lines are still refused by the parser.
MAX_REQUEST_LINE = 64 * 1024
# No request body of the API nests deeper than a few levels; deeper ones would only reach the
# recursion limit somewhere behind the parser (a 5xx).
MAX_JSON_DEPTH = 32
# The largest id a row can have: the tables' integer keys are 32 bits on PostgreSQL.
MAX_ROW_ID = 2**31 - 1
# ASCII digits only: str.isdigit() takes "²" and "٣", which int() refuses or reads as a number.
_DIGITS = re.compile(r"[0-9]{1,18}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A case's id as the rules contract has it (rules.facts.CaseId).
_CASE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Model = TypeVar("Model", bound=BaseModel)


def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode("utf-8")


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer (orjson: the API's answers are plain dicts, lists and strings)."""
    return web.json_response(data, status=status, dumps=_dumps)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"error": message, **extra}, status=status)


class ApiError(Exception):
    """An HTTP-only failure (no key, wrong media type, body too large) raised at the edge."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return json_error(self.status, self.message, **self.extra)


_DOMAIN_STATUS: dict[type[DomainError], int] = {NotFound: 404, Invalid: 422, Conflict: 409,
                                                Forbidden: 403}


def domain_error_response(exc: DomainError) -> web.Response:
    """`{"error": message, "code": code}`, and for invalid input
    `"errors": [{"field", "message", "code"}]` (the params stay inside: the English message
    says them)."""
    status = next((s for kind, s in _DOMAIN_STATUS.items() if isinstance(exc, kind)), 400)
    if isinstance(exc, Invalid):
        return json_error(status, exc.message, code=exc.code, errors=[
            {"field": e["field"], "message": e["message"], "code": e["code"]}
            for e in exc.errors])
    return json_error(status, exc.message, code=exc.code)


# While the database cannot be reached: the answer is 503 and says when to ask again.
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_TEXT = ("Tjenesten kan ikke nå sin database lige nu. Prøv igen om lidt — "
                    "det, du var ved at gøre, er ikke gemt.")


def unavailable_logged(request: web.Request, exc: BaseException) -> None:
    """One line, no traceback, for a request the database could not serve (a restart, a
    network fault: the operator needs to know it happened, not where in the code)."""
    log.warning("database unavailable, answered 503: %s %s: %s", request.method,
                route_of(request), scrub(exception_line(exc).splitlines()[0])[:300])


def unavailable_response(request: web.Request) -> web.Response:
    """503 with Retry-After: the API's JSON error body, or plain Danish text elsewhere (the
    pages answer with a whole Danish page before this, `pages.page_errors`)."""
    if request.path.startswith("/api"):
        response = json_error(503, "the database cannot be reached just now; try again "
                              f"in {RETRY_AFTER_SECONDS} seconds", code="database_unavailable")
    else:
        response = web.Response(text=UNAVAILABLE_TEXT, status=503,
                                content_type="text/plain", charset="utf-8")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def route_of(request: web.Request) -> str:
    """What a log line calls a request: its route's name or path template
    (`/m/{token}/confirm`), never the path itself — paths carry link and feed tokens."""
    route = request.match_info.route
    if route.name:
        return route.name
    resource = route.resource
    return resource.canonical if resource is not None else safe_path(request.path)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure under /api into a JSON body; never log request bodies (CPR, health)
    nor a database statement's parameters (the traceback is `safe_traceback`'s). A database
    that cannot be reached is a 503 with Retry-After, logged in one line (anywhere). A
    `{case_id}` in an API path that no case can have (control characters, a NUL) is simply
    not found, before any handler hands it to the database or a log."""
    try:
        if request.path.startswith("/api/") and not _CASE_ID.fullmatch(
                request.match_info.get("case_id", "x")):
            raise NotFound("no case with that case_id (1-64 of A-Z, a-z, 0-9, _ and -)",
                           "case_not_found")
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except DomainError as exc:
        return domain_error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, f"request body too large (max {MAX_JSON_BODY} bytes)")
    except web.HTTPException as exc:
        if not request.path.startswith("/api") or exc.status < 400:
            raise
        response = json_error(exc.status, exc.reason)
        if "Allow" in exc.headers:  # a 405 says which methods the path takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        if database_unavailable(exc):
            unavailable_logged(request, exc)
            return unavailable_response(request)
        log.error("unhandled error in %s %s\n%s", request.method, route_of(request),
                  safe_traceback(exc))
        if request.path.startswith("/api"):
            return json_error(500, "internal error; the request was not completed")
        raise


def parse_model(model: type[Model], data: Any, json_mode: bool = False) -> Model:
    """Validate data against a pydantic model; every problem becomes a named field error.

    `json_mode`: validate as JSON (strict models then take dates written as strings)."""
    return validated_json(model, data) if json_mode else validated(model, data)


JSON = ("application/json",)
# A JSON merge patch (RFC 7396) may say so in its media type.
MERGE_PATCH = ("application/json", "application/merge-patch+json")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, however many pieces it arrives in (a chunked body, a slow network);
    413 as soon as it passes `limit` bytes. One `read(n)` returns only what has arrived."""
    body = bytearray()
    while True:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"request body too large (max {limit} bytes)")


async def read_json_object(request: web.Request, media_types: tuple[str, ...] = JSON
                           ) -> dict[str, Any]:
    """The body as a JSON object: 415 if not JSON, 413 if too large, 422 if not an object."""
    if request.content_type not in media_types:
        raise ApiError(415, f"body must be JSON (Content-Type: {' or '.join(media_types)})")
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise ApiError(413, f"request body too large (max {MAX_JSON_BODY} bytes)")
    raw = await read_body(request, MAX_JSON_BODY)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(415, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Invalid.field("(body)", "is nested too deeply", "too_deep") from None
    except ValueError as exc:  # e.g. an integer longer than Python will convert
        raise Invalid.field("(body)", f"cannot be read: {exc}", "unreadable") from None
    if not isinstance(body, dict):
        raise Invalid.field("(body)", "must be a JSON object", "not_object")
    _check_body(body)
    return body


def text_problem(text: str) -> str | None:
    """Why no database can store this text (PostgreSQL takes no NUL character, nothing takes
    half a surrogate pair), or None."""
    if "\x00" in text:
        return "must not contain the NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (half a surrogate pair)"
    return None


class UnreadableForm(Exception):
    """A posted form no browser sends (broken multipart, an unknown charset), or with a field
    whose text no database can store (`field` names it)."""

    def __init__(self, field: str | None = None, problem: str = "") -> None:
        super().__init__(f"{field}: {problem}" if field else "the form cannot be read")
        self.field = field
        self.problem = problem


async def read_posted_form(request: web.Request) -> MultiDictProxy[str | FileField]:
    """The posted form of any page, with the API's text rules on every field: raises
    UnreadableForm instead of whatever the body parser raises on a broken body (aiohttp
    raises ValueError, LookupError, RuntimeError or its own parse errors)."""
    try:
        form = await request.post()
    except web.HTTPException:  # e.g. a body over the size limit: 413
        raise
    except Exception:
        raise UnreadableForm() from None
    for name, value in form.items():
        problem = text_problem(name)
        if problem:
            raise UnreadableForm("(et feltnavn)", problem)
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise UnreadableForm(name, problem)
    return form


def _check_body(body: dict[str, Any]) -> None:
    """Nesting the code can follow and text the databases can store: else a 422 naming the
    field (without recursion: the body may be nested as deeply as the parser allows)."""
    errors: dict[str, str] = {}
    stack: list[tuple[Any, str, int]] = [(body, "", 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                errors.setdefault(where, problem)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise Invalid.field("(body)", f"is nested too deeply (more than {MAX_JSON_DEPTH} "
                                "levels)", "too_deep", {"max_depth": MAX_JSON_DEPTH})
        if isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
            continue
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                errors.setdefault(where or "(body)", f"a member's name {problem}")
            else:
                stack.append((item, f"{where}.{key}" if where else key, depth + 1))
    if errors:
        raise Invalid([field_error(field, message, "not_storable")
                       for field, message in sorted(errors.items())])


def whole_number(raw: str, low: int, high: int) -> int | None:
    """A query value as a whole number from low to high (ASCII digits), or None."""
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def query_date(raw: str) -> date | None:
    """A query value as a date YYYY-MM-DD (ASCII digits, a day that exists), or None."""
    if not _ISO_DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def paging(query: Mapping[str, str], errors: list[FieldError], *, default_limit: int,
           max_limit: int, max_offset: int) -> dict[str, int]:
    """A list's `limit` (1..max_limit, `default_limit` when absent) and `offset`
    (0..max_offset, 0 when absent) from its query; each one out of range is added to
    `errors`, naming it (and left out of the answer)."""
    out: dict[str, int] = {}
    for name, default, low, high in (("limit", default_limit, 1, max_limit),
                                     ("offset", 0, 0, max_offset)):
        raw = query.get(name)
        value = default if raw is None else whole_number(raw, low, high)
        if value is None:
            errors.append(field_error(name, f"must be a whole number from {low} to {high}",
                                      "not_in_range", {"min": low, "max": high}))
        else:
            out[name] = value
    return out


def row_id(raw: str, what: str) -> int:
    """A row's id from the path; anything no row can have (not ASCII digits, past the largest
    key) is simply not found, never handed to the database."""
    value = whole_number(raw, 1, MAX_ROW_ID)
    if value is None:
        raise NotFound(f"no such {what}", "not_found", {"what": what})
    return value


async def require(request: web.Request, *roles: str) -> Principal:
    """Authenticate the bearer key: 401 without a valid key, 403 if its role is not allowed."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing API key (Authorization: Bearer <key>)")
    principal = await request.app[AUTH].principal(key.strip())
    if principal is None:
        raise ApiError(401, "invalid or revoked API key")
    if roles and principal.role not in roles and principal.role != "admin":
        raise Forbidden(f"role {principal.role!r} may not do this "
                        f"(allowed: {', '.join(sorted(set(roles) | {'admin'}))})",
                        "role_not_allowed", {"role": principal.role})
    _known_query(request)
    return principal


def _known_query(request: web.Request) -> None:
    """A query parameter the OpenAPI document does not name for the operation, or one given
    more than once, is a 422 naming it (a misspelt filter must not silently list
    everything)."""
    resource = request.match_info.route.resource
    if resource is None or not request.query:
        return
    names = query_names(request.method, resource.canonical)
    if names is None:
        return
    unknown = sorted(set(request.query) - names)
    if unknown:
        raise Invalid([field_error(name, "unknown query parameter", "unknown_parameter")
                       for name in unknown])
    # A parameter given twice: the first was used and the other never checked
    # (`?status=target&status=bogus` listed the target cases).
    repeated = sorted(name for name in set(request.query)
                      if len(request.query.getall(name)) > 1)
    if repeated:
        raise Invalid([field_error(name, "given more than once", "repeated_parameter")
                       for name in repeated])
