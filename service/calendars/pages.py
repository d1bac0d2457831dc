"""The calendar import on the staff pages: a status block ("Kalender importeret kl. …, N
aftaler", or the error and when it last worked) with a form to set or remove the calendar.

The block is a partial (`calendars/feed_status.html`) any page can include with the context
`await calendar_import_block(request, principal, consultant_key)` gives: the consultant's week
page does (their own; a manager's for the consultant chosen), and the admin consultants page
may (`calendar_import_rows` gives every consultant's one-line status). The forms post to
`/kalender-import` and `/kalender-import/fjern` and come back to the page they came from.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from service.calendars.imports import FeedIn, FeedStatus
from service.keys import CALENDAR_IMPORTS, CLOCK
from service.platform.auth import Principal
from service.platform.errors import Invalid, NotFound
from service.platform.http import parse_model
from service.platform.pages import not_found, page_principal, read_form
from service.text.danish import danish_date, danish_time
from service.text.errors import danish_error

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLES = ("consultant", "manager")  # and admin
NOTICES = {"sat": "Kalenderen er sat.", "fjernet": "Kalenderen importeres ikke længere."}
# A refused form, by the code of its field error (the use case's codes in the words every
# channel uses, `service.text.errors`), else by its field (url, username, password).
FORM_ERRORS = {
    "url": "Skriv hele adressen, der begynder med https:// (eller webcal://), uden mellemrum.",
    **{code: danish_error("url", code) for code in ("url_host", "url_scheme", "caldav_only")},
    "username": "Brugernavnet er for langt (højst 200 tegn).",
    "password": "Adgangskoden er for lang (højst 500 tegn).",
}


def _when(value: datetime, request: web.Request) -> str:
    """'kl. 10.15' today, else 'kl. 10.15 den 18. marts 2027'."""
    local = value.astimezone(request.app[CLOCK].tz)
    text = f"kl. {danish_time(local)}"
    if local.date() != request.app[CLOCK].today():
        text += f" den {danish_date(local.date())}"
    return text


def status_texts(status: FeedStatus, request: web.Request) -> dict[str, str]:
    """The Danish lines of a status: `summary` (how it went), `error` (why the last try
    failed) and `kind_text`."""
    events = f"{status.events} {'aftale' if status.events == 1 else 'aftaler'}"
    summary, error = "", ""
    if not status.configured:
        summary = "Ingen kalender importeres."
    elif status.last_error:
        tried = _when(status.last_attempt_at, request) if status.last_attempt_at else ""
        error = f"Kalenderen kunne ikke hentes {tried}: {status.last_error}".replace(
            " :", ":")
        summary = (f"Sidst hentet {_when(status.last_success_at, request)} ({events}); de "
                   "aftaler bruges stadig." if status.last_success_at
                   else "Den er endnu ikke hentet.")
    elif status.last_success_at:
        summary = f"Kalender importeret {_when(status.last_success_at, request)}, {events}."
    else:
        summary = "Kalenderen er sat og hentes snart."
    kind = {"ics": "Publiceret kalender (ICS-link)", "caldav": "CalDAV-kalender"}.get(
        status.kind or "", "")
    return {"summary": summary, "error": error, "kind_text": kind}


async def calendar_import_block(request: web.Request, principal: Principal,
                                consultant_key: str) -> dict[str, Any]:
    """The context of `calendars/feed_status.html` for one consultant (their status, the
    form's target and what came back from the last post)."""
    status = await request.app[CALENDAR_IMPORTS].status(principal, consultant_key)
    own = principal.role == "consultant"
    return {"status": status, **status_texts(status, request), "own": own,
            "consultant": consultant_key, "back": request.path_qs,
            "notice": NOTICES.get(request.query.get("kalender", ""), ""),
            "form_error": FORM_ERRORS.get(request.query.get("kalenderfejl", ""), "")}


async def calendar_import_rows(request: web.Request, principal: Principal
                               ) -> dict[str, dict[str, Any]]:
    """Every consultant's status in words (for a manager's list of consultants), by id."""
    statuses = await request.app[CALENDAR_IMPORTS].statuses(principal)
    return {key: {"status": status, **status_texts(status, request)}
            for key, status in statuses.items()}


def _back(form: Any, extra: dict[str, str]) -> web.HTTPSeeOther:
    """Back to the page the form was on (a path of this service only), with a word on how
    it went, at the block."""
    back = form.get("tilbage") if isinstance(form.get("tilbage"), str) else ""
    parts = urlsplit(back or "/week")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or \
            parts.path.startswith("//"):
        parts = urlsplit("/week")
    query = [(k, v) for k, v in parse_qsl(parts.query)
             if k not in ("kalender", "kalenderfejl")]
    target = parts.path + "?" + urlencode(query + list(extra.items())) + "#kalender"
    return web.HTTPSeeOther(target, headers={"Cache-Control": "no-store"})


async def set_calendar(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    key = form.get("konsulent") if principal.role != "consultant" else \
        principal.consultant_key
    body: dict[str, Any] = {"kind": "caldav" if form.get("type") == "caldav" else "ics",
                            "url": str(form.get("url") or "").strip()}
    if body["kind"] == "caldav":
        for field, name in (("username", "brugernavn"), ("password", "adgangskode")):
            value = form.get(name)
            if isinstance(value, str) and value:
                body[field] = value
    try:
        feed = parse_model(FeedIn, body)
        await request.app[CALENDAR_IMPORTS].set_source(principal, str(key or ""), feed)
    except Invalid as exc:
        first = exc.errors[0]
        code = first["code"] if first["code"] in FORM_ERRORS else first["field"]
        raise _back(form, {"kalenderfejl": code if code in FORM_ERRORS else "url"}) from None
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    raise _back(form, {"kalender": "sat"})


async def remove_calendar(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    form = await read_form(request)
    key = form.get("konsulent") if principal.role != "consultant" else \
        principal.consultant_key
    try:
        await request.app[CALENDAR_IMPORTS].remove(principal, str(key or ""))
    except NotFound:
        raise not_found(request, "Konsulenten") from None
    raise _back(form, {"kalender": "fjernet"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/kalender-import", set_calendar, name="calendar_import_set")
    app.router.add_post("/kalender-import/fjern", remove_calendar,
                        name="calendar_import_remove")
