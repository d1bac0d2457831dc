"""The employer's link page `/m/{token}`: server-rendered, Danish, no JavaScript needed.

GET shows the meeting as it is now; POSTs (confirm, other times, decline, cancel) carry a form
token (CSRF) and redirect back (303), so reloading never repeats an answer. Cancelling asks
first: the first POST shows a page "are you sure?" whose form posts again with `confirm=ja`
(no JavaScript needed). Nothing on the page comes from a third party; the token stays out of
referrers (`Referrer-Policy: no-referrer`).

A link names one meeting; when that meeting was replaced by a new one for the same case (moved
by planning, or re-planned after the employer asked for other times or cancelled), the old
link leads to the current meeting (303 to its own link, with a notice that it was moved).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bots.email.render import make_environment
from service.keys import ANSWERS, LINKS, NOTIFIER
from service.meetings.answers import Outcome
from service.meetings.decline_reasons import DECLINE_REASONS
from service.meetings.declines import pending_decline
from service.meetings.links import LinkClaims, LinkExpired, LinkInvalid
from service.platform.db.models import Meeting
from service.platform.http import UnreadableForm, read_posted_form
from service.text.danish import FILTERS, GLOBALS, danish_slot

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = make_environment(TEMPLATES, FILTERS, GLOBALS)

WEEKDAYS = [("mon", "Mandag"), ("tue", "Tirsdag"), ("wed", "Onsdag"), ("thu", "Torsdag"),
            ("fri", "Fredag")]
PARTS = [("morning", "Formiddag (før kl. 12)"), ("afternoon", "Eftermiddag (efter kl. 12)")]

NOTICES = {
    "bekraeftet": ("Tak! Mødet er bekræftet. Vi har sendt en bekræftelse med kalenderinvitation "
                   "på e-mail.", False),
    "allerede": ("Mødet var allerede bekræftet – der er ikke ændret noget.", False),
    "taget": ("Det valgte tidspunkt blev lige taget af et andet møde. Vælg venligst et af de "
              "ledige tidspunkter herunder.", True),
    "ukendt": ("Vælg et af tidspunkterne på listen.", True),
    "for-sent": ("Det er for sent at ændre mødet her. Ring til konsulenten.", True),
    "lukket": ("Mødet blev ændret, mens siden var åben, så jeres svar er ikke registreret.",
               True),
    "flyttet": ("Mødet er flyttet. Linket, I brugte, hører til et tidligere forslag – her er "
                "mødet, som det er nu. Vi har også sendt jer en e-mail om det.", False),
}

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _page(template: str, status: int = 200, **context: Any) -> web.Response:
    html = _env.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=SECURITY_HEADERS)


def _error(request: web.Request, status: int, heading: str, text: str,
           meeting: Meeting | None = None) -> web.Response:
    jobcentre = request.app[NOTIFIER].config.jobcentre
    if meeting is not None:
        name, phone = meeting.consultant.name, meeting.consultant.phone or jobcentre.phone
    else:
        name, phone = "jobcentret", jobcentre.phone
    return _page("error.html", status=status, jobcentre=jobcentre, heading=heading, text=text,
                 contact_name=name, phone=phone)


async def _resolve(request: web.Request) -> tuple[str, LinkClaims, Meeting] | web.Response:
    token = request.match_info["token"]
    answers = request.app[ANSWERS]
    try:
        claims = request.app[LINKS].verify(token)
    except LinkInvalid:
        return _error(request, 403, "Linket virker ikke",
                      "Linket er ugyldigt – måske er det blevet ændret eller kun delvist "
                      "kopieret. Prøv at klikke direkte på linket i e-mailen.")
    except LinkExpired as exc:
        meeting = await answers.meeting(exc.meeting_id)
        return _error(request, 410, "Linket er udløbet",
                      "Linket til dette møde er ikke længere gyldigt.", meeting)
    meeting = await answers.meeting(claims.meeting_id)
    if meeting is None or meeting.municipality_id != claims.municipality_id:
        return _error(request, 404, "Mødet findes ikke",
                      "Vi kan ikke finde mødet, som linket peger på.")
    return token, claims, meeting


def _moved(request: web.Request, current: Meeting) -> web.HTTPSeeOther:
    token = request.app[LINKS].token(current.id, request.app[NOTIFIER].link_expires(current))
    return web.HTTPSeeOther(f"/m/{token}?besked=flyttet", headers={"Cache-Control": "no-store"})


async def show(request: web.Request) -> web.Response:
    resolved = await _resolve(request)
    if isinstance(resolved, web.Response):
        return resolved
    token, _claims, meeting = resolved
    return await _meeting_page(request, token, meeting,
                               decline_error=request.query.get("besked") == "begrundelse")


async def _meeting_page(request: web.Request, token: str, meeting: Meeting, *,
                        decline_error: bool = False, decline_note: str = "",
                        other_values: dict[str, Any] | None = None,
                        status: int = 200) -> web.Response:
    """The page as the meeting now stands. `decline_error`: the decline form came back
    without one of the reasons — it shows why, open, with the employer's own words
    (`decline_note`) still in it (they never travel in a URL: they may name an illness).
    `other_values`: the other-times form came back without any wish — it shows why, open,
    with what was sent."""
    current = await request.app[ANSWERS].successor(meeting)
    if current is not None:
        raise _moved(request, current)
    people = request.app[NOTIFIER].people(meeting)
    context: dict[str, Any] = dict(people, base=f"/m/{token}",
                                   csrf=request.app[LINKS].form_token(token),
                                   weekdays=WEEKDAYS, parts=PARTS,
                                   open_other=(request.query.get("vis") == "andre-tider"
                                               or other_values is not None),
                                   other_values=other_values or {},
                                   other_error=OTHER_TIMES_ERROR if other_values is not None
                                   else None)
    notice = NOTICES.get(request.query.get("besked", ""))
    context["notice"], context["notice_warn"] = notice if notice else (None, False)
    context["decline_reasons"] = list(DECLINE_REASONS.items())
    context["decline_error"], context["open_decline"] = None, False
    context["decline_note"] = decline_note
    if decline_error or other_values is not None:
        context["notice"] = None
    if decline_error:
        context["decline_error"] = DECLINE_ERROR
        context["open_decline"] = True
    declined = context["declined"] = pending_decline(meeting)
    if declined:
        # Declined, within the grace: the consultant calls before anything moves. A proposal
        # still offers its times: choosing one takes the decline back (`settle_by_a_time`).
        context["closed_heading"] = "Tak for jeres besked"
        context["closed_text"] = (
            f"I har svaret, at mødet ikke kan holdes på arbejdspladsen. "
            f"{meeting.consultant.name} ringer til jer for at tale om mødet. Hører I ikke fra "
            f"os, holdes mødet med {people['employee']} i jobcentret i stedet.")
    if declined and meeting.status != "proposed":
        context["state"] = "closed"
    elif meeting.status == "proposed":
        slots = await request.app[ANSWERS].free_slots(meeting)
        context["state"] = "proposed"
        # In time order; the jobcentre's own proposal is marked and chosen by default.
        context["slots"] = [{"key": s.key, "text": danish_slot(s.start, s.end),
                             "proposed": s.start == meeting.start} for s in slots]
        if context["notice"] is None and not declined and \
                all(s.start != meeting.start for s in slots):
            # The time the e-mail proposed was taken (or has passed) since it was sent.
            context["notice"], context["notice_warn"] = (
                f"Det tidspunkt, vi foreslog i e-mailen ({danish_slot(meeting.start, meeting.end)}"
                "), kan ikke længere vælges. "
                + ("Vælg et af de ledige tidspunkter herunder." if slots else
                   "Bed om andre tider herunder, eller ring til konsulenten."), True)
    elif meeting.status == "confirmed":
        context["state"] = "confirmed"
        context["can_change"] = request.app[ANSWERS].can_change(meeting)
    else:
        context["state"] = "closed"
        context["closed_heading"], context["closed_text"] = _closed_words(meeting)
    return _page("meeting.html", status=status, **context)


def _closed_words(meeting: Meeting) -> tuple[str, str]:
    answer = meeting.employer_answer
    if answer == "other_times":
        return ("Tak – vi har modtaget jeres ønsker",
                "Vi finder et nyt tidspunkt ud fra jeres ønsker og sender en ny e-mail med "
                "forslag.")
    if answer == "declined":
        return ("Tak for jeres besked",
                "Mødet holdes ikke på arbejdspladsen. Konsulenten holder i stedet mødet med "
                "medarbejderen i jobcentret.")
    if answer == "cancelled":
        return ("Mødet er aflyst",
                "I har aflyst mødet, og aflysningen til jeres kalender er sendt på e-mail. Vi "
                "sender en ny e-mail med forslag til et nyt tidspunkt.")
    if meeting.status in ("held", "not_held"):
        return ("Mødet er afsluttet", "Dette møde er afholdt. Tak for samarbejdet.")
    return ("Mødet er ændret",
            "Dette mødeforslag gælder ikke længere. Hvis der skal holdes et nyt møde, får I en "
            "ny e-mail.")


async def _form(request: web.Request) -> tuple[str, Meeting, Any] | web.Response:
    resolved = await _resolve(request)
    if isinstance(resolved, web.Response):
        return resolved
    token, _claims, meeting = resolved
    try:
        form = await read_posted_form(request)
    except UnreadableForm:
        return _error(request, 400, "Formularen kunne ikke læses",
                      "Det, der blev sendt, kunne ikke læses. Åbn linket i e-mailen igen og "
                      "prøv en gang til.", meeting)
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return _error(request, 403, "Handlingen blev afvist",
                      "Formularen kom fra en anden side end vores.", meeting)
    csrf = form.get("csrf")
    if not request.app[LINKS].check_form_token(token, csrf if isinstance(csrf, str) else None):
        return _error(request, 403, "Handlingen blev afvist",
                      "Formularen mangler sit sikkerhedsfelt. Åbn linket i e-mailen igen og "
                      "prøv en gang til.", meeting)
    return token, meeting, form


def _back(token: str, notice: str | None = None) -> web.HTTPSeeOther:
    suffix = f"?besked={notice}" if notice else ""
    return web.HTTPSeeOther(f"/m/{token}{suffix}", headers={"Cache-Control": "no-store"})


_CONFIRM_NOTICE = {Outcome.CONFIRMED: "bekraeftet", Outcome.ALREADY: "allerede",
                   Outcome.TAKEN: "taget", Outcome.UNKNOWN_SLOT: "ukendt",
                   Outcome.TOO_LATE: "for-sent", Outcome.CLOSED: "lukket"}


async def confirm(request: web.Request) -> web.Response:
    parsed = await _form(request)
    if isinstance(parsed, web.Response):
        return parsed
    token, meeting, form = parsed
    slot = form.get("slot")
    outcome = await request.app[ANSWERS].confirm(meeting.id, slot if isinstance(slot, str)
                                                 else "")
    raise _back(token, _CONFIRM_NOTICE.get(outcome))


def _text(form: Any, name: str, limit: int = 1000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def other_times(request: web.Request) -> web.Response:
    parsed = await _form(request)
    if isinstance(parsed, web.Response):
        return parsed
    token, meeting, form = parsed
    weekday_names = dict(WEEKDAYS)
    part_names = dict(PARTS)
    weekdays = [w for w in form.getall("weekday", []) if w in weekday_names]
    parts = [p for p in form.getall("part", []) if p in part_names]
    text = _text(form, "text")
    if not (weekdays or parts or text):
        # Nothing to go by: the page again, the form open, saying what to fill in.
        return await _meeting_page(request, token, meeting, status=422, other_values={
            "weekdays": weekdays, "parts": parts, "text": text})
    preferences = {"weekdays": weekdays, "parts_of_day": parts, "text": text,
                   "weekdays_text": [weekday_names[w].lower() for w in weekdays],
                   "parts_text": [part_names[p].split(" ")[0].lower() for p in parts]}
    outcome = await request.app[ANSWERS].other_times(meeting.id, preferences)
    raise _back(token, "for-sent" if outcome == Outcome.TOO_LATE else None)


OTHER_TIMES_ERROR = ("Fortæl os, hvilke tider der passer jer: vælg mindst én dag eller et "
                     "tidspunkt på dagen (formiddag eller eftermiddag), eller skriv en besked "
                     "til konsulenten.")

DECLINE_ERROR = "Vælg en af begrundelserne på listen, hvorfor mødet ikke kan holdes på " \
                "arbejdspladsen."


async def decline(request: web.Request) -> web.Response:
    """The employer's "cannot be held at the workplace": one of the fixed reasons
    (`reason_choice`, required) and their own words (`reason`, optional, kept in fasthold)."""
    parsed = await _form(request)
    if isinstance(parsed, web.Response):
        return parsed
    token, meeting, form = parsed
    choice = form.get("reason_choice")
    note = _text(form, "reason")
    outcome = await request.app[ANSWERS].decline(
        meeting.id, choice if isinstance(choice, str) else "", note)
    if outcome == Outcome.UNKNOWN_REASON:
        # The page again, with the error and what they typed (not a redirect: the note
        # would be lost, and it must never be put in a URL).
        return await _meeting_page(request, token, meeting, decline_error=True,
                                   decline_note=note, status=422)
    raise _back(token)


async def cancel(request: web.Request) -> web.Response:
    """First POST: "are you sure?" (a page with a form that posts `confirm=ja`); second POST
    with `confirm=ja`: the meeting is cancelled."""
    parsed = await _form(request)
    if isinstance(parsed, web.Response):
        return parsed
    token, meeting, form = parsed
    if form.get("confirm") != "ja":
        if meeting.status != "confirmed":
            raise _back(token, "lukket")
        if not request.app[ANSWERS].can_change(meeting):
            raise _back(token, "for-sent")
        people = request.app[NOTIFIER].people(meeting)
        return _page("meeting.html", **people, state="cancel_ask", base=f"/m/{token}",
                     csrf=request.app[LINKS].form_token(token), notice=None,
                     notice_warn=False)
    outcome = await request.app[ANSWERS].cancel(meeting.id)
    raise _back(token, "for-sent" if outcome == Outcome.TOO_LATE else None)


async def calendar_file(request: web.Request) -> web.Response:
    resolved = await _resolve(request)
    if isinstance(resolved, web.Response):
        return resolved
    _token, _claims, meeting = resolved
    meeting = await request.app[ANSWERS].successor(meeting) or meeting
    if meeting.status != "confirmed":
        return _error(request, 404, "Ingen kalenderfil",
                      "Der er kun en kalenderfil, når mødet er bekræftet.", meeting)
    data = await request.app[ANSWERS].calendar_file(meeting)
    return web.Response(body=data, content_type="text/calendar", charset="utf-8", headers={
        **SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="moede.ics"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/{token}", show, name="meeting_page")
    app.router.add_get("/m/{token}/moede.ics", calendar_file, name="meeting_ics")
    app.router.add_post("/m/{token}/confirm", confirm)
    app.router.add_post("/m/{token}/other-times", other_times)
    app.router.add_post("/m/{token}/decline", decline)
    app.router.add_post("/m/{token}/cancel", cancel)
