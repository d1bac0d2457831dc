"""The consultants and their absences over HTTP (`service.consultants.service` decides)."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from aiohttp import web

from service.consultants.schemas import (
    MAX_ABSENCE_DAYS,
    AbsenceIn,
    AbsenceList,
    AbsenceOut,
    ConsultantChanges,
    ConsultantIn,
    ConsultantList,
    ConsultantOut,
)
from service.consultants.service import (
    AbsenceView,
    ConsultantView,
    Deactivated,
    OpenCases,
)
from service.keys import CONSULTANTS
from service.platform.errors import Invalid, NotFound
from service.platform.http import (
    MERGE_PATCH,
    json_error,
    json_response,
    parse_model,
    read_json_object,
    require,
    row_id,
)
from service.platform.openapi import Operation, document
from service.platform.policies import MANAGE_ABSENCES, MANAGE_CONSULTANTS, READ_CONSULTANT

_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def consultant_out(view: ConsultantView, deactivated: Deactivated | None = None
                   ) -> dict[str, Any]:
    out = asdict(view)
    if deactivated is not None:
        out["reassigned_cases"] = deactivated.cases_released
    return out


def absence_out(view: AbsenceView) -> dict[str, Any]:
    return {"id": view.id, "consultant_id": view.consultant_id,
            "from": view.first_day.isoformat(), "to": view.last_day.isoformat(),
            "reason": view.reason, "note": view.note, "created_by": view.created_by,
            "created_at": view.created_at}


def _key(request: web.Request) -> str:
    """The consultant's id from the path; one no consultant can have is simply not found."""
    key = request.match_info["consultant_id"]
    if not _KEY.fullmatch(key):
        raise NotFound("no such consultant", "consultant_not_found")
    return key


async def list_consultants(request: web.Request) -> web.Response:
    principal = await require(request, *READ_CONSULTANT.roles)
    views = await request.app[CONSULTANTS].list(principal)
    return json_response({"consultants": [consultant_out(v) for v in views]})


async def get_consultant(request: web.Request) -> web.Response:
    principal = await require(request, *READ_CONSULTANT.roles)
    return json_response(consultant_out(
        await request.app[CONSULTANTS].get(_key(request), principal)))


async def create_consultant(request: web.Request) -> web.Response:
    principal = await require(request, *MANAGE_CONSULTANTS.roles)
    data = parse_model(ConsultantIn, await read_json_object(request), json_mode=True)
    view = await request.app[CONSULTANTS].create(data, principal)
    return json_response(consultant_out(view), status=201)


async def update_consultant(request: web.Request) -> web.Response:
    principal = await require(request, *MANAGE_CONSULTANTS.roles)
    key = _key(request)
    body = await read_json_object(request, MERGE_PATCH)
    try:
        view, deactivated = await request.app[CONSULTANTS].update(key, body, principal)
    except OpenCases as exc:
        return json_error(409, exc.message, code=exc.code, open_cases=exc.cases)
    return json_response(consultant_out(view, deactivated))


async def add_absence(request: web.Request) -> web.Response:
    principal = await require(request, *MANAGE_ABSENCES.roles)
    key = _key(request)
    absence = parse_model(AbsenceIn, await read_json_object(request), json_mode=True)
    view = await request.app[CONSULTANTS].add_absence(key, absence, principal)
    return json_response(absence_out(view), status=201)


async def list_absences(request: web.Request) -> web.Response:
    principal = await require(request, *MANAGE_ABSENCES.roles)
    key = _key(request)
    raw = request.query.get("past", "false")
    if raw not in ("true", "false"):  # (anything else was read as false)
        raise Invalid.field("past", "must be true or false", "not_one_of",
                            {"expected": "true, false"})
    past = raw == "true"
    views = await request.app[CONSULTANTS].absences(key, principal, include_past=past)
    return json_response({"absences": [absence_out(v) for v in views]})


async def delete_absence(request: web.Request) -> web.Response:
    principal = await require(request, *MANAGE_ABSENCES.roles)
    key = _key(request)
    absence_id = row_id(request.match_info["absence_id"], "absence")
    service = request.app[CONSULTANTS]
    await service.delete_absence(key, absence_id, principal)
    return json_response({"absences": [absence_out(v)
                                       for v in await service.absences(key, principal)]})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/consultants", list_consultants, name="consultants_list")
    app.router.add_post("/api/consultants", create_consultant, name="consultant_create")
    app.router.add_get("/api/consultants/{consultant_id}", get_consultant,
                       name="consultant_get")
    app.router.add_patch("/api/consultants/{consultant_id}", update_consultant,
                         name="consultant_update")
    app.router.add_post("/api/consultants/{consultant_id}/absences", add_absence,
                        name="absence_add")
    app.router.add_get("/api/consultants/{consultant_id}/absences", list_absences,
                       name="absences_list")
    app.router.add_delete("/api/consultants/{consultant_id}/absences/{absence_id}",
                          delete_absence, name="absence_delete")


_HOURS_RULE = "the end after the start"
_CONSULTANT_RULES = {
    "fixed_employers": "a CVR fixed to another consultant may not be fixed to this one too",
    "slack_user_id": "not another consultant's nor a Slack staff member's user",
    **{f"working_hours.{day}": _HOURS_RULE
       for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
document(
    Operation("get", "/api/consultants", "The consultants with their current load (a "
              "consultant sees themselves only)", roles=READ_CONSULTANT.roles,
              responses={200: ConsultantList}),
    Operation("post", "/api/consultants", "Add a consultant (the database is the truth; "
              "the configuration only seeds it)", roles=MANAGE_CONSULTANTS.roles,
              request=ConsultantIn, responses={201: ConsultantOut},
              errors={409: "a consultant with this id exists already"},
              rules=_CONSULTANT_RULES),
    Operation("get", "/api/consultants/{consultant_id}", "A consultant with their current "
              "load (a consultant: themselves only; another is not found)",
              roles=READ_CONSULTANT.roles, responses={200: ConsultantOut}),
    Operation("patch", "/api/consultants/{consultant_id}", "Change a consultant (JSON merge "
              "patch; `working_hours` is replaced whole). Making one with open cases "
              "inactive is 409 with `open_cases` unless `open_cases: \"reassign\"` says the "
              "planner gives them to colleagues (confirmed meetings are kept and listed as "
              "needing another consultant)", roles=MANAGE_CONSULTANTS.roles,
              request=ConsultantChanges, partial=True, responses={200: ConsultantOut},
              errors={409: "the consultant has open cases (listed in `open_cases`)"},
              rules={"*": "the merged consultant must be valid", **_CONSULTANT_RULES}),
    Operation("post", "/api/consultants/{consultant_id}/absences", "Register whole days "
              "away; the planner treats them as busy", roles=MANAGE_ABSENCES.roles,
              request=AbsenceIn, responses={201: AbsenceOut},
              rules={"to": f"not before `from`; at most {MAX_ABSENCE_DAYS} days in all"}),
    Operation("get", "/api/consultants/{consultant_id}/absences", "The consultant's absences "
              "(those not yet over; `past=true`: all)", roles=MANAGE_ABSENCES.roles,
              responses={200: AbsenceList}, query={"past": ("string", ("true", "false"))}),
    Operation("delete", "/api/consultants/{consultant_id}/absences/{absence_id}",
              "Delete an absence (kept as deleted in the history); the answer lists those "
              "left", roles=MANAGE_ABSENCES.roles, responses={200: AbsenceList}),
)
