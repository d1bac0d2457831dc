"""Demo only: `/demo/slack`, Slack as a person would see it, from what the local fake Slack
Web API recorded — each consultant's direct messages and Home tab, and the intake channel.

The buttons work: the page's server side plays the Slack client and posts the interaction
Slack would send (a `block_actions` click, a `view_submission` of a modal, a `/fasthold`
command, an `app_home_opened` event) to the service's own `/slack/events`, signed with the
configured signing secret — the same path a real workspace takes. Modals are the ones the
bot opened with `views.open`. For intake staff and admins (the demo mailbox's session)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape as html_escape
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
from aiohttp import web
from markupsafe import Markup

from bots.email.render import make_environment
from bots.slack.fake_api import FakeSlackApi, Posted
from bots.slack.requests import (
    FORM,
    JSON,
    block_action,
    event_callback,
    signed_headers,
    slash_command,
    view_submission,
)
from service.demo import mailbox
from service.keys import (
    AUTH,
    CLOCK,
    CONFIG,
    CONSULTANTS,
    DEMO_SESSIONS,
    FAKE_SLACK,
    SECRETS,
    SLACK_SETTINGS,
)
from service.platform.auth import Principal
from service.platform.http import UnreadableForm, read_posted_form
from service.text.danish import FILTERS, GLOBALS

_env = make_environment(mailbox.TEMPLATES, FILTERS, GLOBALS)
INTAKE = "intake"  # the intake channel's key in the page's addresses
# The bot's emoji shortcodes as symbols every font has (Slack shows its own emoji).
EMOJI = {":new:": "★", ":white_check_mark:": "✔", ":calendar:": "☷", ":no_entry_sign:": "✖",
         ":email:": "✉", ":telephone_receiver:": "☎", ":alarm_clock:": "⌚", ":hourglass:": "⌛",
         ":warning:": "⚠", ":inbox_tray:": "➜", ":arrows_counterclockwise:": "↻",
         ":lock:": "✔", ":speech_balloon:": "✎", ":mailbox_with_no_mail:": "✉",
         ":round_pushpin:": "⌖", ":palm_tree:": "☀"}
_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                      "form-action 'self'; frame-ancestors 'none'",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(text: str) -> str:
    out = html_escape(_unescape(text))
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    for code, emoji in EMOJI.items():
        out = out.replace(code, emoji)
    return out.replace("\n", "<br>")


def mrkdwn(text: str) -> Markup:
    """Slack's mrkdwn as HTML: links, *bold*, the bot's emoji, line breaks; the rest
    escaped."""
    parts, last = [], 0
    for match in _LINK.finditer(text):
        parts.append(_plain(text[last:match.start()]))
        url = _unescape(match.group(1))
        label = match.group(2) or match.group(1)
        parts.append(f'<a href="{html_escape(url)}">{_plain(label)}</a>')
        last = match.end()
    parts.append(_plain(text[last:]))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


@dataclass
class Part:
    """One block as the page shows it."""

    kind: str
    html: Markup = Markup("")
    buttons: list[dict[str, str]] = field(default_factory=list)
    link: dict[str, str] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)


def _button(element: dict[str, Any]) -> dict[str, str]:
    return {"action_id": str(element.get("action_id", "")),
            "value": str(element.get("value", "")), "url": str(element.get("url", "")),
            "label": str((element.get("text") or {}).get("text", "")),
            "style": str(element.get("style", ""))}


def parts(blocks: list[dict[str, Any]]) -> list[Part]:
    out: list[Part] = []
    for block in blocks:
        kind = block.get("type")
        text = block.get("text") or {}
        if kind == "section":
            accessory = block.get("accessory")
            out.append(Part("section", mrkdwn(str(text.get("text", ""))),
                            link=_button(accessory) if isinstance(accessory, dict) else None))
        elif kind == "header":
            out.append(Part("header", Markup(html_escape(str(text.get("text", ""))))))
        elif kind == "context":
            out.append(Part("context", Markup("<br>").join(
                mrkdwn(str(e.get("text", ""))) for e in block.get("elements") or [])))
        elif kind == "actions":
            out.append(Part("actions", buttons=[_button(e) for e in block.get("elements") or []]))
        elif kind == "divider":
            out.append(Part("divider"))
        elif kind == "input":
            element = block.get("element") or {}
            out.append(Part("input", Markup(html_escape(str((block.get("label") or {}).get(
                "text", "")))), inputs=[{
                    "block_id": block.get("block_id"), "type": element.get("type"),
                    "optional": bool(block.get("optional")),
                    "initial": element.get("initial_date", ""),
                    "options": [(o["value"], o["text"]["text"])
                                for o in element.get("options") or []]}]))
    return out


@dataclass
class Conversation:
    key: str  # INTAKE or a consultant's Slack user id
    title: str
    channel: str
    actors: list[tuple[str, str]]  # who may act here: (Slack user id, name)


def _conversations(request: web.Request, fake: FakeSlackApi) -> list[Conversation]:
    config = request.app[CONFIG]
    staff = [(s.slack_user_id, f"{s.name} ({'visitation' if s.role == 'intake' else 'leder'})")
             for s in config.slack.staff]
    out = []
    channel = request.app[SLACK_SETTINGS].intake_channel
    if channel:
        out.append(Conversation(INTAKE, "#visitation", channel, staff))
    for consultant in request.app[CONSULTANTS].directory:  # as the database has them
        if consultant.slack_user_id and consultant.active:
            out.append(Conversation(consultant.slack_user_id, consultant.name,
                                    fake.dm_channel(consultant.slack_user_id),
                                    [(consultant.slack_user_id, consultant.name)]))
    return out


def _csrf(request: web.Request) -> str:
    session = request.cookies.get(mailbox.COOKIE, "")
    return hmac.new(request.app[SECRETS].secret_key.encode(), f"slack-demo:{session}".encode(),
                    hashlib.sha256).hexdigest()


def _staff(request: web.Request) -> Principal | None:
    return request.app[DEMO_SESSIONS].principal(request.cookies.get(mailbox.COOKIE))


_LOGIN = mailbox.login_page("Demo-Slack", "/demo/slack")


async def page(request: web.Request) -> web.StreamResponse:
    if "key" in request.query:
        principal = await request.app[AUTH].principal(request.query["key"])
        if principal is None or principal.role not in mailbox.ROLES:
            return web.Response(status=401 if principal is None else 403, text=_LOGIN,
                                content_type="text/html", charset="utf-8")
        kept = {k: v for k, v in request.query.items() if k != "key"}
        moved = web.HTTPSeeOther(request.rel_url.with_query(kept))
        moved.set_cookie(mailbox.COOKIE, request.app[DEMO_SESSIONS].open(principal),
                         httponly=True, samesite="Strict", path="/demo")
        raise moved
    if _staff(request) is None:
        await mailbox.from_staff_login(request)
        return web.Response(status=401, text=_LOGIN, content_type="text/html", charset="utf-8")
    return _render(request, request.query)


def _render(request: web.Request, query: Mapping[str, str], *,
            answer: list[dict[str, Any]] | None = None, errors: dict[str, str] | None = None,
            status: int = 200) -> web.Response:
    """The page for the address's `query` (c: conversation, fane: tab, som: acting user)."""
    fake = request.app.get(FAKE_SLACK)
    if fake is None:
        return web.Response(status=404, text="Demo-Slack kører kun med --demo uden "
                            "FASTHOLD_SLACK_BOT_TOKEN.", charset="utf-8")
    conversations = _conversations(request, fake)
    current, tab = _where(conversations, query)
    actors = current.actors if current else []
    actor = query.get("som", "") if query.get("som") in dict(actors) else (
        actors[0][0] if actors else "")
    messages: list[tuple[Posted, list[Part]]] = []
    if current is not None:
        messages = [(p, parts(p.blocks)) for p in fake.conversation(current.channel)
                    if p.ephemeral_for in (None, actor)]
    home = fake.homes.get(actor) if current and current.key != INTAKE else None
    modal = fake.open_view(actor) if actor else None
    if modal is not None and modal.place and modal.place != _place(current, tab):
        # Slack closes a modal when its user goes elsewhere; reloading the page keeps it.
        fake.close_view(modal.view_id)
        modal = None
    html = _env.get_template("slack.html").render(
        conversations=conversations, current=current, tab=tab, actor=actor,
        actor_name=dict(actors).get(actor, actor), actors=actors, messages=messages,
        home=parts(home["blocks"]) if home else None, modal=modal,
        modal_parts=parts(modal.view.get("blocks") or []) if modal else [],
        modal_title=(modal.view.get("title") or {}).get("text", "") if modal else "",
        answer=parts(answer) if answer else None, errors=errors or {},
        csrf=_csrf(request), back=urlencode(dict(query)),
        counts={c.key: len([p for p in fake.conversation(c.channel)
                            if p.ephemeral_for is None]) for c in conversations})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=HEADERS)


