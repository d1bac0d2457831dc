"""The bolt app: Slack's requests (events, the `/fasthold` command, button clicks, modal
submissions) verified and dispatched to a `SlackDesk`.

`process_before_response=True`: each listener finishes before the answer goes back, so no
work is left running after the acknowledgement (bolt's lazy listeners and its default mode
run it fire-and-forget, lost on a restart). What the listeners do is quick — a transaction,
or `views.open`, which needs the click's trigger id within 3 seconds anyway; anything slow
(messages, the Home tab) goes to the outbox or the job queue. Events are handled once per
`event_id` (Slack resends an event it thinks was not received).

The caller verifies each request's signature before dispatching it (bolt's own verification
is off: it logs the whole body of a request it refuses). A submission whose
`private_metadata` this bot did not write (not JSON, cut short, of another shape) is answered
with a field error asking to open the form again, never a 5xx; what bolt logs is cut short."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack import blocks
from bots.slack.desk import Reply, SlackDesk, Where

log = logging.getLogger("fasthold.slack")

COMMAND = "/fasthold"
COULD_NOT_OPEN = "Formularen kunne ikke åbnes (Slack svarede ikke i tide). Prøv igen."
STALE_FORM = "Formularen kan ikke læses (den er forældet eller ændret). Luk den, og åbn den " \
             "igen fra beskeden."
# Log lines from bolt are cut to this many characters (no request body in full, ever).
MAX_LOG_CHARS = 300


class CappedLog(logging.Filter):
    """Cuts a log record's message to `MAX_LOG_CHARS`: bolt puts request content in some of
    its lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > MAX_LOG_CHARS:
            record.msg, record.args = message[:MAX_LOG_CHARS] + " …(cut)", None
        return True


def bolt_logger() -> logging.Logger:
    """The logger bolt gets (and copies to its own loggers): every line capped."""
    logger = logging.getLogger("fasthold.slack.bolt")
    if not any(isinstance(f, CappedLog) for f in logger.filters):
        logger.addFilter(CappedLog())
    return logger


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _where(body: dict[str, Any]) -> Where | None:
    container = _dict(body.get("container"))
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if isinstance(channel, str) and isinstance(ts, str):
        return Where(channel, ts)
    return None


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


def _metadata(body: dict[str, Any]) -> dict[str, str] | None:
    """The modal's `private_metadata` as this bot wrote it (a JSON object of strings with the
    case reference), or None for anything else."""
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()) or \
            not data.get("case_ref"):
        return None
    return data


def _where_of(meta: dict[str, str]) -> Where | None:
    return Where(meta["channel"], meta["ts"]) if meta.get("channel") and meta.get("ts") \
        else None


def _value(body: dict[str, Any], block: str) -> str | None:
    """A modal input's value (radio, select, date or text) from the submitted state."""
    state: Any = body.get("view")
    for key in ("state", "values", block):
        state = state.get(key) if isinstance(state, dict) else None
    if not isinstance(state, dict):
        return None
    element = state.get(block) or next(iter(state.values()), None)
    if not isinstance(element, dict):
        return None
    if isinstance(element.get("selected_option"), dict):
        return str(element["selected_option"].get("value"))
    for key in ("selected_date", "selected_time", "value"):
        if isinstance(element.get(key), str):
            return str(element[key])
    return None


def _chosen(body: dict[str, Any], block: str) -> list[str]:
    """A checkboxes input's chosen values from the submitted state."""
    state: Any = body.get("view")
    for key in ("state", "values", block, block):
        state = state.get(key) if isinstance(state, dict) else None
    options = state.get("selected_options") if isinstance(state, dict) else None
    return [str(o.get("value")) for o in options if isinstance(o, dict)] \
        if isinstance(options, list) else []


