"""`GET /`: a small Danish page saying what this service is and linking to what exists."""

from __future__ import annotations

from html import escape

from aiohttp import web

from service.keys import CONFIG, DEV_SMTP, PAGES
from service.platform.pages import current_login

_PAGE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fasthold – {name}</title>
<link rel="stylesheet" href="/static/staff.css">
<style>main{{max-width:40rem}}</style></head>
<body>
<header class="top"><div class="brand"><a href="/">fasthold</a> <span class="muni">{name}</span>
</div></header>
<main id="indhold"><h1>fasthold – {name}</h1>
<p>Fastholdelse af sygemeldte i job efter modellen „Sammen om fastholdelse“: første
opfølgningsmøde på arbejdspladsen inden udgangen af fraværsuge 8.</p>
<ul>
{staff}
<li><a href="/api/openapi.json">API-dokumentation (OpenAPI)</a> – for systemer og medarbejdere
med en API-nøgle</li>
<li><a href="{health}">Driftsstatus</a></li>
{demo}</ul>
<p>Arbejdsgivere: brug linket i den e-mail, I har fået fra jobcentret.</p>
{links}</main></body></html>
"""


async def home(request: web.Request) -> web.Response:
    # The demo's mailbox and Slack page: staff open them from the menu once logged in.
    demo = ('<li><a href="/demo/mailbox">Demo-post</a> og <a href="/demo/slack">Demo-Slack</a> '
            '– log ind som visitation eller admin; menuen har dem</li>\n'
            if DEV_SMTP in request.app else "")
    # A logged-in staff member is sent on to their own first page, not to the login.
    login = await current_login(request) if PAGES in request.app else None
    entries = request.app[PAGES].nav_for(login.principal.role) if login is not None else []
    staff = (f'<li>Du er logget ind som {escape(login.principal.name)} – gå til '
             f'<a href="{escape(entries[0].href)}">{escape(entries[0].label)}</a></li>\n'
             if login is not None and entries else
             '<li><a href="/login">Log ind</a> – for medarbejdere i jobcentret (sager, import, '
             'nøgletal)</li>\n')
    # An admin's is the page of the operator's figures; anyone else's the load balancer's probe.
    health = "/admin/drift" if login is not None and login.principal.role == "admin" \
        else "/healthz"
    jobcentre = request.app[CONFIG].jobcentre
    links = " · ".join(f'<a href="{escape(url)}">{words}</a>' for url, words in (
        (jobcentre.privacy_url, "Sådan behandler vi personoplysninger"),
        (jobcentre.accessibility_url, "Tilgængelighedserklæring")) if url)
    html = _PAGE.format(name=escape(request.app[CONFIG].municipality.name), demo=demo,
                        staff=staff, health=health, links=f"<p>{links}</p>\n" if links else "")
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
