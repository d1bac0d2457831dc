"""The staff pages' foundation, shared by every area that has pages.

- `await page_principal(request, *roles)`: the logged-in staff user (from the session cookie);
  without a valid session a redirect to `/login?next=<path>`; a role not in `roles` a Danish
  403 page. An admin may open every page.
- CSRF: every form carries `csrf_token` (`csrf_token(request)`, also in every render's
  context); `await read_form(request)` answers 403 unless it matches the session's token.
- Forms: every page reads its posted form through `read_form` (logged in) or `posted_form`
  (no login yet): a body that cannot be read, or a field with text no database can store
  (the API's text rules), is a Danish 400 page naming the field — never a 500.
- Long lists are paged: `page_number(request)` reads `?side=`, `service.platform.paging`'s
  `page_count` counts the pages, and `platform/pager.html`'s `pager` macro links the previous
  and next page.
- `render(request, "area/name.html", **context)`: one Jinja2 environment (autoescaped) over
  the areas' template directories (`{area: Path}`, given by service/app.py), the Danish filters
  and globals of service/text/danish.py, and the navigation for the user's role. Areas add
  their navigation entries with `add_nav` (no hard-coded menu).

Pages are server-rendered and need no JavaScript; nothing is loaded from another host (the
style sheet is served from `/static/staff.css`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from jinja2 import BytecodeCache, Environment, FileSystemLoader, PrefixLoader, StrictUndefined
from jinja2.bccache import Bucket
from multidict import MultiDictProxy

from service.clock import DEFAULT_TIMEZONE, zone
from service.keys import CONFIG, PAGES, SESSION_RAN_OUT, STAFF_LOGIN, STAFF_SESSIONS
from service.platform.auth import Principal
from service.platform.db.engine import database_unavailable
from service.platform.http import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_TEXT,
    Handler,
    UnreadableForm,
    read_posted_form,
    text_problem,
    unavailable_logged,
)
from service.platform.resend import resend_redirect
from service.platform.sessions import SESSION_COOKIE, StaffLogin, same_token
from service.text.danish import FILTERS, GLOBALS, danish_number, short_day

PLATFORM_TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

ROLE_NAMES = {"intake": "Visitation", "consultant": "Fastholdelseskonsulent",
              "manager": "Leder", "admin": "Administrator"}

# Pages hold personal data: never cached, never framed, nothing from another host, no script.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


@dataclass(frozen=True)
class NavEntry:
    """One entry of the top navigation, shown to `roles` (and always to admins)."""

    label: str
    href: str
    roles: frozenset[str]
    order: int = 100

    def shown_to(self, role: str) -> bool:
        return role == "admin" or role in self.roles


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, whichever app loads them (a deployment of many
    municipalities builds an app each): Jinja2 keeps each compiled template under its name and
    checks it against its source's checksum before using it."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._code.clear()


COMPILED_TEMPLATES = CompiledTemplates()


class Pages:
    """The Jinja2 environment of the staff pages and the navigation registry."""

    def __init__(self, templates: Mapping[str, Path], timezone: str = DEFAULT_TIMEZONE
                 ) -> None:
        loaders = {"platform": FileSystemLoader(str(PLATFORM_TEMPLATES))}
        loaders.update({area: FileSystemLoader(str(path)) for area, path in templates.items()})
        self.env = Environment(loader=PrefixLoader(loaders), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True, bytecode_cache=COMPILED_TEMPLATES)
        self.env.filters.update(FILTERS)
        self.env.globals.update(GLOBALS)
        self.env.globals["role_name"] = lambda role: ROLE_NAMES.get(role, role)
        self.env.filters["kort"] = short_day
        self.env.filters["tal"] = danish_number
        local = zone(timezone)
        # An instant (aware datetime, or ISO text with offset) as the municipality's
        # wall-clock time.
        self.env.filters["lokal"] = lambda value: (
            datetime.fromisoformat(value) if isinstance(value, str) else value
        ).astimezone(local)
        self.nav: list[NavEntry] = []

    def add_nav(self, label: str, href: str, roles: Sequence[str], order: int = 100) -> None:
        self.nav.append(NavEntry(label, href, frozenset(roles), order))
        self.nav.sort(key=lambda entry: entry.order)

    def nav_for(self, role: str) -> list[NavEntry]:
        return [entry for entry in self.nav if entry.shown_to(role)]

    def render_text(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)


# A long list's page is `?side=N` (1 when absent); `platform/pager.html`'s `pager` links them.
PAGE_PARAMETER = "side"


def page_number(request: web.Request) -> int:
    """The page `?side=` asks for: a whole number from 1 (anything else, or none, is 1)."""
    text = request.query.get(PAGE_PARAMETER, "1")
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 6 \
        and int(text) > 0 else 1


def add_nav(app: web.Application, label: str, href: str, roles: Sequence[str],
            order: int = 100) -> None:
    """An area's navigation entry (e.g. `add_nav(app, "Sager", "/cases", ["intake"])`)."""
    app[PAGES].add_nav(label, href, roles, order)