def _where(conversations: list[Conversation], query: Mapping[str, str]
           ) -> tuple[Conversation | None, str]:
    """The conversation and tab a page address (`c`, `fane`) shows."""
    key = query.get("c") or (conversations[0].key if conversations else "")
    return next((c for c in conversations if c.key == key), None), \
        "hjem" if query.get("fane") == "hjem" else "beskeder"


def _place(current: Conversation | None, tab: str) -> str:
    return f"{current.key if current else ''}/{tab}"


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form, after the session and CSRF checks."""
    if _staff(request) is None:
        raise web.HTTPUnauthorized(text="Kun for medarbejdere.")
    try:
        posted = await read_posted_form(request)
    except UnreadableForm:
        raise web.HTTPBadRequest(text="Formularen kunne ikke læses: prøv igen.") from None
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    if not hmac.compare_digest(form.get("csrf", ""), _csrf(request)):
        raise web.HTTPForbidden(text="Formularen er udløbet: genindlæs siden.")
    return form


async def _to_slack_events(request: web.Request, body: str, content_type: str
                           ) -> tuple[int, str]:
    """Post `body` to this service's /slack/events as Slack would: signed."""
    secret = request.app[SLACK_SETTINGS].signing_secret or ""
    now = int(request.app[CLOCK].utcnow().timestamp())
    url = f"{request.url.origin()}/slack/events"
    async with aiohttp.ClientSession() as client, client.post(
            url, data=body.encode("utf-8"),
            headers=signed_headers(secret, body, now, content_type)) as resp:
        return resp.status, await resp.text()


