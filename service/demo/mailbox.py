"""Demo only: the staff page listing what the local SMTP sink (`bots.email.dev_sink`)
received, so a newcomer can open an employer's email and click its link."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bots.email.dev_sink import ReceivedMail
from bots.email.render import make_environment
from service.keys import AUTH, DEV_SMTP
from service.platform.http import Handler
from service.text.danish import FILTERS, GLOBALS

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = make_environment(TEMPLATES, FILTERS, GLOBALS)
COOKIE = "fasthold_staff_key"


async def _staff(request: web.Request) -> bool:
    key = request.query.get("key") or request.cookies.get(COOKIE)
    if not key:
        return False
    return await request.app[AUTH].principal(key) is not None


async def mailbox(request: web.Request) -> web.Response:
    if not await _staff(request):
        return web.Response(status=401, content_type="text/html", charset="utf-8", text=(
            "<!doctype html><html lang=da><meta charset=utf-8><title>Log ind</title>"
            "<p>Demo-postkassen er kun for medarbejdere. Åbn den med "
            "<code>/demo/mailbox?key=&lt;API-nøgle&gt;</code> (nøglerne står i "
            "<code>var/demo-api-keys-*.txt</code>).</p></html>"))
    sink = request.app[DEV_SMTP].sink
    number = request.query.get("nr")
    selected = next((m for m in sink.messages if str(m.number) == number), None)
    html = _env.get_template("mailbox.html").render(
        messages=list(reversed(sink.messages)), selected=selected)
    response = web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "frame-src 'self'; form-action 'self'",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
    if "key" in request.query:
        response.set_cookie(COOKIE, request.query["key"], httponly=True, samesite="Strict",
                            path="/demo")
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
        if not await _staff(request):
            return web.Response(status=401, text="Kun for medarbejdere.", charset="utf-8")
        return await handler(request)

    return checked


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo/mailbox", mailbox, name="demo_mailbox")
    app.router.add_get("/demo/mailbox/{number}/html", _staff_only(html_part))
    app.router.add_get("/demo/mailbox/{number}/bilag/{index}", _staff_only(attachment))
