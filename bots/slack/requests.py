"""Requests as Slack sends them to `/slack/events`, signed with the app's signing secret:
for the demo page (which plays the Slack client) and the tests. The shapes follow Slack's
documented payloads: `block_actions` and `view_submission` interactions (form field
`payload`), slash commands (form fields), and Events API callbacks (JSON)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bots.slack.fake_api import TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed_headers(signing_secret: str, body: str, timestamp: int,
                   content_type: str) -> dict[str, str]:
    """Slack's v0 signature of `body` at `timestamp` (seconds since the epoch)."""
    signature = SignatureVerifier(signing_secret).generate_signature(
        timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature,
            "Content-Type": content_type}


def block_action(user_id: str, action_id: str, value: str, trigger_id: str,
                 channel: str | None = None, message_ts: str | None = None) -> str:
    """A button click on a message (`channel`, `message_ts`) or on the Home tab."""
    container: dict[str, Any] = {"type": "view"}
    if channel and message_ts:
        container = {"type": "message", "channel_id": channel, "message_ts": message_ts,
                     "is_ephemeral": False}
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user_id},
        "api_app_id": "AFASTHOLD", "token": "unused", "trigger_id": trigger_id,
        "container": container,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                     "value": value, "action_ts": "1"}]}
    if channel:
        payload["channel"] = {"id": channel}
    return urlencode({"payload": json.dumps(payload)})


def view_submission(user_id: str, view: dict[str, Any], values: dict[str, Any]) -> str:
    """A modal submitted with `values` by input block: a string (radio button or select
    option's value, a date, or text)."""
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        block_id = block.get("block_id")
        if block.get("type") != "input" or block_id not in values:
            continue
        element = block["element"]
        value = values[block_id]
        if element["type"] in ("radio_buttons", "static_select"):
            chosen: dict[str, Any] = {"type": element["type"], "selected_option": next(
                (o for o in element["options"] if o["value"] == value), None)}
        elif element["type"] == "datepicker":
            chosen = {"type": "datepicker", "selected_date": value}
        else:
            chosen = {"type": element["type"], "value": value}
        state[block_id] = {element["action_id"]: chosen}
    payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": user_id},
               "api_app_id": "AFASTHOLD", "token": "unused", "trigger_id": "none",
               "view": {**view, "id": view.get("id", "V0"), "state": {"values": state}}}
    return urlencode({"payload": json.dumps(payload)})


def slash_command(user_id: str, text: str, command: str = "/fasthold") -> str:
    return urlencode({"token": "unused", "team_id": TEAM_ID, "channel_id": "D" + user_id[1:],
                      "user_id": user_id, "command": command, "text": text,
                      "response_url": "https://hooks.slack.invalid/commands/1",
                      "trigger_id": "none", "api_app_id": "AFASTHOLD"})


def event_callback(event_id: str, event: dict[str, Any]) -> str:
    return json.dumps({"token": "unused", "team_id": TEAM_ID, "api_app_id": "AFASTHOLD",
                       "type": "event_callback", "event_id": event_id, "event_time": 1,
                       "event": event})