def _minutes(body: dict[str, Any]) -> dict[str, str]:
    """The meeting modal's minutes as text by block (named as the case page's fields)."""
    values = {block: (_value(body, block) or "") for block in blocks.MINUTES_BLOCKS}
    values["retention_plan_requested"] = \
        "ja" if "ja" in _chosen(body, "retention_plan_requested") else ""
    return values


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def build_app(desk: SlackDesk, client: AsyncWebClient) -> AsyncApp:
    """The bolt app (served by our own `POST /slack/events`, which verifies the signature;
    never bolt's own server)."""
    app = AsyncApp(client=client, request_verification_enabled=False, logger=bolt_logger(),
                   process_before_response=True, ssl_check_enabled=True)

    @app.middleware
    async def once_per_event(body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and isinstance(event_id, str) \
                and not await desk.first_delivery(event_id):
            return BoltResponse(status=200, body="")
        return await next()

    async def refuse(reply: Reply, body: dict[str, Any]) -> None:
        channel = _dict(body.get("channel")).get("id") or _dict(body.get("container")).get(
            "channel_id")
        user = _user(body)
        if isinstance(channel, str) and channel and user:
            await desk.tell(user, str(channel), reply.text)

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
        user = _user(body)
        if user is None:
            return
        reply = await desk.contact(user, str(action.get("value")), who, _where(body))
        if not reply.ok:
            await refuse(reply, body)

    @app.action(blocks.CONTACT_CITIZEN)
    async def contact_citizen(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await contact(ack, body, action, "citizen")

    @app.action(blocks.CONTACT_EMPLOYER)
    async def contact_employer(ack: Any, body: dict[str, Any], action: dict[str, Any]
                               ) -> None:
        await contact(ack, body, action, "employer")

    async def private_talk(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = _user(body)
        outcome = blocks.TALK_BUTTONS.get(str(action.get("action_id")))
        if user is None or outcome is None:
            return
        reply = await desk.private_talk(user, str(action.get("value")), outcome, _where(body))
        if not reply.ok:
            await refuse(reply, body)

    for talk_action in blocks.TALK_BUTTONS:
        app.action(talk_action)(private_talk)

    @app.action(blocks.CALLS_DONE)
    async def calls_done(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = _user(body)
        if user is not None:
            reply = await desk.calls_done(user, str(action.get("value")), _where(body))
            if not reply.ok:
                await refuse(reply, body)

    @app.action(blocks.RESTORE_DECLINE)
    async def restore_decline(ack: Any, body: dict[str, Any], action: dict[str, Any]
                              ) -> None:
        await ack()
        user = _user(body)
        if user is not None:
            reply = await desk.restore_decline(user, str(action.get("value")), _where(body))
            if not reply.ok:
                await refuse(reply, body)

    async def show(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]
                   ) -> None:
        """Open the modal; Slack may refuse (a trigger id older than 3 seconds): the user is
        told so, ephemerally."""
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("Slack: views.open refused: %s",
                        str(_dict(exc.response.data).get("error"))[:60])
            await refuse(Reply(False, COULD_NOT_OPEN), body)

    def metadata_of(body: dict[str, Any], case_ref: str) -> dict[str, str]:
        where = _where(body)
        return {"case_ref": case_ref, **({"channel": where.channel, "ts": where.ts}
                                         if where else {})}

    async def open_modal(ack: Any, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient, view: Any) -> None:
        await ack()
        user, case_ref = _user(body), str(action.get("value"))
        if user is None or not isinstance(body.get("trigger_id"), str):
            return
        reply = await desk.may(user, str(action.get("action_id")), case_ref)
        if not reply.ok:
            await refuse(reply, body)
            return
        await show(client, body, view(case_ref, metadata_of(body, case_ref)))

    @app.action(blocks.REGISTER_MEETING)
    async def register_meeting(ack: Any, body: dict[str, Any], action: dict[str, Any],
                               client: AsyncWebClient) -> None:
        places, who, send_to = desk.choices("place"), desk.choices("who"), \
            desk.choices("send_to")
        await open_modal(ack, body, action, client,
                         lambda ref, meta: blocks.meeting_modal(ref, meta, places, who, send_to))

    @app.action(blocks.REGISTER_INTERVENTION)
    async def register_intervention(ack: Any, body: dict[str, Any], action: dict[str, Any],
                                    client: AsyncWebClient) -> None:
        today, kinds = desk.today().isoformat(), desk.choices("kind")
        await open_modal(ack, body, action, client,
                         lambda ref, meta: blocks.intervention_modal(ref, today, meta, kinds))

    @app.action(blocks.CLOSE_CASE)
    async def close_case(ack: Any, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient) -> None:
        today = desk.today().isoformat()
        outcomes, note_limit = desk.choices("outcome"), desk.max_length("note")
        await open_modal(ack, body, action, client, lambda ref, meta: blocks.close_modal(
            ref, today, meta, outcomes, note_limit))

    @app.action(blocks.CHANGE_OWNER)
    async def change_owner(ack: Any, body: dict[str, Any], action: dict[str, Any],
                           client: AsyncWebClient) -> None:
        await ack()
        user, case_ref = _user(body), str(action.get("value"))
        if user is None or not isinstance(body.get("trigger_id"), str):
            return
        reply, choices = await desk.owner_choices(user, case_ref)
        if not reply.ok:
            await refuse(reply, body)
            return
        await show(client, body, blocks.owner_modal(
            case_ref, choices, desk.owner_reasons(), metadata_of(body, case_ref),
            desk.max_length("owner_note")))

    @app.action(blocks.OPEN_LINK)
    async def open_link(ack: Any) -> None:
        await ack()  # a link button opens the browser; Slack still tells the app

    async def answer(ack: Any, reply: Reply, first_block: str) -> None:
        if reply.ok:
            await ack()
        else:
            await ack(response_action="errors", errors={reply.field or first_block: reply.text})

    async def submitted(ack: Any, body: dict[str, Any], first_block: str
                        ) -> tuple[str, dict[str, str]] | None:
        """(user, metadata) of a submission this bot can read; else the form is told so."""
        user, meta = _user(body), _metadata(body)
        if user is None or meta is None:
            await answer(ack, Reply(False, STALE_FORM, first_block), first_block)
            return None
        return user, meta

    @app.view(blocks.MEETING_MODAL)
    async def meeting_submitted(ack: Any, body: dict[str, Any]) -> None:
        if (who := await submitted(ack, body, "place")) is None:
            return
        (user, meta), place = who, _value(body, "place")
        took_part = _value(body, "employer_took_part")
        if place is None:
            await answer(ack, Reply(False, "Vælg hvor mødet blev holdt.", "place"), "place")
            return
        if place != "not_held" and took_part not in ("yes", "no"):
            await answer(ack, Reply(False, "Svar på, om arbejdsgiveren deltog." if took_part
                                    is None else "Mødet blev holdt: svar ja eller nej.",
                                    "employer_took_part"), "place")
            return
        reply = await desk.meeting_outcome(user, meta["case_ref"], place, took_part == "yes",
                                           _where_of(meta), minutes=_minutes(body),
                                           send_to=_chosen(body, "send_to"))
        await answer(ack, reply, "place")

    @app.view(blocks.INTERVENTION_MODAL)
    async def intervention_submitted(ack: Any, body: dict[str, Any]) -> None:
        if (who := await submitted(ack, body, "started_on")) is None:
            return
        (user, meta), started = who, _date(_value(body, "started_on"))
        if started is None:
            await answer(ack, Reply(False, "Vælg en dato.", "started_on"), "started_on")
            return
        kind = _value(body, "kind")
        if not kind:
            await answer(ack, Reply(False, "Vælg, hvilken indsats det er.", "kind"), "kind")
            return
        await answer(ack, await desk.intervention(user, meta["case_ref"], started,
                                                  _where_of(meta), kind), "started_on")

    @app.view(blocks.CLOSE_MODAL)
    async def close_submitted(ack: Any, body: dict[str, Any]) -> None:
        if (who := await submitted(ack, body, "outcome")) is None:
            return
        (user, meta) = who
        outcome, on = _value(body, "outcome"), _date(_value(body, "on"))
        if outcome is None:
            await answer(ack, Reply(False, "Vælg hvorfor sagen slutter.", "outcome"), "outcome")
            return
        if on is None:
            await answer(ack, Reply(False, "Vælg en dato.", "on"), "on")
            return
        await answer(ack, await desk.close(user, meta["case_ref"], outcome, on,
                                           _value(body, "note") or "", _where_of(meta)),
                     "outcome")

    @app.view(blocks.OWNER_MODAL)
    async def owner_submitted(ack: Any, body: dict[str, Any]) -> None:
        if (who := await submitted(ack, body, "consultant")) is None:
            return
        (user, meta) = who
        consultant, category = _value(body, "consultant"), _value(body, "category")
        if consultant is None:
            await answer(ack, Reply(False, "Vælg en konsulent.", "consultant"), "consultant")
            return
        if category is None:
            await answer(ack, Reply(False, "Vælg hvorfor.", "category"), "category")
            return
        await answer(ack, await desk.change_owner(user, meta["case_ref"], consultant, category,
                                                  (_value(body, "owner_note") or "").strip(),
                                                  _where_of(meta)), "consultant")

    @app.error
    async def failed(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request of type %s failed: %s: %s", str(body.get("type"))[:40],
                  type(error).__name__, str(error)[:MAX_LOG_CHARS])

    return app