async def current_login(request: web.Request) -> StaffLogin | None:
    """The login behind the request's session cookie (looked up once per request)."""
    if STAFF_LOGIN not in request:
        request[STAFF_LOGIN], request[SESSION_RAN_OUT] = \
            await request.app[STAFF_SESSIONS].find_or_expired(request.cookies.get(SESSION_COOKIE))
    login: StaffLogin | None = request[STAFF_LOGIN]
    return login


def login_redirect(request: web.Request) -> web.HTTPException:
    """To the login page, and back here after it. A session that ran out says so there; a
    form sent after it ran out goes along (`service.platform.resend`), so what was typed
    is not lost."""
    ran_out = request.get(SESSION_RAN_OUT)
    if ran_out is not None and request.method == "POST":
        kept = resend_redirect(request, ran_out)
        if kept is not None:
            return kept
    query = "next=" + quote(request.path_qs, safe="")
    if ran_out is not None:
        query += "&besked=udloebet"
    return web.HTTPFound("/login?" + query, headers={"Cache-Control": "no-store"})


async def page_principal(request: web.Request, *roles: str) -> Principal:
    """The logged-in staff user. Without a valid session: redirect to the login page (and
    back here after it). A role outside `roles` (when given): a Danish 403 page."""
    login = await current_login(request)
    if login is None:
        raise login_redirect(request)
    principal = login.principal
    if roles and principal.role not in roles and principal.role != "admin":
        raise forbidden(request, principal)
    return principal


def csrf_token(request: web.Request) -> str:
    """The session's CSRF token, for a form's hidden `csrf_token` field (after
    `page_principal`)."""
    login: StaffLogin | None = request.get(STAFF_LOGIN)
    return login.csrf_token if login is not None else ""


