"""`/login` and `/logout`: the staff login form and the end of a session.

The login form has its own CSRF token (there is no session yet): a random value in a
short-lived HttpOnly cookie that the form must repeat. A successful login always starts a new
session (a session id planted in the browser beforehand is ended, never promoted); the
session cookie is HttpOnly, SameSite=Lax, and Secure when the request came over https.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from service.keys import CONFIG, OIDC, PAGES, STAFF_LOGIN, STAFF_SESSIONS, STAFF_USERS
from service.platform.pages import current_login, posted_form, read_form, render, same_origin
from service.platform.resend import KeptForm, decode, keep, kept_user
from service.platform.sessions import SESSION_COOKIE, StaffLogin, same_token
from service.staff.oidc import PROVIDER_SESSION_COOKIE

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOGIN_CSRF_COOKIE = "fasthold_login_csrf"
LOGGED_OUT = "/login?besked=logget-ud"
NOTICES = {"logget-ud": "Du er logget ud.",
           "udloebet": "Din session er udløbet. Log ind igen."}


def safe_next(value: str | None) -> str | None:
    """A path on this site to go to after login, or None (never another host)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ch in value for ch in "\r\n\t\\") or len(value) > 2000:
        return None
    return value


def home_for(request: web.Request, role: str) -> str:
    """A role's first page: its first navigation entry."""
    entries = request.app[PAGES].nav_for(role)
    return entries[0].href if entries else "/"


def login_page(request: web.Request, status: int = 200, message: str = "",
               username: str = "", notice: str = "", kept: KeptForm | None = None,
               next_path: str | None = None) -> web.Response:
    """The login page: the password form (unless `[staff_login.oidc] password_login` is
    false) and, when the municipality's identity provider is set up, its button. `kept`: a
    form sent after its session ran out, kept in the password form to send on after it."""
    token = secrets.token_urlsafe(32)
    oidc = request.app[CONFIG].staff_login.oidc
    next_path = safe_next(next_path or request.query.get("next")) or ""
    if kept is not None and oidc is not None and not oidc.password_login:
        kept = None  # the provider's login cannot carry it
    response = render(request, "staff/login.html", status=status, login_token=token,
                      message=message, username=username, notice=notice, next=next_path,
                      kept=kept,
                      oidc_button=oidc.button if oidc else "",
                      oidc_link="/login/oidc" + (f"?{urlencode({'next': next_path})}"
                                                 if next_path else ""),
                      password_login=oidc is None or oidc.password_login)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Lax",
                        secure=request.secure, path="/login", max_age=3600)
    return response


async def logged_in(request: web.Request, user_id: int, next_path: str | None
                    ) -> web.HTTPSeeOther:
    """A new session for the user (one planted in the browser before is ended, never
    promoted), its cookie, and the way on: `next_path` or the role's first page."""
    value, found = await _new_session(request, user_id)
    return _redirect_on(request, value, found, next_path)


def _redirect_on(request: web.Request, value: str, login: StaffLogin | None,
                 next_path: str | None) -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(_way_on(request, login, next_path),
                                headers={"Cache-Control": "no-store"})
    _give_session(request, response, value)
    return response


async def _new_session(request: web.Request, user_id: int) -> tuple[str, StaffLogin | None]:
    """The new session's cookie value and its login."""
    sessions = request.app[STAFF_SESSIONS]
    value = await sessions.start(user_id, replaces=request.cookies.get(SESSION_COOKIE))
    return value, await sessions.find(value)


def _way_on(request: web.Request, login: StaffLogin | None, next_path: str | None) -> str:
    return safe_next(next_path) or home_for(request, login.principal.role if login else "")


def _give_session(request: web.Request, response: web.StreamResponse, value: str) -> None:
    """The session's cookie on `response`; the login form's own CSRF cookie gone."""
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="Lax",
                        secure=request.secure, path="/")
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")


async def show(request: web.Request) -> web.Response:
    login = await current_login(request)
    if login is not None:
        raise web.HTTPFound(safe_next(request.query.get("next"))
                            or home_for(request, login.principal.role))
    return login_page(request, notice=NOTICES.get(request.query.get("besked", ""), ""))


