"""The bolt app: Slack's requests (events, the `/fasthold` command, button clicks, modal
submissions) verified and dispatched to a `SlackDesk`.

`process_before_response=True`: each listener finishes before the answer goes back, so no
work is left running after the acknowledgement (bolt's lazy listeners and its default mode
run it fire-and-forget, lost on a restart). What the listeners do is quick — a transaction,
or `views.open`, which needs the click's trigger id within 3 seconds anyway; anything slow
(messages, the Home tab) goes to the outbox or the job queue. Events are handled once per
`event_id` (Slack resends an event it thinks was not received)."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import blocks
from bots.slack.desk import Reply, SlackDesk, Where

log = logging.getLogger("fasthold.slack")

COMMAND = "/fasthold"
_MEETING_PLACE_BLOCK = "place"


def _where(body: dict[str, Any]) -> Where | None:
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if isinstance(channel, str) and isinstance(ts, str):
        return Where(channel, ts)
    return None


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    try:
        data = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _where_of(meta: dict[str, str]) -> Where | None:
    return Where(meta["channel"], meta["ts"]) if meta.get("channel") and meta.get("ts") \
        else None


def _value(body: dict[str, Any], block: str) -> str | None:
    """A modal input's value (radio, select, date or text) from the submitted state."""
    state = (((body.get("view") or {}).get("state") or {}).get("values") or {}).get(block)
    if not isinstance(state, dict):
        return None
    element = state.get(block) or next(iter(state.values()), None)
    if not isinstance(element, dict):
        return None
    if isinstance(element.get("selected_option"), dict):
        return str(element["selected_option"].get("value"))
    for key in ("selected_date", "value"):
        if isinstance(element.get(key), str):
            return str(element[key])
    return None


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def build_app(desk: SlackDesk, signing_secret: str, client: AsyncWebClient) -> AsyncApp:
    """The bolt app (served by our own `POST /slack/events`; never bolt's own server)."""
    app = AsyncApp(signing_secret=signing_secret, client=client,
                   process_before_response=True, ssl_check_enabled=True)

    @app.middleware
    async def once_per_event(body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and isinstance(event_id, str) \
                and not await desk.first_delivery(event_id):
            return BoltResponse(status=200, body="")
        return await next()

    async def refuse(reply: Reply, body: dict[str, Any]) -> None:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id")
        if channel:
            await desk.tell(body["user"]["id"], str(channel), reply.text)

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
            await desk.home_opened(event["user"])

    @app.command(COMMAND)
    async def command(ack: Any, command: dict[str, Any]) -> None:
        text, answer = await desk.command(str(command.get("user_id")),
                                          str(command.get("text") or ""))
        await ack(text=text, blocks=answer, response_type="ephemeral")

    async def contact(ack: Any, body: dict[str, Any], action: dict[str, Any], who: str) -> None:
        await ack()
        reply = await desk.contact(body["user"]["id"], str(action.get("value")), who,
                                   _where(body))
        if not reply.ok:
            await refuse(reply, body)

    @app.action(blocks.CONTACT_CITIZEN)
    async def contact_citizen(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await contact(ack, body, action, "citizen")

    @app.action(blocks.CONTACT_EMPLOYER)
    async def contact_employer(ack: Any, body: dict[str, Any], action: dict[str, Any]
                               ) -> None:
        await contact(ack, body, action, "employer")

    async def open_modal(ack: Any, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient, view: Any) -> None:
        await ack()
        user, case_ref = body["user"]["id"], str(action.get("value"))
        reply = await desk.may_register(user, case_ref)
        if not reply.ok:
            await refuse(reply, body)
            return
        where = _where(body)
        meta = {"case_ref": case_ref, **({"channel": where.channel, "ts": where.ts}
                                         if where else {})}
        await client.views_open(trigger_id=body["trigger_id"], view=view(case_ref, meta))

    @app.action(blocks.REGISTER_MEETING)
    async def register_meeting(ack: Any, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient) -> None:
        await open_modal(ack, body, action, client, blocks.meeting_modal)

    @app.action(blocks.REGISTER_INTERVENTION)
    async def register_intervention(ack: Any, body: dict[str, Any], action: dict[str, Any],
                                    client: AsyncWebClient) -> None:
        today = desk.today().isoformat()
        await open_modal(ack, body, action, client,
                         lambda ref, meta: blocks.intervention_modal(ref, today, meta))

    @app.action(blocks.CLOSE_CASE)
    async def close_case(ack: Any, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient) -> None:
        today = desk.today().isoformat()
        await open_modal(ack, body, action, client,
                         lambda ref, meta: blocks.close_modal(ref, today, meta))

    @app.action(blocks.CHANGE_OWNER)
    async def change_owner(ack: Any, body: dict[str, Any], action: dict[str, Any],
                           client: AsyncWebClient) -> None:
        await ack()
        user, case_ref = body["user"]["id"], str(action.get("value"))
        reply, choices = await desk.owner_choices(user, case_ref)
        if not reply.ok:
            await refuse(reply, body)
            return
        where = _where(body)
        meta = {"case_ref": case_ref, **({"channel": where.channel, "ts": where.ts}
                                         if where else {})}
        await client.views_open(trigger_id=body["trigger_id"],
                                view=blocks.owner_modal(case_ref, choices, meta))

    @app.action(blocks.OPEN_LINK)
    async def open_link(ack: Any) -> None:
        await ack()  # a link button opens the browser; Slack still tells the app

    async def answer(ack: Any, reply: Reply, first_block: str) -> None:
        if reply.ok:
            await ack()
        else:
            await ack(response_action="errors", errors={reply.field or first_block: reply.text})

    @app.view(blocks.MEETING_MODAL)
    async def meeting_submitted(ack: Any, body: dict[str, Any]) -> None:
        meta = _metadata(body)
        place = _value(body, "place")
        took_part = _value(body, "employer_took_part")
        if place is None:
            await answer(ack, Reply(False, "Vælg hvor mødet blev holdt.", "place"), "place")
            return
        reply = await desk.meeting_outcome(
            body["user"]["id"], meta.get("case_ref", ""), place,
            None if took_part is None else took_part == "yes", _where_of(meta))
        await answer(ack, reply, "place")

    @app.view(blocks.INTERVENTION_MODAL)
    async def intervention_submitted(ack: Any, body: dict[str, Any]) -> None:
        meta = _metadata(body)
        started = _date(_value(body, "started_on"))
        if started is None:
            await answer(ack, Reply(False, "Vælg en dato.", "started_on"), "started_on")
            return
        await answer(ack, await desk.intervention(body["user"]["id"], meta.get("case_ref", ""),
                                                  started, _where_of(meta)), "started_on")

    @app.view(blocks.CLOSE_MODAL)
    async def close_submitted(ack: Any, body: dict[str, Any]) -> None:
        meta = _metadata(body)
        outcome, on = _value(body, "outcome"), _date(_value(body, "on"))
        if outcome is None:
            await answer(ack, Reply(False, "Vælg hvorfor sagen slutter.", "outcome"), "outcome")
            return
        if on is None:
            await answer(ack, Reply(False, "Vælg en dato.", "on"), "on")
            return
        await answer(ack, await desk.close(body["user"]["id"], meta.get("case_ref", ""),
                                           outcome, on, _value(body, "note") or "",
                                           _where_of(meta)), "outcome")

    @app.view(blocks.OWNER_MODAL)
    async def owner_submitted(ack: Any, body: dict[str, Any]) -> None:
        meta = _metadata(body)
        consultant = _value(body, "consultant")
        reason = (_value(body, "reason") or "").strip()
        if consultant is None:
            await answer(ack, Reply(False, "Vælg en konsulent.", "consultant"), "consultant")
            return
        if not reason:
            await answer(ack, Reply(False, "Skriv en begrundelse.", "reason"), "reason")
            return
        await answer(ack, await desk.change_owner(body["user"]["id"], meta.get("case_ref", ""),
                                                  consultant, reason, _where_of(meta)),
                     "consultant")

    @app.error
    async def failed(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request of type %s failed: %s: %s", body.get("type"),
                  type(error).__name__, error)

    return app
