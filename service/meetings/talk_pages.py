"""The citizen's page `/samtale/{token}` (the link of their first message, no login): "Jeg vil
gerne tale med min konsulent først". GET shows the offer; the button POSTs (with a form token,
CSRF) and sets the wish (`PrivateTalks.wish`), then redirects back (303) to say so. Opened
again, the page shows what stands instead of the offer: the wish registered, the talk's
planned time, or that it was held (the citizen who no longer wants it calls). The token
is the employer links' machinery with its own purpose (`TALK_LINK_SALT`), naming the case.
A letter on paper carries the short form `/samtale/k/{code}` to type, which leads on to it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from service.keys import DB, NOTIFIER, PRIVATE_TALKS
from service.meetings.links import LinkExpired, LinkInvalid
from service.meetings.pages import _page
from service.meetings.talk_kinds import KEPT_TALK, PRIVATE_TALK, TALK_PLANNED
from service.platform.db.models import Case, Meeting
from service.platform.http import UnreadableForm, read_posted_form
from service.text.danish import danish_slot

STATES = {"oensket": "asked", "allerede": "already", "ikke-muligt": "not_possible"}
_STATE_WORDS = {v: k for k, v in STATES.items()}


def _error(request: web.Request, status: int, heading: str, text: str) -> web.Response:
    jobcentre = request.app[NOTIFIER].config.jobcentre
    return _page("error.html", status=status, jobcentre=jobcentre, heading=heading, text=text,
                 contact_name="jobcentret", phone=jobcentre.phone)


async def _resolve(request: web.Request) -> tuple[str, Case] | web.Response:
    token = request.match_info["token"]
    try:
        claims = request.app[NOTIFIER].talk_links.verify(token)
    except LinkInvalid:
        return _error(request, 403, "Linket virker ikke",
                      "Linket er ugyldigt – måske er det kun delvist kopieret. Prøv at klikke "
                      "direkte på linket i beskeden.")
    except LinkExpired:
        return _error(request, 410, "Linket er udløbet", "Linket er ikke længere gyldigt.")
    case = await request.app[PRIVATE_TALKS].case_of(claims.meeting_id)
    if case is None:
        return _error(request, 404, "Sagen findes ikke", "Vi kan ikke finde det, linket "
                      "peger på.")
    return token, case


def _context(request: web.Request, token: str, case: Case) -> dict[str, Any]:
    jobcentre = request.app[NOTIFIER].config.jobcentre
    owner = case.owner
    return {"jobcentre": jobcentre, "base": f"/samtale/{token}",
            "csrf": request.app[NOTIFIER].talk_links.form_token(token),
            "consultant_name": owner.name if owner else None,
            "phone": (owner.phone if owner else None) or jobcentre.phone}


async def _standing(request: web.Request, case: Case) -> dict[str, Any]:
    """What already stands for the case: the wish (only while a workplace meeting is to be
    held, as `PrivateTalks.wish` sets it) and the latest talk agreed — its time, and whether
    it was held."""
    async with request.app[DB].read() as session:
        talk = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK,
            Meeting.status.in_(KEPT_TALK)).order_by(Meeting.start.desc(), Meeting.id.desc())
            .limit(1))).unique().scalar_one_or_none()
    open_case = case.closed_on is None and case.status == "target" \
        and case.follow_up == "workplace_meeting"
    return {"wished": bool(case.private_talk_first) and open_case,
            "talk_when": danish_slot(talk.start, talk.end) if talk is not None else None,
            "talk_held": talk is not None and talk.status != TALK_PLANNED}


async def show(request: web.Request) -> web.Response:
    resolved = await _resolve(request)
    if isinstance(resolved, web.Response):
        return resolved
    token, case = resolved
    state = STATES.get(request.query.get("besked", ""))
    return _page("private_talk.html", state=state, **_context(request, token, case),
                 **await _standing(request, case))


async def wish(request: web.Request) -> web.Response:
    resolved = await _resolve(request)
    if isinstance(resolved, web.Response):
        return resolved
    token, case = resolved
    try:
        form = await read_posted_form(request)
    except UnreadableForm:
        return _error(request, 400, "Formularen kunne ikke læses",
                      "Åbn linket i beskeden igen og prøv en gang til.")
    origin = request.headers.get("Origin")
    csrf = form.get("csrf")
    if (origin and origin != "null" and urlsplit(origin).netloc != request.host) or \
            not request.app[NOTIFIER].talk_links.check_form_token(
                token, csrf if isinstance(csrf, str) else None):
        return _error(request, 403, "Handlingen blev afvist",
                      "Formularen mangler sit sikkerhedsfelt. Åbn linket i beskeden igen og "
                      "prøv en gang til.")
    result = await request.app[PRIVATE_TALKS].wish(case.id)
    raise web.HTTPSeeOther(f"/samtale/{token}?besked={_STATE_WORDS[result.outcome]}",
                           headers={"Cache-Control": "no-store"})


async def short(request: web.Request) -> web.Response:
    """The short link typed from a letter (`/samtale/k/1234-ABCD-EFGH`): on to the signed
    link's page (303); a wrong code is 403 like a wrong token (and limited alike)."""
    notifier = request.app[NOTIFIER]
    try:
        case_id = notifier.talk_links.short_id(request.match_info["code"])
    except LinkInvalid:
        return _error(request, 403, "Koden virker ikke",
                      "Adressen er ikke skrevet helt rigtigt. Tjek den i brevet, eller ring "
                      "til din konsulent.")
    case = await request.app[PRIVATE_TALKS].case_of(case_id)
    if case is None:
        return _error(request, 404, "Sagen findes ikke", "Vi kan ikke finde det, linket "
                      "peger på.")
    raise web.HTTPSeeOther(f"/samtale/{notifier.talk_token(case)}",
                           headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/samtale/k/{code}", short)
    app.router.add_get("/samtale/{token}", show)
    app.router.add_post("/samtale/{token}", wish)
