"""`/admin/users`: the admin's page to create users, disable or enable them, and set a new
password (the user's sessions end; a lockout is lifted)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service.keys import CONSULTANTS, STAFF_USERS
from service.platform.errors import Conflict, Invalid, NotFound
from service.platform.pages import (
    ROLE_NAMES,
    add_nav,
    not_found,
    page_principal,
    read_form,
    render,
)
from service.text.errors import danish_field_errors, danish_problem

NOTICES = {"oprettet": "Brugeren er oprettet.", "deaktiveret": "Brugeren er deaktiveret.",
           "aktiveret": "Brugeren er aktiveret igen.",
           "adgangskode": "Den nye adgangskode er gemt; brugerens sessioner er afsluttet."}


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _page(request: web.Request, status: int = 200, errors: dict[str, str] | None = None,
                values: dict[str, str] | None = None, message: str = "",
                password_errors: dict[int, str] | None = None) -> web.Response:
    users = await request.app[STAFF_USERS].list()
    consultants = [("", "– ingen –")] + [
        (key, f"{name} ({key})") for key, name in await request.app[CONSULTANTS].choices()]
    return render(request, "staff/users.html", status=status, users=users,
                  errors=errors or {}, values=values or {}, message=message,
                  notice=NOTICES.get(request.query.get("besked", ""), ""),
                  roles=list(ROLE_NAMES.items()), consultants=consultants,
                  password_errors=password_errors or {},
                  passwords_used=request.app[STAFF_USERS].passwords_used)


async def show(request: web.Request) -> web.Response:
    await page_principal(request, "admin")
    return await _page(request)


async def create(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    form = await read_form(request)
    values = {name: _text(form, name) for name in ("username", "role", "consultant_id")}
    password = form.get("password")
    try:
        await request.app[STAFF_USERS].create(
            values["username"], values["role"], password if isinstance(password, str) else "",
            values["consultant_id"] or None, principal)
    except Invalid as exc:
        return await _page(request, 422, danish_field_errors(exc.errors), values)
    except Conflict as exc:
        return await _page(request, 409, {"username": danish_problem(exc)}, values)
    raise web.HTTPSeeOther("/admin/users?besked=oprettet")


def _user_id(request: web.Request) -> int:
    raw = request.match_info["user_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise not_found(request, "Brugeren")
    return int(raw)


async def set_state(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    form = await read_form(request)
    disable = _text(form, "action") == "disable"
    try:
        await request.app[STAFF_USERS].set_disabled(_user_id(request), disable, principal)
    except NotFound:
        raise not_found(request, "Brugeren") from None
    except Conflict as exc:
        return await _page(request, 409, message=danish_problem(exc))
    raise web.HTTPSeeOther("/admin/users?besked=" + ("deaktiveret" if disable else "aktiveret"))


async def set_password(request: web.Request) -> web.Response:
    principal = await page_principal(request, "admin")
    form = await read_form(request)
    user_id = _user_id(request)
    password = form.get("password")
    try:
        await request.app[STAFF_USERS].set_password(
            user_id, password if isinstance(password, str) else "", principal)
    except NotFound:
        raise not_found(request, "Brugeren") from None
    except Invalid as exc:
        return await _page(request, 422, password_errors={user_id: danish_problem(exc)})
    raise web.HTTPSeeOther("/admin/users?besked=adgangskode")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/users", show, name="admin_users")
    app.router.add_post("/admin/users", create)
    app.router.add_post("/admin/users/{user_id}/state", set_state)
    app.router.add_post("/admin/users/{user_id}/password", set_password)
    add_nav(app, "Brugere", "/admin/users", ["admin"], order=900)