async def submit(request: web.Request) -> web.Response:
    form = await posted_form(request)
    sent_to = safe_next(request.query.get("sendt"))
    if sent_to is not None:
        # A form sent after its session ran out, sent on here by the browser (307; the
        # login form itself posts to /login without a query).
        return _form_to_keep(request, form, sent_to)
    token = form.get("csrf_token")
    kept = _kept(request, form)
    if not same_origin(request) or not same_token(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), token if isinstance(token, str)
            else None):
        return login_page(request, 403, "Formularen var udløbet. Prøv igen.", kept=kept,
                          next_path=_text(form, "next"))
    oidc = request.app[CONFIG].staff_login.oidc
    if oidc is not None and not oidc.password_login:
        return login_page(request, 403, "Log ind med kommunens login.")
    username = form.get("username")
    password = form.get("password")
    username = username if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    if not username.strip() or not password:
        return login_page(request, 422, "Skriv både brugernavn og adgangskode.",
                          username=username[:64], kept=kept, next_path=_text(form, "next"))
    address = request.remote or "unknown"
    result = await request.app[STAFF_USERS].login(username, password, address)
    if result.user_id is None:
        return login_page(request, 429 if result.locked else 401, result.message,
                          username=username[:64], kept=kept, next_path=_text(form, "next"))
    next_value = _text(form, "next")
    if kept is not None and kept_user(request, kept.token) == result.user_id:
        return await _send_on(request, result.user_id, kept, next_value)
    raise await logged_in(request, result.user_id, next_value)


def _text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _form_to_keep(request: web.Request, form: MultiDictProxy[Any], sent_to: str
                  ) -> web.Response:
    """The login page for a form whose session ran out: kept to send on after logging in,
    when it came from our own pages for a user whose session it was."""
    token = request.query.get("for")
    kept = keep(form, sent_to, token or "") \
        if same_origin(request) and kept_user(request, token) is not None else None
    if kept is None:
        return login_page(request, 401, notice=NOTICES["udloebet"])
    notice = ("Din session var udløbet, så formularen blev ikke sendt. Log ind igen – det, "
              "du skrev, er gemt, og du kan sende det bagefter.")
    if kept.files_dropped:
        notice += " En valgt fil skal dog vælges igen."
    return login_page(request, 401, notice=notice, kept=kept)


def _kept(request: web.Request, form: MultiDictProxy[Any]) -> KeptForm | None:
    """The kept form the login form carries, if any."""
    action, token, text = (_text(form, name) for name in ("kept_action", "kept_for", "kept"))
    action = safe_next(action)
    if action is None or token is None or text is None:
        return None
    return decode(action, token, text)


async def _send_on(request: web.Request, user_id: int, kept: KeptForm,
                   next_path: str | None) -> web.Response:
    """Logged in again as the user whose form it was: a page that sends it on with the new
    session's CSRF token when they press its button."""
    value, login = await _new_session(request, user_id)
    if login is None:
        raise _redirect_on(request, value, login, next_path)
    request[STAFF_LOGIN] = login
    response = render(request, "staff/resend.html", kept=kept,
                      back=_way_on(request, login, next_path), resend_token=login.csrf_token)
    response.headers["Cache-Control"] = "no-store"
    _give_session(request, response, value)
    return response


async def logout(request: web.Request) -> web.Response:
    await read_form(request)
    login = await current_login(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if login is not None and cookie:
        await request.app[STAFF_USERS].logout(cookie, login.principal)
    target = LOGGED_OUT
    client = request.app.get(OIDC)
    if client is not None and request.cookies.get(PROVIDER_SESSION_COOKIE):
        # logged in through the municipality's provider: out of its session too (a shared
        # computer's next user must log in themselves), and back to the login page
        target = await client.logout_url(request.app[CONFIG].mail.link(LOGGED_OUT)) \
            or LOGGED_OUT
    response = web.HTTPSeeOther(target, headers={"Cache-Control": "no-store"})
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(PROVIDER_SESSION_COOKIE, path="/")
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", show, name="login")
    app.router.add_post("/login", submit)
    app.router.add_post("/logout", logout, name="logout")
