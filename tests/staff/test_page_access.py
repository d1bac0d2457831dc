"""Who may open which staff page: the README's roles table against every page of the app
(issue 16, item 11: `/cases` answered a consultant 200 while the README listed it for intake,
managers and admins only). A consultant's case list shows only the cases they own."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from service.followup.pages import form_url
from service.keys import CONFIG, DB, JOBS, PAGES
from service.platform.auth import ROLES
from service.platform.db.models import OutboxMessage
from tests.meetings.email_cases import body
from tests.support import Api, Staff

README = Path(__file__).resolve().parents[2] / "README.md"
# Pages for everyone (or for no login at all: the calendar feed's secret address; the login
# with the municipality's identity provider, a 404 where none is configured, as here —
# tests/staff/test_oidc_login.py has it).
OPEN_TO_ALL = {"/", "/login", "/calendar/{token}.ics", "/login/oidc", "/login/oidc/callback"}


def readme_pages(app: web.Application) -> dict[str, set[str]]:
    """Each role's pages as the README's roles table states them: its menu entries (by
    their labels) and the paths it names under "may also open"."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("- **Roles**"):]
    labels = {entry.label: entry.href for entry in app[PAGES].nav}
    pages: dict[str, set[str]] = {}
    for role in ROLES:
        row = re.search(rf"^\| {role}\b[^|]*\| ([^|]*) \| ([^|]*) \|$", table, re.M)
        assert row is not None, f"no row for {role} in the README's roles table"
        menu, also = row.groups()
        pages[role] = {labels[label.strip()] for label in menu.split(",")
                       if label.strip() in labels}
        pages[role] |= set(re.findall(r"`(/[^`?]*)`", also))
    return pages


def page_routes(app: web.Application) -> set[str]:
    out = set()
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        # A form's URL opened with GET is sent on to its case page (`form_url`), no page.
        if route.method == "GET" and route.handler is not form_url and not canonical.startswith(
                ("/api", "/slack", "/demo", "/static", "/m/", "/samtale/", "/healthz")):
            out.add(canonical)
    return out


async def _owned_cases(api: Api) -> tuple[str, str]:
    """k-own owned by the consultant who logs in, k-other by another consultant."""
    consultants = [c.id for c in api.client.app[CONFIG].consultants]
    for case_id, owner in (("k-own", consultants[0]), ("k-other", consultants[1])):
        # k-other's citizen has no e-mail: the first message is a letter to print.
        data = body(case_id) if case_id == "k-own" else body(
            case_id, citizen={"name": "Mads Madsen", "address": "Byvej 1, 7400 Herning"})
        resp = await api.client.post("/api/cases", json=data, headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
        resp = await api.client.put(f"/api/cases/{case_id}/owner", headers=api.auth("intake"),
                                    json={"consultant_id": owner, "reason": "test"})
        assert resp.status == 200, await resp.text()
    return "k-own", "k-other"


async def test_every_page_answers_each_role_as_the_readme_says(staff: Staff) -> None:
    app = staff.api.client.app
    own, other = await _owned_cases(staff.api)
    await staff.api.client.app[JOBS].wait_idle()
    async with staff.api.client.app[DB].read() as session:
        letter = (await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.channel == "letter").limit(1))).scalar_one()
    documented = readme_pages(app)
    routes = page_routes(app)
    assert documented["admin"] == set(), "admin: every page (no paths to list)"
    named = set().union(*documented.values())
    assert named <= routes, f"the README names pages that do not exist: {named - routes}"
    for role in ROLES:
        browser = await staff.login(role)
        for route in sorted(routes - OPEN_TO_ALL):
            path = route.replace("{case_id}", own).replace("{consultant_id}", "anna") \
                .replace("{message_id}", str(letter))
            response = await browser.session.get(browser.url(path), allow_redirects=False)
            allowed = role == "admin" or route in documented[role]
            assert response.status == (200 if allowed else 403), (role, path, response.status)
        if role == "consultant":
            # Their own cases only: the list shows no other case, and another case is a 404.
            response, page = await browser.get("/cases")
            assert response.status == 200
            assert f"/cases/{own}" in page and f"/cases/{other}" not in page
            for path in (f"/cases/{other}", f"/my-cases/{other}"):
                response, _ = await browser.get(path)
                assert response.status == 404, path
