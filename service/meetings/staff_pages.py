"""Staff pages about meetings: moving or cancelling a case's meeting (`/cases/{id}/meeting`,
linked from the intake case page and the consultant's case page), and "Møder der skal
flyttes" (`/meetings/to-move`, intake and managers): confirmed meetings whose consultant can
no longer hold them, and long absences whose cases can be handed over.

Every form calls the same use case as the API (`MeetingMoves`, `MeetingConflicts`), shows its
field errors in Danish next to the field and redirects (303) after a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from service.keys import CONFIG, MEETING_CONFLICTS, MEETING_MOVES
from service.meetings.staff_moves import MAX_REASON, WHY_NOT
from service.platform.auth import Principal
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.pages import add_nav, forbidden, not_found, page_principal, read_form, render
from service.platform.policies import CANCEL_MEETING, MOVE_MEETING, RESOLVE_CONFLICT
from service.text.danish import danish_slot

TEMPLATES = Path(__file__).resolve().parent / "staff_templates"

KIND_WORDS = {"workplace_meeting": "på arbejdspladsen", "jobcenter_meeting": "i jobcentret"}
STATUS_WORDS = {"proposed": "foreslået", "confirmed": "bekræftet"}

NOTICES = {
    "flyttet": "Mødet er flyttet og bekræftet. Arbejdsgiveren har fået den opdaterede "
               "kalenderinvitation, og borgeren har fået det nye tidspunkt.",
    "nye-forslag": "Mødet er trukket tilbage. Arbejdsgiveren får nye forslag om lidt.",
    "aflyst": "Mødet er aflyst. Arbejdsgiver og borger har fået besked med begrundelsen; "
              "der planlægges et nyt møde.",
}
LIST_NOTICES = {
    "kollega": "Mødet og sagen er flyttet til kollegaen. Arbejdsgiveren har fået den "
               "opdaterede kalenderinvitation med den nye konsulent.",
    "nye-tider": "Arbejdsgiveren får nye forslag til tidspunkter.",
    "overdraget": "Sagen er overdraget.",
}


def _words(errors: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        field = str(error.get("field", ""))
        code = str(error.get("code", ""))
        params = error.get("params")
        why = params.get("why") if isinstance(params, dict) else None
        if code == "consultant_not_free":
            out[field] = f"Konsulenten er ikke ledig: {WHY_NOT.get(str(why), 'optaget')}."
        elif code == "time_in_past":
            out[field] = "Tidspunktet er passeret."
        elif code in ("time_not_real", "off_grid"):
            out[field] = "Vælg et af de ledige tidspunkter."
        elif code == "missing":
            out[field] = "Skriv en begrundelse."
        elif code == "string_too_long":
            out[field] = f"Højst {MAX_REASON} tegn."
        else:
            out[field] = "Feltet kan ikke bruges, som det er udfyldt."
    return out


def _case_href(principal: Principal, case_ref: str) -> str:
    ref = quote(case_ref, safe="")
    return f"/my-cases/{ref}" if principal.role == "consultant" else f"/cases/{ref}"


# -- moving or cancelling one meeting ------------------------------------------------------

async def _meeting_page(request: web.Request, principal: Principal, status: int = 200,
                        **extra: Any) -> web.Response:
    case_ref = request.match_info["case_id"]
    moves = request.app[MEETING_MOVES]
    try:
        _, meeting = await moves.current(case_ref, principal, MOVE_MEETING)
        slots = await moves.free_times(case_ref, principal) if meeting is not None else []
    except NotFound:
        raise not_found(request, "Sagen") from None
    except Forbidden:
        raise forbidden(request, principal) from None
    context: dict[str, Any] = {
        "case_ref": case_ref, "case_href": _case_href(principal, case_ref),
        "meeting": None, "slots": [], "errors": {}, "values": {},
        "notice": NOTICES.get(request.query.get("besked", ""), ""), "warn": "",
        "may_cancel": CANCEL_MEETING.allows_role(principal), "reason_limit": MAX_REASON}
    if meeting is not None:
        context["meeting"] = {
            "when": danish_slot(meeting.start, meeting.end),
            "kind": KIND_WORDS.get(meeting.kind, ""),
            "status": STATUS_WORDS.get(meeting.status, meeting.status),
            "consultant": meeting.consultant.name}
        context["slots"] = [(s.key, danish_slot(s.start, s.end)) for s in slots]
    context.update(extra)
    return render(request, "meetings/meeting.html", status=status, **context)


async def meeting_page(request: web.Request) -> web.Response:
    principal = await page_principal(request, *MOVE_MEETING.roles)
    return await _meeting_page(request, principal)


def _back(case_ref: str, notice: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/cases/{quote(case_ref, safe='')}/meeting?besked={notice}")


async def move(request: web.Request) -> web.Response:
    principal = await page_principal(request, *MOVE_MEETING.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    start = str(form.get("start", "")).strip()
    moves = request.app[MEETING_MOVES]
    try:
        if form.get("new_proposals"):
            await moves.new_proposals(case_ref, principal)
            raise _back(case_ref, "nye-forslag")
        if not start:
            return await _meeting_page(request, principal, 422,
                                       errors={"start": "Vælg et tidspunkt."})
        await moves.move(case_ref, start, principal)
    except NotFound:
        raise not_found(request, "Mødet") from None
    except Forbidden:
        raise forbidden(request, principal) from None
    except Invalid as exc:
        return await _meeting_page(request, principal, 422, errors=_words(exc.errors),
                                   values={"start": start})
    except Conflict:
        return await _meeting_page(request, principal, 409,
                                   warn="Tidspunktet blev lige taget. Vælg et andet.")
    raise _back(case_ref, "flyttet")


async def cancel(request: web.Request) -> web.Response:
    principal = await page_principal(request, *CANCEL_MEETING.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    reason = str(form.get("reason", ""))
    try:
        await request.app[MEETING_MOVES].cancel(case_ref, reason, principal)
    except NotFound:
        raise not_found(request, "Mødet") from None
    except Forbidden:
        raise forbidden(request, principal) from None
    except Invalid as exc:
        return await _meeting_page(request, principal, 422, errors=_words(exc.errors),
                                   values={"reason": reason}, open_cancel=True)
    raise _back(case_ref, "aflyst")


# -- "Møder der skal flyttes" ----------------------------------------------------------------

async def to_move(request: web.Request, status: int = 200, warn: str = "") -> web.Response:
    principal = await page_principal(request, *RESOLVE_CONFLICT.roles)
    conflicts = request.app[MEETING_CONFLICTS]
    meetings = await conflicts.to_move(principal)
    absences = await conflicts.long_absences(principal)
    rows = [{"case_ref": m.case_ref, "href": f"/cases/{quote(m.case_ref, safe='')}",
             "when": danish_slot(m.start, m.end), "kind": KIND_WORDS.get(m.kind, ""),
             "consultant": m.consultant, "reason": m.reason, "substitute": m.substitute,
             # a jobcentre meeting has no employer to ask: it is planned anew, the citizen told
             "at_workplace": m.kind == "workplace_meeting"}
            for m in meetings]
    return render(request, "meetings/to_move.html", status=status, meetings=rows,
                  absences=absences, warn=warn,
                  long_days=request.app[CONFIG].planning.long_absence_working_days,
                  notice=LIST_NOTICES.get(request.query.get("besked", ""), ""))


async def to_move_page(request: web.Request) -> web.Response:
    return await to_move(request)


async def resolve(request: web.Request) -> web.Response:
    principal = await page_principal(request, *RESOLVE_CONFLICT.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    action = request.path.rsplit("/", 1)[-1]
    conflicts = request.app[MEETING_CONFLICTS]
    try:
        if action == "accept":
            await conflicts.accept_substitute(case_ref, principal)
            notice = "kollega"
        elif action == "new-times":
            await conflicts.ask_new_times(case_ref, principal)
            notice = "nye-tider"
        else:
            await conflicts.hand_over(case_ref, str(form.get("consultant_id", "")), principal)
            notice = "overdraget"
    except NotFound:
        raise not_found(request, "Sagen") from None
    except Forbidden:
        raise forbidden(request, principal) from None
    except Conflict:
        return await to_move(request, 409, "Kollegaen er ikke længere ledig på mødets "
                                           "tidspunkt. Listen viser, hvem der er ledig nu.")
    except Invalid:
        return await to_move(request, 422, "Konsulenten kan ikke vælges. Opdatér siden.")
    raise web.HTTPSeeOther(f"/meetings/to-move?besked={notice}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cases/{case_id}/meeting", meeting_page, name="staff_meeting_page")
    app.router.add_post("/cases/{case_id}/meeting/move", move)
    app.router.add_post("/cases/{case_id}/meeting/cancel", cancel)
    app.router.add_get("/meetings/to-move", to_move_page, name="meetings_to_move")
    for action in ("accept", "new-times", "hand-over"):
        app.router.add_post(f"/meetings/to-move/{{case_id}}/{action}", resolve)
    add_nav(app, "Møder der skal flyttes", "/meetings/to-move", ["intake", "manager"],
            order=15)
