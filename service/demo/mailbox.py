"""Demo only: the staff page listing what the local SMTP sink (`bots.email.dev_sink`)
received, so a newcomer can open an employer's email and click its link."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from bots.email.dev_sink import ReceivedMail
from bots.email.render import make_environment
from service.clock import Clock
from service.keys import AUTH, DEMO_SESSIONS, DEV_SMTP
from service.platform.auth import Principal
from service.platform.http import Handler
from service.platform.pages import add_nav, current_login
from service.text.danish import FILTERS, GLOBALS

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = make_environment(TEMPLATES, FILTERS, GLOBALS)
COOKIE = "fasthold_demo_session"
# The mailbox shows what employers and citizens are sent: for intake staff (and admins).
ROLES = ("intake", "admin")


class MailboxSessions:
    """Who opened the mailbox: the cookie carries a random session id, never the API key;
    the session lives here, in memory, until it expires (or the process ends)."""

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(hours=8)) -> None:
        self.clock = clock
        self.ttl = ttl
        self._sessions: dict[str, tuple[Principal, datetime]] = {}

    def open(self, principal: Principal) -> str:
        now = self.clock.utcnow()
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = (principal, now + self.ttl)
        return session_id

    def principal(self, session_id: str | None) -> Principal | None:
        found = self._sessions.get(session_id or "")
        if found is None:
            return None
        if found[1] <= self.clock.utcnow():
            del self._sessions[session_id or ""]
            return None
        return found[0]


def login_page(page: str, path: str) -> str:
    """The demo page's answer to a visitor without a session (401): a page of its own with a
    main region and a heading, saying how to open it."""
    return ("<!doctype html><html lang=da><head><meta charset=utf-8>"
            "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
            f"<title>Log ind – {page}</title></head><body><main>"
            f"<h1>Log ind for at se {page}</h1>"
            f"<p>{page} er kun for visitationen. Åbn den med "
            f"<code>{path}?key=&lt;API-nøgle&gt;</code> (nøglerne står i "
            f"<code>var/demo-api-keys-*.txt</code>), eller <a href=\"/login?next={path}\">"
            "log ind</a> som visitator.</p></main></body></html>")


_LOGIN = login_page("Demo-postkassen", "/demo/mailbox")


def _staff(request: web.Request) -> Principal | None:
    """The principal of the request's mailbox session, if it has a live one."""
    return request.app[DEMO_SESSIONS].principal(request.cookies.get(COOKIE))


async def from_staff_login(request: web.Request) -> None:
    """A logged-in staff user (intake, admin) opens the demo pages without an API key: their
    login is exchanged for a demo session (raises the redirect that sets its cookie)."""
    login = await current_login(request)
    if login is not None and login.principal.role in ROLES:
        moved = web.HTTPSeeOther(request.rel_url)
        moved.set_cookie(COOKIE, request.app[DEMO_SESSIONS].open(login.principal),
                         httponly=True, samesite="Strict", path="/demo")
        raise moved


def add_demo_nav(app: web.Application) -> None:
    """The demo's own pages in the staff menu of those who may open them."""
    add_nav(app, "Demo-post", "/demo/mailbox", ROLES, order=95)
    add_nav(app, "Demo-Slack", "/demo/slack", ROLES, order=96)


async def mailbox(request: web.Request) -> web.StreamResponse:
    if "key" in request.query:
        # Log in: the key is exchanged for a session once, then dropped from the address.
        principal = await request.app[AUTH].principal(request.query["key"])
        if principal is None or principal.role not in ROLES:
            return web.Response(status=401 if principal is None else 403, text=_LOGIN,
                                content_type="text/html", charset="utf-8")
        kept = {k: v for k, v in request.query.items() if k != "key"}
        moved = web.HTTPSeeOther(request.rel_url.with_query(kept))
        moved.set_cookie(COOKIE, request.app[DEMO_SESSIONS].open(principal),
                         httponly=True, samesite="Strict", path="/demo")
        raise moved
    if _staff(request) is None:
        await from_staff_login(request)
        return web.Response(status=401, content_type="text/html", charset="utf-8",
                            text=_LOGIN)
    sink = request.app[DEV_SMTP].sink
    number = request.query.get("nr")
    selected = next((m for m in sink.messages if str(m.number) == number), None)
    html = _env.get_template("mailbox.html").render(
        messages=list(reversed(sink.messages)), selected=selected)
    response = web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "frame-src 'self'; form-action 'self'",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
    return response


async def html_part(request: web.Request) -> web.Response:
    """A mail's HTML part as the recipient sees it (shown in a sandboxed frame)."""
    mail = _mail(request)
    if mail is None or mail.html is None:
        return web.Response(status=404, text="Ingen HTML-del.", charset="utf-8")
    return web.Response(text=mail.html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "no-store"})


async def attachment(request: web.Request) -> web.Response:
    """A mail's attachment (e.g. the meeting's .ics), downloaded as it was sent."""
    mail = _mail(request)
    raw = request.match_info["index"]
    index = int(raw) - 1 if raw.isascii() and raw.isdigit() else -1
    if mail is None or not 0 <= index < len(mail.attachments):
        return web.Response(status=404, text="Intet bilag.", charset="utf-8")
    part = mail.attachments[index]
    name = part.filename.replace('"', "")
    return web.Response(body=part.data, content_type=part.content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


def _mail(request: web.Request) -> ReceivedMail | None:
    number = request.match_info["number"]
    return next((m for m in request.app[DEV_SMTP].sink.messages if str(m.number) == number),
                None)


def _staff_only(handler: Handler) -> Handler:
    async def checked(request: web.Request) -> web.StreamResponse:
        if _staff(request) is None:
            return web.Response(status=401, text="Kun for medarbejdere.", charset="utf-8")
        return await handler(request)

    return checked


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo/mailbox", mailbox, name="demo_mailbox")
    app.router.add_get("/demo/mailbox/{number}/html", _staff_only(html_part))
    app.router.add_get("/demo/mailbox/{number}/bilag/{index}", _staff_only(attachment))
