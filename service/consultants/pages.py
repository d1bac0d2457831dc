"""The consultants' staff pages (Danish): `/admin/consultants` (everyone with their load, a
form to add one), `/admin/consultants/{id}` (every field, making one inactive — asking what
happens to their open cases — and their absences). Managers and admins.

The forms are read into the API's models (`service.consultants.schemas`) and handed to the
same use cases (`app[CONSULTANTS]`); their errors are shown in Danish next to each field.
The consultant's own absences are on their week page (`service.followup.pages`), through
`absence_form` and `absence_errors` here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from service.calendars.pages import calendar_import_rows
from service.consultants.schemas import (
    MAX_ABSENCE_NOTE,
    WEEKDAYS,
    AbsenceIn,
    ConsultantChanges,
    ConsultantIn,
)
from service.consultants.service import ConsultantView, OpenCases
from service.keys import CONSULTANTS
from service.platform.errors import Conflict, Invalid, NotFound, field_error
from service.platform.inputs import validated_json
from service.platform.pages import add_nav, not_found, page_principal, read_form, render
from service.platform.policies import MANAGE_CONSULTANTS
from service.text.errors import danish_field_errors, danish_problem

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLES = MANAGE_CONSULTANTS.roles
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ABSENCE_ID = re.compile(r"[1-9][0-9]{0,9}")
_CVRS = re.compile(r"[\s,;]+")

DAY_NAMES = {"mon": "Mandag", "tue": "Tirsdag", "wed": "Onsdag", "thu": "Torsdag",
             "fri": "Fredag", "sat": "Lørdag", "sun": "Søndag"}
SKILLS = [("physical", "Fysiske lidelser"), ("mental", "Psykiske lidelser"),
          ("cancer_heart_lung", "Kræft, hjerte og lunger"), ("other", "Andet")]
REASONS = [("ferie", "Ferie"), ("sygdom", "Sygdom"), ("kursus", "Kursus"), ("andet", "Andet")]
REASON_WORDS = dict(REASONS)
# The form's Danish names of the fields (errors say them).
LABELS = {
    "id": "Id", "name": "Navnet", "email": "E-mailadressen", "phone": "Telefonnummeret",
    "slack_user_id": "Slack-bruger-id", "team": "Teamet", "lat": "Breddegraden",
    "lon": "Længdegraden", "address": "Adressen", "skills": "Kompetencerne",
    "max_active_cases": "Højst antal aktive sager", "meetings_per_day": "Møder pr. dag",
    "workplace_meetings_from": "Datoen", "fixed_employers": "Faste virksomheder",
    "from": "Fra-datoen", "to": "Til-datoen", "reason": "Årsagen", "note": "Noten",
    **{f"hours_{day}": f"Arbejdstiden {name.lower()}" for day, name in DAY_NAMES.items()},
}
NOTICES = {"oprettet": "Konsulenten er oprettet.", "gemt": "Ændringerne er gemt.",
           "fravaer": "Fraværet er registreret. Planlægningen tager højde for det.",
           "fravaer-slettet": "Fraværet er slettet."}


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _form_field(field: str) -> str:
    """The form's field for a model's field (`working_hours.mon.0` -> `hours_mon`)."""
    parts = re.sub(r"\[[0-9]+\]", "", field).split(".")
    if parts[0] == "location" and len(parts) > 1:
        return parts[1]
    if parts[0] == "working_hours" and len(parts) > 1:
        return f"hours_{parts[1]}"
    return parts[0]


def danish_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Field errors of the models and use cases in Danish, by the form's field."""
    mapped = [{**e, "field": _form_field(str(e.get("field", "")))} for e in errors]
    return danish_field_errors(mapped, LABELS)


# -- the consultant's form --------------------------------------------------------------------

def form_values(view: ConsultantView | None) -> dict[str, Any]:
    """A consultant as the form shows them (empty for a new one)."""
    if view is None:
        return {"team": "default", "max_active_cases": "25", "meetings_per_day": "3",
                "workplace_meetings": True, "active": True, "skills": [],
                "own_hours": False, **{f"hours_{d}": ("", "") for d in WEEKDAYS}}
    hours = view.working_hours or {}
    placed = view.location_precision is not None
    return {
        "id": view.id, "name": view.name, "email": view.email, "phone": view.phone,
        "slack_user_id": view.slack_user_id or "", "team": view.team,
        "lat": str(view.location["lat"]) if placed else "",
        "lon": str(view.location["lon"]) if placed else "",
        "address": view.address or "", "skills": list(view.skills),
        "max_active_cases": str(view.max_active_cases),
        "meetings_per_day": str(view.meetings_per_day),
        "own_hours": view.working_hours is not None,
        **{f"hours_{d}": tuple(hours.get(d) or ("", "")) for d in WEEKDAYS},
        "workplace_meetings": view.workplace_meetings,
        "workplace_meetings_from": view.workplace_meetings_from.isoformat()
        if view.workplace_meetings_from else "",
        "fixed_employers": " ".join(view.fixed_employers), "active": view.active,
    }


