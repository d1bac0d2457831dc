"""`/deliveries`: what needs a person's hand in outgoing messages — failed deliveries (e-mail,
Slack, any channel) with "Send igen", and invitations employers have not answered. For
intake, managers and admins; "Send igen" goes through the outbox's retry use case."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from service.keys import CLOCK, OUTBOX_SERVICE, READ_AUDIT, UNANSWERED
from service.platform.errors import Conflict, NotFound
from service.platform.pages import add_nav, not_found, page_principal, read_form, render
from service.text.case_words import CHANNEL, MESSAGE_KIND, word
from service.text.danish import danish_date, danish_slot, danish_time

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLES = ("intake", "manager")  # and admin
NOTICES = {"sendes-igen": "Beskeden sendes igen nu.",
           "ikke-fejlet": "Beskeden er ikke længere fejlet; den er ikke sendt igen."}


def _when(iso: str, tz: tzinfo) -> str:
    moment = datetime.fromisoformat(iso).astimezone(tz)
    return f"{danish_date(moment.date())} kl. {danish_time(moment)}"


def _message_row(message: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    return {
        "id": message["id"], "channel": word(CHANNEL, message["channel"]),
        "kind": word(MESSAGE_KIND, message["kind"]),
        "subject": message["subject"], "recipient": message["recipient"],
        "error": message["last_error"] or "ukendt fejl", "attempts": message["attempts"],
        "created": _when(message["created_at"], tz),
    }


async def deliveries(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    failed = await request.app[OUTBOX_SERVICE].list("failed", principal)
    invitations = await request.app[UNANSWERED].list(principal)
    # The unanswered invitations name cases: a read of them, in the audit log.
    await request.app[READ_AUDIT].record(principal, principal.municipality_id, "case.list",
                                         None, {"page": "deliveries", "unanswered":
                                                [i.case_ref for i in invitations]})
    tz = request.app[CLOCK].tz
    return render(
        request, "outbox/deliveries.html", failed=[_message_row(m, tz) for m in failed],
        invitations=[{
            "case": i.case_ref, "href": f"/cases/{quote(i.case_ref, safe='')}",
            "proposed": danish_slot(i.meeting_start, i.meeting_end),
            "invited": _when(i.invited_at.isoformat(), tz),
            "days": i.working_days, "deadline": danish_date(i.deadline),
            "consultant": i.consultant_name, "employer": i.employer_name or "–",
            "contact": i.contact_name or "", "email": i.contact_email or "",
            "phone": i.contact_phone or ""} for i in invitations],
        notice=NOTICES.get(request.query.get("besked", ""), ""))


async def retry(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    await read_form(request)
    raw = request.match_info["message_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise not_found(request, "Beskeden")
    try:
        await request.app[OUTBOX_SERVICE].retry(int(raw), principal)
    except NotFound:
        raise not_found(request, "Beskeden") from None
    except Conflict:
        raise web.HTTPSeeOther("/deliveries?besked=ikke-fejlet") from None
    raise web.HTTPSeeOther("/deliveries?besked=sendes-igen",
                           headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/deliveries", deliveries, name="deliveries")
    app.router.add_post("/deliveries/{message_id}/retry", retry)
    add_nav(app, "Forsendelser", "/deliveries", ROLES, order=70)
