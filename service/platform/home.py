"""`GET /`: a small Danish page saying what this service is and linking to what exists."""

from __future__ import annotations

from html import escape

from aiohttp import web

from service.keys import CONFIG, DEV_SMTP

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
<li><a href="/login">Log ind</a> – for medarbejdere i jobcentret (sager, import, nøgletal)</li>
<li><a href="/api/openapi.json">API-dokumentation (OpenAPI)</a> – for systemer og medarbejdere
med en API-nøgle</li>
<li><a href="/healthz">Driftsstatus</a></li>
{demo}</ul>
<p>Arbejdsgivere: brug linket i den e-mail, I har fået fra jobcentret.</p>
</main></body></html>
"""


async def home(request: web.Request) -> web.Response:
    # The demo's mailbox and Slack page: staff open them from the menu once logged in.
    demo = ('<li><a href="/demo/mailbox">Demo-post</a> og <a href="/demo/slack">Demo-Slack</a> '
            '– log ind som visitation eller admin; menuen har dem</li>\n'
            if DEV_SMTP in request.app else "")
    html = _PAGE.format(name=escape(request.app[CONFIG].municipality.name), demo=demo)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home, name="home")