def _posted_values(form: MultiDictProxy[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in (
        "id", "name", "email", "phone", "slack_user_id", "team", "lat", "lon", "address",
        "max_active_cases", "meetings_per_day", "workplace_meetings_from", "fixed_employers")}
    values["skills"] = [s for s in form.getall("skills", []) if isinstance(s, str)]
    values["own_hours"] = bool(_text(form, "own_hours"))
    values["workplace_meetings"] = bool(_text(form, "workplace_meetings"))
    values["active"] = bool(_text(form, "active"))
    for day in WEEKDAYS:
        values[f"hours_{day}"] = (_text(form, f"hours_{day}_start"),
                                  _text(form, f"hours_{day}_end"))
    values["open_cases"] = _text(form, "open_cases")
    return values


def _number(values: dict[str, Any], name: str, kind: type, errors: list[dict[str, Any]]
            ) -> Any:
    raw = values.get(name, "")
    try:
        return kind(raw.replace(",", ".")) if kind is float else kind(raw)
    except ValueError:
        errors.append(field_error(name, "must be a number", "not_a_number"))
        return None


def body_of(values: dict[str, Any], model: type[ConsultantChanges]) -> dict[str, Any]:
    """The form's values as the API's JSON body, checked by `model`: every problem an
    `Invalid` naming the form's field (a value that is no number said so)."""
    errors: list[dict[str, Any]] = []
    body: dict[str, Any] = {
        "name": values["name"], "email": values["email"], "phone": values["phone"],
        "slack_user_id": values["slack_user_id"] or None, "team": values["team"],
        "address": values["address"] or None, "skills": values["skills"],
        "workplace_meetings": values["workplace_meetings"],
        "workplace_meetings_from": values["workplace_meetings_from"] or None,
        "fixed_employers": [c for c in _CVRS.split(values["fixed_employers"]) if c],
        "active": values["active"],
    }
    for name in ("max_active_cases", "meetings_per_day"):
        body[name] = _number(values, name, int, errors)
    if values["lat"] or values["lon"]:
        lat, lon = (_number(values, n, float, errors) for n in ("lat", "lon"))
        body["location"] = {"lat": lat, "lon": lon}
    else:
        body["location"] = None
    if values["own_hours"]:
        body["working_hours"] = {d: list(values[f"hours_{d}"]) if any(values[f"hours_{d}"])
                                 else None for d in WEEKDAYS}
    else:
        body["working_hours"] = None
    if values.get("open_cases") == "reassign":
        body["open_cases"] = "reassign"
    if model is ConsultantIn:
        body["id"] = values["id"]
    for name in ("id", "name", "email", "team"):
        if body.get(name) == "":
            del body[name]  # left empty: "skal udfyldes"
    try:
        validated_json(model, body)
    except Invalid as exc:
        numbers = {_form_field(e["field"]) for e in errors}
        errors += [e for e in exc.errors if _form_field(e["field"]) not in numbers]
    if errors:
        raise Invalid(errors)
    return body


async def _list_page(request: web.Request, status: int = 200,
                     errors: dict[str, str] | None = None,
                     values: dict[str, Any] | None = None) -> web.Response:
    principal = await page_principal(request, *ROLES)
    consultants = await request.app[CONSULTANTS].list(principal)
    return render(request, "consultants/list.html", status=status, consultants=consultants,
                  calendars=await calendar_import_rows(request, principal),
                  errors=errors or {}, values=values or form_values(None), skills=SKILLS,
                  days=DAY_NAMES, notice=NOTICES.get(request.query.get("besked", ""), ""))


async def show_list(request: web.Request) -> web.Response:
    return await _list_page(request)


async def create(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    values = _posted_values(form)
    try:
        data = validated_json(ConsultantIn, body_of(values, ConsultantIn))
        view = await request.app[CONSULTANTS].create(data, principal)
    except Invalid as exc:
        return await _list_page(request, 422, danish_errors(exc.errors), values)
    except Conflict as exc:
        return await _list_page(request, 409, {"id": danish_problem(exc)}, values)
    raise web.HTTPSeeOther(f"/admin/consultants/{view.id}?besked=oprettet")


def _key(request: web.Request) -> str:
    key = request.match_info["consultant_id"]
    if not _KEY.fullmatch(key):
        raise not_found(request, "Konsulenten")
    return key


async def _edit_page(request: web.Request, key: str, status: int = 200,
                     errors: dict[str, str] | None = None,
                     values: dict[str, Any] | None = None, open_cases: list[str] | None = None,
                     absence_errors: dict[str, str] | None = None,
                     absence_values: dict[str, str] | None = None) -> web.Response:
    principal = await page_principal(request, *ROLES)
    service = request.app[CONSULTANTS]
    try:
        view = await service.get(key, principal)
        absences = await service.absences(key, principal)
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    return render(request, "consultants/edit.html", status=status, consultant=view,
                  values=values or form_values(view), errors=errors or {}, skills=SKILLS,
                  days=DAY_NAMES, open_cases=open_cases or [], absences=absences,
                  reasons=REASONS, reason_words=REASON_WORDS,
                  absence_errors=absence_errors or {},
                  absence_values=absence_values or {}, note_max=MAX_ABSENCE_NOTE,
                  absence_action=f"/admin/consultants/{key}/absences", absence_query="",
                  notice=NOTICES.get(request.query.get("besked", ""), ""))


async def show_edit(request: web.Request) -> web.Response:
    return await _edit_page(request, _key(request))


async def save(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key = _key(request)
    form = await read_form(request)
    values = _posted_values(form)
    values["id"] = key
    try:
        body = body_of(values, ConsultantChanges)
        # Every field is on the form: what is left empty is removed (null in a merge patch).
        await request.app[CONSULTANTS].update(key, body, principal)
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    except Invalid as exc:
        return await _edit_page(request, key, 422, danish_errors(exc.errors), values)
    except OpenCases as exc:
        return await _edit_page(request, key, 409, {"active": danish_problem(exc)}, values,
                                open_cases=exc.cases)
    raise web.HTTPSeeOther(f"/admin/consultants/{key}?besked=gemt")


# -- absences (here and on the consultant's week page) -----------------------------------------

def absence_form(form: MultiDictProxy[Any]) -> tuple[dict[str, str], AbsenceIn]:
    """The absence form's values and the model they make (or `Invalid` naming the field)."""
    values = {name: _text(form, name) for name in ("from", "to", "reason")}
    note = form.get("note")
    values["note"] = note.strip() if isinstance(note, str) else ""
    # An empty date is missing ("skal udfyldes"), not a wrongly written one.
    body = {**{name: values[name] for name in ("from", "to") if values[name]},
            "reason": values["reason"], "note": values["note"] or None}
    return values, validated_json(AbsenceIn, body)


def absence_errors(exc: Invalid) -> dict[str, str]:
    return danish_errors(exc.errors)


def absence_id(request: web.Request) -> int | None:
    raw = request.match_info["absence_id"]
    return int(raw) if _ABSENCE_ID.fullmatch(raw) else None


async def add_absence(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key = _key(request)
    form = await read_form(request)
    values: dict[str, str] = {}
    try:
        values, absence = absence_form(form)
        await request.app[CONSULTANTS].add_absence(key, absence, principal)
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    except Invalid as exc:
        return await _edit_page(request, key, 422, absence_errors=absence_errors(exc),
                                absence_values=values or {k: _text(form, k) for k in (
                                    "from", "to", "reason", "note")})
    raise web.HTTPSeeOther(f"/admin/consultants/{key}?besked=fravaer#fravaer")


async def delete_absence(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    key = _key(request)
    await read_form(request)
    number = absence_id(request)
    try:
        if number is None:
            raise NotFound("no such absence", "absence_not_found")
        await request.app[CONSULTANTS].delete_absence(key, number, principal)
    except NotFound:
        raise not_found(request, "Fraværet") from None
    raise web.HTTPSeeOther(f"/admin/consultants/{key}?besked=fravaer-slettet#fravaer")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/consultants", show_list, name="admin_consultants")
    app.router.add_post("/admin/consultants", create)
    app.router.add_get("/admin/consultants/{consultant_id}", show_edit,
                       name="admin_consultant")
    app.router.add_post("/admin/consultants/{consultant_id}", save)
    app.router.add_post("/admin/consultants/{consultant_id}/absences", add_absence)
    app.router.add_post("/admin/consultants/{consultant_id}/absences/{absence_id}/delete",
                        delete_absence)
    add_nav(app, "Konsulenter", "/admin/consultants", ROLES, order=800)

