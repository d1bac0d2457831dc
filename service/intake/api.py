"""Case endpoints: intake (create / idempotent update), read, list, change, owner override."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from service.intake.schemas import CaseIntake, CaseList, CaseOut, OwnerOverride
from service.keys import INTAKE
from service.platform.errors import FieldError, Invalid, NotFound, field_error
from service.platform.http import (
    MERGE_PATCH,
    json_response,
    paging,
    parse_model,
    query_date,
    read_json_object,
    require,
    text_problem,
)
from service.platform.openapi import Operation, document
from service.platform.policies import CHOOSE_OWNER, PATCH_FACTS, READ_CASE

STAFF = READ_CASE.roles
STATUSES = ("target", "excluded", "not_target", "incomplete")
FOLLOW_UPS = ("workplace_meeting", "jobcenter_meeting", "telephone", "standard")
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000  # far past any municipality's cases; a bigger one is a mistake
_CASE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as the rules contract has it


def _case_ref(request: web.Request) -> str:
    """The case_id in the path; one no case can have (e.g. with a NUL character, which
    PostgreSQL would refuse) is simply not found."""
    case_ref = request.match_info["case_id"]
    if not _CASE_ID.fullmatch(case_ref):
        raise NotFound("no case with that case_id (1-64 of A-Z, a-z, 0-9, _ and -)",
                       "case_not_found")
    return case_ref


async def create_case(request: web.Request) -> web.Response:
    principal = await require(request, "intake")
    body = await read_json_object(request)
    case, created = await request.app[INTAKE].upsert(body, principal)
    return json_response(case, status=201 if created else 200)


async def get_case(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF)
    return json_response(await request.app[INTAKE].get(_case_ref(request), principal))


async def patch_case(request: web.Request) -> web.Response:
    principal = await require(request, *PATCH_FACTS.roles)
    case_ref = _case_ref(request)
    changes = await read_json_object(request, MERGE_PATCH)
    return json_response(await request.app[INTAKE].patch(case_ref, changes, principal))


async def override_owner(request: web.Request) -> web.Response:
    principal = await require(request, *CHOOSE_OWNER.roles)
    case_ref = _case_ref(request)
    body = await read_json_object(request)
    override = parse_model(OwnerOverride, body)
    return json_response(await request.app[INTAKE].override_owner(
        case_ref, override.consultant_id, override.reason, principal,
        category=override.category))


def _query(request: web.Request) -> dict[str, Any]:
    """Validate list filters; every problem is a 422 naming the parameter."""
    q = request.query
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    unknown = set(q) - {"status", "follow_up", "deadline_before", "owner", "limit", "offset"}
    for name in sorted(unknown):
        errors.append(field_error(name, "unknown query parameter", "unknown_parameter"))
    if "status" in q:
        if q["status"] not in STATUSES:
            errors.append(field_error("status", f"must be one of {', '.join(STATUSES)}",
                                      "not_one_of", {"allowed": ", ".join(STATUSES)}))
        out["status"] = q["status"]
    if "follow_up" in q:
        if q["follow_up"] not in FOLLOW_UPS:
            errors.append(field_error("follow_up", f"must be one of {', '.join(FOLLOW_UPS)}",
                                      "not_one_of", {"allowed": ", ".join(FOLLOW_UPS)}))
        out["follow_up"] = q["follow_up"]
    if "deadline_before" in q:
        out["deadline_before"] = query_date(q["deadline_before"])
        if out["deadline_before"] is None:
            errors.append(field_error("deadline_before", "must be a date YYYY-MM-DD",
                                      "date_format"))
    if "owner" in q:
        problem = text_problem(q["owner"])
        if problem:
            errors.append(field_error("owner", problem, "not_storable"))
        out["owner"] = q["owner"]
    out.update(paging(q, errors, default_limit=100, max_limit=MAX_LIMIT,
                      max_offset=MAX_OFFSET))
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


# What a case must be beyond its schema: comparisons with today and between members.
CASE_RULES = {
    "first_absence_day": "not after as_of (without as_of: the municipality's today); its "
                         "deadlines must fall by 9999-12-31",
    "employer.unavailable[].end": "after its start",
}

document(
    Operation("post", "/api/cases", "Register a case (the same case_id again updates it)",
              roles=("intake",), request=CaseIntake, responses={201: CaseOut, 200: CaseOut},
              rules=CASE_RULES),
    Operation("get", "/api/cases", "List cases", roles=STAFF, responses={200: CaseList},
              query={"status": ("string", STATUSES), "follow_up": ("string", FOLLOW_UPS),
                     "deadline_before": ("date", None), "owner": ("string", None),
                     "limit": ("integer", None), "offset": ("integer", None)},
              limits={"limit": (1, MAX_LIMIT), "offset": (0, MAX_OFFSET)}),
    Operation("get", "/api/cases/{case_id}", "A case with its decision history", roles=STAFF,
              responses={200: CaseOut}),
    Operation("patch", "/api/cases/{case_id}",
              "Change a case's facts (JSON merge patch); re-evaluated at once",
              roles=PATCH_FACTS.roles, request=CaseIntake, partial=True,
              responses={200: CaseOut},
              rules={"*": "the merged case must be a case as POST /api/cases takes it (its "
                     "schema and rules): the stored facts decide which patches are valid",
                     "case_id": "if given, the case's own id (it cannot be changed)"}),
    Operation("put", "/api/cases/{case_id}/owner",
              "Choose the owning consultant by hand; planning keeps it",
              roles=CHOOSE_OWNER.roles, request=OwnerOverride, responses={200: CaseOut}),
)
