"""Intake's staff pages: the case list `/cases`, the new-case form `/new-case`, and the case
page `/cases/{case_id}` (the address Slack messages link to) with its forms — change facts
(re-evaluated at once), choose the owner, close or reopen the case.

Every page calls the same use cases as the API (IntakeService, CaseClosing) and shows their
field errors in Danish next to the fields, keeping what was typed. A consultant sees only
their own cases (another case is a 404, as in the API); every view and change is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from markupsafe import Markup

from service.intake.case_reads import NO_OWNER, PER_PAGE, SORTS, ListFilters
from service.intake.form import (
    CHOICES,
    FIELDS,
    REQUIRED,
    case_to_fields,
    danish_errors,
    facts_patch,
    read_fields,
    same_case,
)
from service.intake.schemas import (
    CLOSE_OUTCOMES,
    MAX_CLOSE_NOTE,
    MAX_OWNER_NOTE,
    OWNER_REASONS,
    normalise_cpr,
)
from service.intake.signals import absence_week, handed_over_late
from service.intake.views import follow_up_overdue
from service.keys import CASE_CLOSING, CASE_READS, CLOCK, CONSULTANTS, INTAKE
from service.places import place, placement_words
from service.platform.auth import Principal
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.http import text_problem
from service.platform.pages import (
    PAGE_PARAMETER,
    add_nav,
    forbidden,
    not_found,
    page_number,
    page_principal,
    read_form,
    render,
)
from service.platform.paging import page_count
from service.platform.policies import (
    CHOOSE_OWNER,
    CLOSE_CASE,
    PATCH_FACTS,
    READ_CASE,
    REOPEN_CASE,
)
from service.text.case_words import (
    CLOSE_OUTCOME,
    FOLLOW_UP,
    STATUS,
    WORDS,
    actor_in_words,
    word,
)
from service.text.danish import danish_date
from service.text.errors import danish_field_errors, danish_problem
from service.text.minutes_words import agreement_lines, plan_lines
from service.text.reasons import reason_in_words

TEMPLATES = Path(__file__).resolve().parent / "templates"

ALL_STAFF = READ_CASE.roles

SENT_TWICE_WITHIN = timedelta(minutes=30)

NOTICES = {
    "oprettet": "Sagen er oprettet og vurderet. Planlægningen går i gang med det samme.",
    "allerede-oprettet": "Formularen blev sendt to gange; sagen var allerede oprettet med de "
                         "samme oplysninger, så der er ikke ændret noget.",
    "fakta": "Fakta er gemt, og sagen er vurderet igen.",
    "ejer": "Ejeren er ændret. Planlægningen beholder dit valg.",
    "lukket": "Sagen er lukket. Møder er aflyst, og de berørte har fået besked.",
    "genaabnet": "Sagen er genåbnet og planlægges igen.",
    "genaabnet-fordeles": "Sagen er genåbnet, men den tidligere konsulent har ikke plads til "
                          "flere sager. Den fordeles til en konsulent med plads ved næste "
                          "planlægning; grunden står under ejer.",
}


def _form_values(form: Any) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def _common(request: web.Request) -> dict[str, Any]:
    # The active consultants as the database has them (one added in the app included).
    return {"fields": FIELDS, "choices": CHOICES, "required": REQUIRED, "words": WORDS,
            "word": word, "actor": actor_in_words,
            "consultants": await request.app[CONSULTANTS].choices()}


# -- the case list ------------------------------------------------------------------------

# `?vis=`: which cases the list shows (open ones unless asked otherwise).
SHOWN = {"aabne": "open", "lukkede": "closed", "alle": "all"}
SHOWN_WORDS = {"aabne": "Åbne sager", "lukkede": "Lukkede sager", "alle": "Alle sager"}
MAX_SEARCH = 100


def _search(request: web.Request, text: str) -> tuple[str, tuple[str, ...], str]:
    """The search text, the CPR number's lookup hashes when it is one (exact match), and a
    Danish error naming the field when the text cannot be searched for."""
    text = " ".join(text.split())
    if len(text) > MAX_SEARCH or text_problem(text):
        return "", (), f"Søg: højst {MAX_SEARCH} tegn almindelig tekst."
    try:
        cpr = normalise_cpr(text)
    except ValueError:
        return text, (), ""
    return text, tuple(request.app[INTAKE].cipher.lookup_hashes(cpr)), ""


async def _filters(request: web.Request) -> tuple[ListFilters, str]:
    query = request.query
    status = query.get("status", "")
    follow_up = query.get("follow_up", "")
    owner = query.get("owner", "")
    consultants = {key for key, _ in await request.app[CONSULTANTS].choices(
        active_only=False)}
    search, cpr_hashes, error = _search(request, query.get("q", ""))
    return ListFilters(
        status=status if status in STATUS else None,
        follow_up=follow_up if follow_up in FOLLOW_UP else None,
        owner=owner if owner in consultants or owner == NO_OWNER else None,
        at_risk=query.get("risiko") == "ja", same_citizen=query.get("flere") == "ja",
        shown=SHOWN.get(query.get("vis", ""), "open"),
        sort=query.get("sort", "frist") if query.get("sort", "frist") in SORTS else "frist",
        page=page_number(request),
        search=search, cpr_hashes=cpr_hashes), error


def _shown_key(filters: ListFilters) -> str:
    return next(key for key, value in SHOWN.items() if value == filters.shown)


def _query(filters: ListFilters, page: int | None = None, **change: Any) -> str:
    """The list's address with `change`d filters, on `page` (None: the filters' page)."""
    values = {"q": filters.search, "vis": _shown_key(filters), "status": filters.status,
              "follow_up": filters.follow_up, "owner": filters.owner,
              "risiko": "ja" if filters.at_risk else None,
              "flere": "ja" if filters.same_citizen else None, "sort": filters.sort}
    values.update(change)
    page = filters.page if page is None else page
    values[PAGE_PARAMETER] = page if page > 1 else None
    if values.get("sort") == "frist":
        values["sort"] = None
    if values.get("vis") == "aabne":
        values["vis"] = None
    return "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


async def case_list(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ALL_STAFF)
    filters, search_error = await _filters(request)
    rows, total = await request.app[CASE_READS].page(principal, filters)
    pages = page_count(total, PER_PAGE)

    def sort_link(key: str) -> str:
        return _query(filters, page=1, sort=("-" + key) if filters.sort == key else key)

    return render(request, "intake/cases.html", status=400 if search_error else 200,
                  rows=rows, total=total, filters=filters, search_error=search_error,
                  shown=_shown_key(filters), shown_words=SHOWN_WORDS,
                  page=min(filters.page, pages), pages=pages, sort_link=sort_link,
                  page_link=lambda n: _query(filters, page=n), statuses=STATUS,
                  follow_ups=FOLLOW_UP, today=request.app[CLOCK].today(),
                  consultant_only=principal.role == "consultant", **(await _common(request)))


# -- a new case ---------------------------------------------------------------------------

async def new_case(request: web.Request) -> web.Response:
    await page_principal(request, "intake")
    return render(request, "intake/new_case.html", values={"employment": "employed"},
                  errors={}, **(await _common(request)))


async def create_case(request: web.Request) -> web.Response:
    principal = await page_principal(request, "intake")
    form = await read_form(request)
    values = _form_values(form)
    body, errors = _checked(request, values)
    if not errors and await request.app[CASE_READS].exists(body["case_id"]):
        if await _sent_twice(request, principal, values, body["case_id"]):
            raise web.HTTPSeeOther(f"/cases/{quote(body['case_id'], safe='')}"
                                   "?besked=allerede-oprettet")
        errors = {"case_id": Markup(
            'Der findes allerede en sag med dette sagsnummer: <a href="/cases/{}">åbn sag '
            '{}</a> for at se eller ændre den.').format(quote(body["case_id"], safe=""),
                                                         body["case_id"])}
    if not errors:
        try:
            await request.app[INTAKE].upsert(body, principal)
        except Invalid as exc:
            errors = danish_errors(exc.errors)
    if errors:
        return render(request, "intake/new_case.html", status=422, values=values,
                      errors=errors, **(await _common(request)))
    raise web.HTTPSeeOther(f"/cases/{quote(body['case_id'], safe='')}?besked=oprettet")


async def _sent_twice(request: web.Request, principal: Principal, values: dict[str, str],
                      case_ref: str) -> bool:
    """The same form again (a double click, a reload, back and send): the case was created
    by this user within `SENT_TWICE_WITHIN` and holds exactly what the form says."""
    created = await request.app[CASE_READS].created(case_ref)
    if created is None or created[0] != principal.actor or \
            request.app[CLOCK].utcnow() - created[1] > SENT_TWICE_WITHIN:
        return False
    return same_case(values, await request.app[INTAKE].get(case_ref, principal))


def _checked(request: web.Request, values: dict[str, str]) -> tuple[dict[str, Any],
                                                                    dict[str, str]]:
    """The form as an intake body and every field's error at once: what cannot be read, and
    what the API's validation says of the rest."""
    body, errors = read_fields(values, checkboxes=True)
    try:
        request.app[INTAKE].validate(body)
    except Invalid as exc:
        errors = {**danish_errors(exc.errors), **errors}
    return body, errors


