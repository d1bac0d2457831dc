"""Case endpoints: intake (create / idempotent update), read, list, change, owner override."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from service.intake.schemas import CaseIntake, CaseList, CaseOut, OwnerOverride
from service.keys import INTAKE
from service.platform.errors import Invalid
from service.platform.http import MERGE_PATCH, json_response, parse_model, read_json_object, require
from service.platform.openapi import Operation, document

STAFF = ("intake", "consultant", "manager")
STATUSES = ("target", "excluded", "not_target", "incomplete")
FOLLOW_UPS = ("workplace_meeting", "jobcenter_meeting", "telephone", "standard")


async def create_case(request: web.Request) -> web.Response:
    principal = await require(request, "intake")
    body = await read_json_object(request)
    case, created = await request.app[INTAKE].upsert(body, principal)
    return json_response(case, status=201 if created else 200)


async def get_case(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF)
    return json_response(
        await request.app[INTAKE].get(request.match_info["case_id"], principal))


async def patch_case(request: web.Request) -> web.Response:
    principal = await require(request, "intake", "consultant")
    changes = await read_json_object(request, MERGE_PATCH)
    return json_response(await request.app[INTAKE].patch(
        request.match_info["case_id"], changes, principal))


async def override_owner(request: web.Request) -> web.Response:
    principal = await require(request, "intake")
    body = await read_json_object(request)
    override = parse_model(OwnerOverride, body)
    return json_response(await request.app[INTAKE].override_owner(
        request.match_info["case_id"], override.consultant_id, override.reason, principal))


def _query(request: web.Request) -> dict[str, Any]:
    """Validate list filters; every problem is a 422 naming the parameter."""
    q = request.query
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    unknown = set(q) - {"status", "follow_up", "deadline_before", "owner", "limit", "offset"}
    for name in sorted(unknown):
        errors.append({"field": name, "message": "unknown query parameter"})
    if "status" in q:
        if q["status"] not in STATUSES:
            errors.append({"field": "status", "message": f"must be one of {', '.join(STATUSES)}"})
        out["status"] = q["status"]
    if "follow_up" in q:
        if q["follow_up"] not in FOLLOW_UPS:
            errors.append({"field": "follow_up",
                           "message": f"must be one of {', '.join(FOLLOW_UPS)}"})
        out["follow_up"] = q["follow_up"]
    if "deadline_before" in q:
        try:
            out["deadline_before"] = date.fromisoformat(q["deadline_before"])
            if len(q["deadline_before"]) != 10:
                raise ValueError
        except ValueError:
            errors.append({"field": "deadline_before", "message": "must be a date YYYY-MM-DD"})
    if "owner" in q:
        out["owner"] = q["owner"]
    for name, default, high in (("limit", 100, 500), ("offset", 0, None)):
        raw = q.get(name)
        if raw is None:
            out[name] = default
        elif not raw.isdigit() or (name == "limit" and int(raw) == 0) or \
                (high is not None and int(raw) > high):
            errors.append({"field": name, "message": f"must be a whole number"
                           f"{' from 1 to ' + str(high) if high else ' >= 0'}"})
        else:
            out[name] = int(raw)
    if errors:
        raise Invalid(errors)
    return out


async def list_cases(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF)
    return json_response(await request.app[INTAKE].list(principal, **_query(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases", create_case, name="create_case")
    app.router.add_get("/api/cases", list_cases, name="list_cases")
    app.router.add_get("/api/cases/{case_id}", get_case, name="get_case")
    app.router.add_patch("/api/cases/{case_id}", patch_case, name="patch_case")
    app.router.add_put("/api/cases/{case_id}/owner", override_owner, name="override_owner")


document(
    Operation("post", "/api/cases", "Register a case (the same case_id again updates it)",
              roles=("intake",), request=CaseIntake, responses={201: CaseOut, 200: CaseOut}),
    Operation("get", "/api/cases", "List cases", roles=STAFF, responses={200: CaseList},
              query={"status": ("string", STATUSES), "follow_up": ("string", FOLLOW_UPS),
                     "deadline_before": ("date", None), "owner": ("string", None),
                     "limit": ("integer", None), "offset": ("integer", None)}),
    Operation("get", "/api/cases/{case_id}", "A case with its decision history", roles=STAFF,
              responses={200: CaseOut}),
    Operation("patch", "/api/cases/{case_id}",
              "Change a case's facts (JSON merge patch); re-evaluated at once",
              roles=("intake", "consultant"), request=CaseIntake, partial=True,
              responses={200: CaseOut}),
    Operation("put", "/api/cases/{case_id}/owner",
              "Choose the owning consultant by hand; planning keeps it",
              roles=("intake",), request=OwnerOverride, responses={200: CaseOut}),
)