def _query(form: dict[str, str]) -> dict[str, str]:
    """The page address a form came from (its `back` field)."""
    return {k: v[-1] for k, v in parse_qs(form.get("back", "")).items()}


def _back(form: dict[str, str]) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/demo/slack?{urlencode(_query(form))}")


async def click(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    fake = request.app[FAKE_SLACK]
    user = form.get("user", "")
    body = block_action(user, form.get("action_id", ""), form.get("value", ""),
                        fake.issue_trigger(user), form.get("channel") or None,
                        form.get("ts") or None)
    before = fake.open_view(user)
    await _to_slack_events(request, body, FORM)
    opened = fake.open_view(user)
    if opened is not None and opened is not before:
        opened.place = _place(*_where(_conversations(request, fake), _query(form)))
        if before is not None:
            fake.close_view(before.view_id)  # one modal at a time, as in Slack
    raise _back(form)


async def submit(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    fake = request.app[FAKE_SLACK]
    user = form.get("user", "")
    opened = fake.open_view(user)
    if opened is None or opened.view_id != form.get("view_id"):
        raise _back(form)
    if form.get("cancel"):
        fake.close_view(opened.view_id)
        raise _back(form)
    posted = await request.post()  # read (and checked) by `_form`: every ticked checkbox
    values: dict[str, Any] = {
        b["block_id"]: [v for v in posted.getall(b["block_id"]) if isinstance(v, str)]
        if (b.get("element") or {}).get("type") == "checkboxes" else form[b["block_id"]]
        for b in opened.view.get("blocks") or []
        if b.get("type") == "input" and form.get(b.get("block_id", ""))}
    status, text = await _to_slack_events(request, view_submission(user, opened.view, values),
                                          FORM)
    answer = json.loads(text) if status == 200 and text.strip().startswith("{") else {}
    if answer.get("response_action") == "errors":
        return _render(request, _query(form), errors=answer.get("errors") or {}, status=422)
    fake.close_view(opened.view_id)
    raise _back(form)


async def command(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    status, text = await _to_slack_events(
        request, slash_command(form.get("user", ""), form.get("text", "")), FORM)
    answer = json.loads(text) if status == 200 and text.strip().startswith("{") else {}
    return _render(request, _query(form), answer=answer.get("blocks") or [
        {"type": "section", "text": {"type": "mrkdwn", "text": "(intet svar)"}}])


async def home_opened(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    user = form.get("user", "")
    event = event_callback(f"Ev{secrets.token_hex(8).upper()}",
                           {"type": "app_home_opened", "user": user, "tab": "home",
                            "channel": "D" + user[1:]})
    await _to_slack_events(request, event, JSON)
    raise web.HTTPSeeOther("/demo/slack?" + urlencode({"c": user, "fane": "hjem"}))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/demo/slack", page, name="demo_slack")
    app.router.add_post("/demo/slack/klik", click)
    app.router.add_post("/demo/slack/modal", submit)
    app.router.add_post("/demo/slack/kommando", command)
    app.router.add_post("/demo/slack/hjem", home_opened)
