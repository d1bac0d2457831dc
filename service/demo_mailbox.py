"""Demo only: a local SMTP sink (aiosmtpd) and a staff page listing what it received, so a
newcomer can open an employer's email and click its link without any real mail server."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from bots.email.render import make_environment
from service.apikeys import authenticate
from service.http import DB

TEMPLATES = Path(__file__).resolve().parent / "templates" / "staff"
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
_env = make_environment(TEMPLATES)
COOKIE = "fasthold_staff_key"


@dataclass
class ReceivedMail:
    number: int
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[str]


@dataclass
class MailSink:
    """Keeps the last `keep` messages in memory."""

    keep: int = 500
    messages: list[ReceivedMail] = field(default_factory=list)
    _count: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        self._count += 1
        self.messages.append(ReceivedMail(
            number=self._count, received_at=datetime.now(), sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos), subject=str(parsed.get("Subject", "")),
            text=text_part.get_content() if text_part is not None else "",
            html=html_part.get_content() if html_part is not None else None,
            attachments=[p.get_filename() or "" for p in parsed.iter_attachments()]))
        del self.messages[:-self.keep]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoSmtp:
    """The aiosmtpd controller on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.sink = MailSink()
        self.port = _free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


DEMO_SMTP = web.AppKey("demo_smtp", DemoSmtp)


async def _staff(request: web.Request) -> bool:
    key = request.query.get("key") or request.cookies.get(COOKIE)
    if not key:
        return False
    async with request.app[DB].read() as session:
        return await authenticate(session, key) is not None


async def mailbox(request: web.Request) -> web.Response:
    if not await _staff(request):
        return web.Response(status=401, content_type="text/html", charset="utf-8", text=(
            "<!doctype html><html lang=da><meta charset=utf-8><title>Log ind</title>"
            "<p>Demo-postkassen er kun for medarbejdere. Åbn den med "
            "<code>/demo/mailbox?key=&lt;API-nøgle&gt;</code> (nøglerne står i "
            "<code>var/demo-api-keys-*.txt</code>).</p></html>"))
    sink = request.app[DEMO_SMTP].sink
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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo/mailbox", mailbox, name="demo_mailbox")
