"""`/login` and `/logout`: the staff login form and the end of a session.

The login form has its own CSRF token (there is no session yet): a random value in a
short-lived HttpOnly cookie that the form must repeat. A successful login always starts a new
session (a session id planted in the browser beforehand is ended, never promoted); the
session cookie is HttpOnly, SameSite=Lax, and Secure when the request came over https.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from service.keys import CONFIG, OIDC, PAGES, STAFF_SESSIONS, STAFF_USERS
from service.platform.pages import current_login, posted_form, read_form, render, same_origin
from service.platform.sessions import SESSION_COOKIE, same_token
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
               username: str = "", notice: str = "") -> web.Response:
    """The login page: the password form (unless `[staff_login.oidc] password_login` is
    false) and, when the municipality's identity provider is set up, its button."""
    token = secrets.token_urlsafe(32)
    oidc = request.app[CONFIG].staff_login.oidc
    next_path = safe_next(request.query.get("next")) or ""
    response = render(request, "staff/login.html", status=status, login_token=token,
                      message=message, username=username, notice=notice, next=next_path,
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
    value = await request.app[STAFF_SESSIONS].start(
        user_id, replaces=request.cookies.get(SESSION_COOKIE))
    found = await request.app[STAFF_SESSIONS].find(value)
    role = found.principal.role if found is not None else ""
    target = safe_next(next_path) or home_for(request, role)
    response = web.HTTPSeeOther(target, headers={"Cache-Control": "no-store"})
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="Lax",
                        secure=request.secure, path="/")
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def show(request: web.Request) -> web.Response:
    login = await current_login(request)
    if login is not None:
        raise web.HTTPFound(safe_next(request.query.get("next"))
                            or home_for(request, login.principal.role))
    return login_page(request, notice=NOTICES.get(request.query.get("besked", ""), ""))


async def submit(request: web.Request) -> web.Response:
    form = await posted_form(request)
    token = form.get("csrf_token")
    if not same_origin(request) or not same_token(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), token if isinstance(token, str)
            else None):
        return login_page(request, 403, "Formularen var udløbet. Prøv igen.")
    oidc = request.app[CONFIG].staff_login.oidc
    if oidc is not None and not oidc.password_login:
        return login_page(request, 403, "Log ind med kommunens login.")
    username = form.get("username")
    password = form.get("password")
    username = username if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    if not username.strip() or not password:
        return login_page(request, 422, "Skriv både brugernavn og adgangskode.",
                           username=username[:64])
    address = request.remote or "unknown"
    result = await request.app[STAFF_USERS].login(username, password, address)
    if result.user_id is None:
        return login_page(request, 429 if result.locked else 401, result.message,
                           username=username[:64])
    next_value = form.get("next")
    raise await logged_in(request, result.user_id,
                          next_value if isinstance(next_value, str) else None)


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
