"""`/deliveries`: what needs a person's hand in outgoing messages — failed deliveries (e-mail,
Slack, any channel) with "Send igen", and invitations employers have not answered. For
intake, managers and admins; "Send igen" goes through the outbox's retry use case.

`/letters` ("Breve til print"): the letters to citizens without e-mail waiting to be printed,
each opened as a printable page (`/letters/{id}`: the municipality's header, the citizen's
address, the letter; the browser's print makes the PDF), and "Markér som sendt" (the
outbox's `printed` use case: audited with who and when). Every list and letter shown is an
audited read; the CPR is never shown."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from service.keys import CLOCK, CONFIG, OUTBOX_SERVICE, READ_AUDIT, UNANSWERED
from service.outbox.service import Letter
from service.outbox.store import LETTER_WORKING_DAYS
from service.platform.errors import Conflict, NotFound
from service.platform.pages import (
    PAGE_PARAMETER,
    add_nav,
    not_found,
    page_number,
    page_principal,
    read_form,
    render,
)
from service.platform.workdays import add_working_days
from service.text.case_words import CHANNEL, MESSAGE_KIND, word
from service.text.danish import danish_date, danish_slot, danish_time

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLES = ("intake", "manager")  # and admin
LETTER_NOTICES = {"sendt": "Brevet er markeret som sendt.",
                  "ikke-til-print": "Brevet venter ikke længere på at blive printet."}
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


def _letter_id(request: web.Request) -> int:
    raw = request.match_info["message_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise not_found(request, "Brevet")
    return int(raw)


def _address_lines(address: str | None) -> list[str]:
    """"Søvej 2, 7400 Herning" as the envelope's lines."""
    return [part.strip() for part in (address or "").split(",") if part.strip()]


def _letter_view(letter: Letter, tz: tzinfo, today: date) -> dict[str, Any]:
    late = letter.meeting_start is not None and letter.meeting_start.date() < \
        add_working_days(today, LETTER_WORKING_DAYS)
    return {
        "id": letter.id, "kind": word(MESSAGE_KIND, letter.kind), "subject": letter.subject,
        "case": letter.case_ref or "–",
        "href": f"/cases/{quote(letter.case_ref, safe='')}" if letter.case_ref else "",
        "citizen": letter.citizen_name or "borger", "address": _address_lines(letter.address),
        "created": _when(letter.created_at.isoformat(), tz), "late": late,
        "meeting": danish_date(letter.meeting_start.date()) if letter.meeting_start else "",
        "text": letter.text, "printed": letter.status == "printed",
    }


async def letters(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    found = await request.app[OUTBOX_SERVICE].letters(principal, page_number(request))
    # the letters shown are the ones read (a citizen's name and address each)
    await request.app[READ_AUDIT].record(principal, principal.municipality_id, "letter.list",
                                         None, {"page": "letters", "side": found.page,
                                                "letters": [w.id for w in found.letters]})
    clock = request.app[CLOCK]
    notice = request.query.get("besked", "")
    return render(request, "outbox/letters.html",
                  letters=[_letter_view(w, clock.tz, clock.today()) for w in found.letters],
                  total=found.total, page=found.page, pages=found.pages,
                  page_link=lambda n: f"/letters?{PAGE_PARAMETER}={n}" if n > 1 else "/letters",
                  notice=LETTER_NOTICES.get(notice, ""))


async def letter(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    try:
        found = await request.app[OUTBOX_SERVICE].letter(_letter_id(request), principal)
    except NotFound:
        raise not_found(request, "Brevet") from None
    # A citizen's name, address and letter: a read, in the audit log (with its case).
    await request.app[READ_AUDIT].record(principal, principal.municipality_id, "letter.read",
                                         None, {"letter": found.id, "case": found.case_ref})
    clock = request.app[CLOCK]
    config = request.app[CONFIG]
    return render(request, "outbox/letter.html", letter=_letter_view(found, clock.tz,
                                                                     clock.today()),
                  jobcentre=config.jobcentre, municipality_name=config.municipality.name,
                  today=danish_date(clock.today()))


async def letter_printed(request: web.Request) -> web.Response:
    principal = await page_principal(request, *ROLES)
    await read_form(request)
    try:
        await request.app[OUTBOX_SERVICE].printed(_letter_id(request), principal)
    except NotFound:
        raise not_found(request, "Brevet") from None
    except Conflict:
        raise web.HTTPSeeOther("/letters?besked=ikke-til-print") from None
    raise web.HTTPSeeOther("/letters?besked=sendt", headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/deliveries", deliveries, name="deliveries")
    app.router.add_post("/deliveries/{message_id}/retry", retry)
    add_nav(app, "Forsendelser", "/deliveries", ROLES, order=70)
    app.router.add_get("/letters", letters, name="letters")
    app.router.add_get("/letters/{message_id}", letter)
    app.router.add_post("/letters/{message_id}/printed", letter_printed)
    add_nav(app, "Breve til print", "/letters", ROLES, order=71)
