"""HTTP plumbing shared by the JSON API: app keys, JSON errors, body parsing, authentication."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from service.apikeys import Principal, authenticate
from service.db.engine import Database

log = logging.getLogger("fasthold.http")

DB = web.AppKey("db", Database)
MAX_JSON_BODY = 256 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class ApiError(Exception):
    """An error with an HTTP status and a JSON body, raised from handlers."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        return json_error(self.status, self.message, **self.extra)


def field_error_response(errors: list[dict[str, str]]) -> ApiError:
    return ApiError(422, "invalid input", errors=errors)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure under /api into a JSON body; never log request bodies (CPR, health)."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, f"request body too large (max {MAX_JSON_BODY} bytes)")
    except web.HTTPException as exc:
        if not request.path.startswith("/api") or exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.match_info.route.name
                      or request.path)
        if request.path.startswith("/api"):
            return json_error(500, "internal error; the request was not completed")
        raise


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 if not JSON, 413 if too large, 422 if not an object."""
    if request.content_type != "application/json":
        raise ApiError(415, "body must be JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise ApiError(413, f"request body too large (max {MAX_JSON_BODY} bytes)")
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise ApiError(413, f"request body too large (max {MAX_JSON_BODY} bytes)")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(415, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise field_error_response([{"field": "(body)", "message": "must be a JSON object"}])
    return body


async def require(request: web.Request, *roles: str) -> Principal:
    """Authenticate the bearer key: 401 without a valid key, 403 if its role is not allowed."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing API key (Authorization: Bearer <key>)",
                       )
    async with request.app[DB].read() as session:
        principal = await authenticate(session, key.strip())
    if principal is None:
        raise ApiError(401, "invalid or revoked API key")
    if roles and principal.role not in roles and principal.role != "admin":
        raise ApiError(403, f"role {principal.role!r} may not do this "
                       f"(allowed: {', '.join(sorted(set(roles) | {'admin'}))})")
    return principal