# -- the case page ------------------------------------------------------------------------

async def _case(request: web.Request, principal: Principal) -> dict[str, Any]:
    case_ref = request.match_info["case_id"]
    try:
        return await request.app[INTAKE].get(case_ref, principal)
    except NotFound:
        raise not_found(request, "Sagen") from None


def _minutes(held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The held meetings' agreements and return plan in Danish lines (issue 20); the
    consultant's staff-only note stays on the consultant's case page."""
    out = []
    for meeting in held:
        plan = meeting.get("return_plan")
        out.append({
            "held": danish_date(date.fromisoformat(meeting["held_at"][:10]))
            + f" kl. {meeting['held_at'][11:16].replace(':', '.')}",
            "agreements": agreement_lines([(a["what"], a["who"], date.fromisoformat(a["due"]))
                                           for a in meeting.get("agreements") or []]),
            "plan": plan_lines([(date.fromisoformat(s["from"]), float(s["hours_per_week"]))
                                for s in plan["steps"]],
                               date.fromisoformat(plan["full_time_from"])) if plan else [],
            "retention": bool(meeting.get("retention_plan_requested"))})
    return out


async def _case_page(request: web.Request, principal: Principal, status: int = 200,
                     **forms: Any) -> web.Response:
    case = await _case(request, principal)
    details = await request.app[CASE_READS].details(case["case_id"])
    owner = case.get("owner")
    owner_key = owner["consultant_id"] if owner else None
    live = not case.get("erased_at")
    context: dict[str, Any] = {
        "case": case, **details, "notice": NOTICES.get(request.query.get("besked", ""), ""),
        "owner_reasons": [reason_in_words(r) for r in (owner or {}).get("reasons", [])],
        "unassigned_reasons": [reason_in_words(r) for r in case.get("unassigned_reasons", [])],
        # Who may: service.platform.policies (the use cases ask the same); nobody changes a
        # case whose personal data were erased (`service.retention`).
        "may_change_facts": live and PATCH_FACTS.allows(principal, owner_key),
        "may_change_owner": live and CHOOSE_OWNER.allows(principal, owner_key),
        "may_close": live and CLOSE_CASE.allows(principal, owner_key),
        "may_reopen": live and REOPEN_CASE.allows(principal, owner_key),
        "close_note_limit": MAX_CLOSE_NOTE,
        "facts_values": case_to_fields(case), "facts_errors": {},
        "owner_errors": {}, "owner_values": {}, "close_errors": {},
        "owner_reasons_choices": [(k, v.capitalize()) for k, v in OWNER_REASONS.items()],
        "close_values": {"on": request.app[CLOCK].today().isoformat()},
        "outcomes": [(o, CLOSE_OUTCOME[o]) for o in CLOSE_OUTCOMES],
        "today": request.app[CLOCK].today(),
        # the next follow-up (after the first meeting), marked when over time (the
        # dashboard's rule)
        "follow_up_overdue": bool(case.get("next_follow_up")) and follow_up_overdue(
            date.fromisoformat(case["next_follow_up"]["due"]), request.app[CLOCK].today()),
        "open_form": "",
        "placement": _placement_words(case.get("workplace")),
        "handover": _handover(case["facts"]),
        "minutes": _minutes((case.get("progress") or {}).get("held_meetings") or []),
        **(await _common(request))}
    if context["may_change_owner"]:
        # The eligible owners with their load, as Slack's "Skift konsulent" offers them.
        context["consultants"] = [
            (c.key, f"{c.name} ({c.cases}/{c.capacity} sager{' – fuld' if c.full else ''})")
            for c in await request.app[CASE_READS].owner_choices(case["case_id"])]
    context.update(forms)
    return render(request, "intake/case.html", status=status, **context)


def _handover(facts: dict[str, Any]) -> dict[str, Any] | None:
    """The absence week the benefits office handed the case over in, and whether that was
    after week 7 (`service.intake.signals`)."""
    try:
        first = date.fromisoformat(str(facts["first_absence_day"]))
        handed = date.fromisoformat(str(facts["handed_over_on"]))
    except (KeyError, ValueError):
        return None
    return {"week": absence_week(first, handed), "late": handed_over_late(first, handed)}


def _placement_words(workplace: dict[str, Any] | None) -> dict[str, str] | None:
    """How the case's workplace is placed on the map, for the page: "placeret på by: Ikast",
    or that it could not be placed and why (the offline placement says why)."""
    if not workplace or not workplace.get("address") and workplace.get("precision") is None:
        return None
    precision = workplace.get("precision")
    if precision is not None:
        placed = place(workplace["address"]) if workplace.get("address") else None
        town = placed.town if placed is not None and placed.precision == precision else None
        postcode = placed.postcode if placed is not None else None
        return {"placed": placement_words(precision, town, postcode), "unplaced": "",
                "why": ""}
    return {"placed": "", "unplaced": "Adressen kunne ikke placeres på kortet — mødet "
            "planlægges som på jobcentret", "why": place(workplace["address"]).reason or ""}


async def case_page(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ALL_STAFF)
    return await _case_page(request, principal)


def _back(case_ref: str, notice: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/cases/{quote(case_ref, safe='')}?besked={notice}")


async def change_facts(request: web.Request) -> web.Response:
    principal = await page_principal(request, *PATCH_FACTS.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    values = _form_values(form)
    values["case_id"] = case_ref
    body, errors = read_fields(values, checkboxes=True)
    if not errors:
        try:
            await request.app[INTAKE].patch(case_ref, facts_patch(body), principal)
        except NotFound:
            raise not_found(request, "Sagen") from None
        except Conflict as exc:  # its personal data were erased: it takes no change
            return await _case_page(request, principal, 409, notice=danish_problem(exc))
        except Invalid as exc:
            errors = danish_errors(exc.errors)
    if errors:
        return await _case_page(request, principal, 422, facts_values=values,
                                facts_errors=errors, open_form="facts")
    raise _back(case_ref, "fakta")


async def change_owner(request: web.Request) -> web.Response:
    principal = await page_principal(request, *CHOOSE_OWNER.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    values = _form_values(form)
    consultant = values.get("consultant_id", "").strip()
    category = values.get("category", "").strip()
    reason = values.get("reason", "").strip()
    errors: dict[str, str] = {}
    if consultant not in {key for key, _ in await request.app[CONSULTANTS].choices()}:
        errors["consultant_id"] = "Vælg en konsulent."
    if category not in OWNER_REASONS:
        errors["category"] = "Vælg, hvorfor du vælger ejeren."
    if len(reason) > MAX_OWNER_NOTE:
        errors["reason"] = f"Højst {MAX_OWNER_NOTE} tegn."
    if not errors:
        try:
            await request.app[INTAKE].override_owner(case_ref, consultant, reason, principal,
                                                     category=category)
        except NotFound:
            raise not_found(request, "Sagen") from None
        except Conflict as exc:
            return await _case_page(request, principal, 409, notice=danish_problem(exc))
        except Invalid as exc:
            errors.update(danish_field_errors(exc.errors))
    if errors:
        return await _case_page(request, principal, 422, owner_values=values,
                                owner_errors=errors, open_form="owner")
    raise _back(case_ref, "ejer")


async def close_case(request: web.Request) -> web.Response:
    principal = await page_principal(request, *CLOSE_CASE.roles)
    form = await read_form(request)
    case_ref = request.match_info["case_id"]
    values = _form_values(form)
    errors: dict[str, str] = {}
    outcome = values.get("outcome", "")
    if outcome not in CLOSE_OUTCOMES:
        errors["outcome"] = "Vælg, hvordan sagen er endt."
    try:
        on = date.fromisoformat(values.get("on", "").strip())
    except ValueError:
        errors["on"] = "Skriv en gyldig dato som ÅÅÅÅ-MM-DD."
    note = values.get("note", "").strip()
    if not errors:
        # The use case checks the rest with its input model (outcomes, the note's limit and
        # text rule) and who may (`CLOSE_CASE`).
        try:
            await request.app[CASE_CLOSING].close(case_ref, outcome, on, note, principal)
        except NotFound:
            raise not_found(request, "Sagen") from None
        except Forbidden:
            raise forbidden(request, principal) from None
        except Conflict as exc:
            return await _case_page(request, principal, 409, notice=danish_problem(exc))
        except Invalid as exc:
            errors.update(danish_field_errors(exc.errors))
    if errors:
        return await _case_page(request, principal, 422, close_values=values,
                                close_errors=errors, open_form="close")
    raise _back(case_ref, "lukket")


async def reopen_case(request: web.Request) -> web.Response:
    principal = await page_principal(request, *REOPEN_CASE.roles)
    await read_form(request)
    case_ref = request.match_info["case_id"]
    try:
        result = await request.app[CASE_CLOSING].reopen(case_ref, principal)
    except NotFound:
        raise not_found(request, "Sagen") from None
    except Forbidden:
        raise forbidden(request, principal) from None
    except Conflict as exc:
        if exc.code != "case_erased":
            raise forbidden(request, principal) from None
        return await _case_page(request, principal, 409, notice=danish_problem(exc))
    if not result.reopened or result.owner_kept:
        raise _back(case_ref, "genaabnet")
    if principal.role == "consultant":
        # No longer the consultant's case: their list says what became of it.
        raise web.HTTPSeeOther("/my-cases?besked=genaabnet-fordeles")
    raise _back(case_ref, "genaabnet-fordeles")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cases", case_list, name="case_list_page")
    app.router.add_get("/new-case", new_case, name="new_case_page")
    app.router.add_post("/new-case", create_case)
    app.router.add_get("/cases/{case_id}", case_page, name="case_page")
    app.router.add_post("/cases/{case_id}/facts", change_facts)
    app.router.add_post("/cases/{case_id}/owner", change_owner)
    app.router.add_post("/cases/{case_id}/close", close_case)
    app.router.add_post("/cases/{case_id}/reopen", reopen_case)
    add_nav(app, "Sager", "/cases", ["intake", "manager"], order=10)
    add_nav(app, "Ny sag", "/new-case", ["intake"], order=20)