def same_origin(request: web.Request) -> bool:
    """A browser's POST names where the form came from; it must be this service."""
    origin = request.headers.get("Origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.host


async def check_csrf(request: web.Request, given: str | None) -> None:
    """For forms read another way (e.g. a file upload read as a stream): 403 unless `given`
    is the session's CSRF token and the form came from our own pages."""
    login = await current_login(request)
    if login is None:
        raise login_redirect(request)
    if not same_origin(request) or not same_token(login.csrf_token, given):
        raise csrf_refused(request)


async def posted_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form of any page (logged in or not): a body that cannot be read (broken
    multipart, an unknown charset) or a field with text no database can store (a NUL) is a
    Danish 400 page, never a 500. Every page reads its form here or through `read_form`."""
    try:
        return await read_posted_form(request)
    except UnreadableForm as exc:
        await current_login(request)  # the menu, when someone is logged in
        raise form_unreadable(request, exc) from None


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form of a logged-in user; 403 (a Danish page) unless its `csrf_token`
    matches the session's and the form came from our own pages."""
    login = await current_login(request)
    if login is None:
        raise login_redirect(request)
    form = await posted_form(request)
    given = form.get("csrf_token")
    if not same_origin(request) or not same_token(login.csrf_token,
                                                  given if isinstance(given, str) else None):
        raise csrf_refused(request)
    return form


def _context(request: web.Request, context: dict[str, Any]) -> dict[str, Any]:
    login: StaffLogin | None = request.get(STAFF_LOGIN)
    principal = login.principal if login is not None else None
    nav = request.app[PAGES].nav_for(principal.role) if principal is not None else []
    path = request.path
    return {"principal": principal, "csrf_token": login.csrf_token if login else "",
            "nav": [{"label": entry.label, "href": entry.href,
                     "current": path == entry.href or path.startswith(entry.href + "/")}
                    for entry in nav],
            "municipality": request.app[CONFIG].municipality.name,
            "jobcentre": request.app[CONFIG].jobcentre,
            "request_path": request.path_qs, **context}


def render_html(request: web.Request, name: str, **context: Any) -> str:
    return request.app[PAGES].render_text(name, **_context(request, context))


def render(request: web.Request, name: str, status: int = 200, **context: Any
           ) -> web.Response:
    """A page from the template `name` ("area/name.html"), with `principal`, `csrf_token`,
    `nav` and `municipality` in its context."""
    return web.Response(text=render_html(request, name, **context), status=status,
                        content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


async def render_off_loop(request: web.Request, name: str, status: int = 200,
                          **context: Any) -> web.Response:
    """Like `render`, for a page so large (a 20,000-row import preview) that rendering it
    would hold up the event loop: the template runs in a worker thread."""
    values = _context(request, context)
    html = await asyncio.to_thread(request.app[PAGES].render_text, name, **values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=PAGE_HEADERS)


def _error(request: web.Request, kind: type[web.HTTPException], heading: str, text: str
           ) -> web.HTTPException:
    html = render_html(request, "platform/error.html", heading=heading, text=text,
                       status=kind.status_code)
    return kind(text=html, content_type="text/html", headers=PAGE_HEADERS)


def forbidden(request: web.Request, principal: Principal | None = None) -> web.HTTPException:
    """A Danish 403 page (raise it)."""
    return _error(request, web.HTTPForbidden, "Du har ikke adgang til denne side",
                  "Siden hører ikke til din rolle. Brug menuen øverst til dine egne sider, "
                  "eller spørg en administrator, hvis du mener, du skal have adgang.")


def csrf_refused(request: web.Request) -> web.HTTPException:
    return _error(request, web.HTTPForbidden, "Handlingen blev afvist",
                  "Formularen manglede sit sikkerhedsfelt eller var udløbet. Gå tilbage, "
                  "genindlæs siden og prøv igen.")


def form_unreadable(request: web.Request, exc: UnreadableForm) -> web.HTTPException:
    """A Danish 400 page for a form that cannot be read, naming the field when one is at
    fault (raise it)."""
    if exc.field:
        text = (f"Feltet «{exc.field}» indeholder tegn, som ikke kan gemmes (fx et nul-tegn). "
                "Gå tilbage, ret teksten og prøv igen.")
    else:
        text = ("Det, der blev sendt, kunne ikke læses som en formular. Gå tilbage, "
                "genindlæs siden og prøv igen.")
    return _error(request, web.HTTPBadRequest, "Formularen kunne ikke læses", text)


def not_found(request: web.Request, what: str = "Siden") -> web.HTTPException:
    """A Danish 404 page (raise it); also for a case the user may not see."""
    return _error(request, web.HTTPNotFound, f"{what} findes ikke",
                  f"{what} findes ikke, eller du har ikke adgang til den.")


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outside the API, aiohttp's own plain-text answers (no such page, a method the page
    does not take, a form too large) become Danish pages, and so does a database that cannot
    be reached (503 with Retry-After, logged in one line). A page whose path holds text no
    database can store (a NUL) does not exist: 404 (employer links judge their own tokens;
    pages ignore query values they cannot use)."""
    try:
        if not request.path.startswith(("/api", "/m/")):
            _check_path(request)
        return await handler(request)
    except web.HTTPException as exc:
        if request.path.startswith("/api") or exc.content_type == "text/html" or \
                exc.status not in _PLAIN_ERRORS:
            raise
        heading, text = _PLAIN_ERRORS[exc.status]
        await current_login(request)  # the menu, when someone is logged in
        headers = dict(PAGE_HEADERS)
        if "Allow" in exc.headers:
            headers["Allow"] = exc.headers["Allow"]
        return web.Response(text=render_html(request, "platform/error.html", heading=heading,
                                             text=text, status=exc.status),
                            status=exc.status, content_type="text/html", headers=headers)
    except Exception as exc:
        if request.path.startswith("/api") or not database_unavailable(exc):
            raise
        unavailable_logged(request, exc)
        return web.Response(text=render_html(
            request, "platform/error.html", heading="Siden kan ikke vises lige nu",
            text=UNAVAILABLE_TEXT, status=503), status=503, content_type="text/html",
            headers={**PAGE_HEADERS, "Retry-After": str(RETRY_AFTER_SECONDS)})


def _check_path(request: web.Request) -> None:
    if any(text_problem(value) for value in request.match_info.values()):
        raise web.HTTPNotFound()


_PLAIN_ERRORS = {
    404: ("Siden findes ikke", "Adressen findes ikke. Brug menuen, eller gå til forsiden."),
    405: ("Siden kan ikke bruges sådan", "Siden tager ikke imod denne slags forespørgsel. "
          "Gå tilbage og prøv igen fra formularen."),
    413: ("Formularen er for stor", "Det, der blev sendt, er for stort. Prøv med mindre "
          "tekst eller en mindre fil."),
}


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "staff.css", headers={
        "Cache-Control": "public, max-age=3600", "Content-Type": "text/css; charset=utf-8"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/static/staff.css", stylesheet, name="staff_css")
