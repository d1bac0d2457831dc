"""Requests as Slack sends them to `/slack/events`, signed with the app's signing secret:
for the demo page (which plays the Slack client) and the tests. The shapes follow Slack's
documented payloads: `block_actions` and `view_submission` interactions (form field
`payload`), slash commands (form fields), and Events API callbacks (JSON). And the other side:
`verify`, whether a request carries Slack's signature (the service checks it before anything
reads the body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bots.slack.fake_api import TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Slack refuses requests older than 5 minutes; so do we (replays).
MAX_AGE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def verify(signing_secret: str, body: bytes, timestamp: str | None, signature: str | None,
           now: float) -> str | None:
    """Why the request is not Slack's (a few words, no part of the request), or None if its
    v0 signature matches `body` at `timestamp` (whole seconds, ASCII digits) within
    `MAX_AGE_SECONDS` of `now`. The raw bytes are signed, so a body that is not UTF-8 is
    checked like any other."""
    if not timestamp or not _TIMESTAMP.fullmatch(timestamp):
        return "missing or non-numeric X-Slack-Request-Timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "timestamp older than 5 minutes (or in the future)"
    if not signature or not _SIGNATURE.fullmatch(signature):
        return "missing or malformed X-Slack-Signature"
    expected = "v0=" + hmac.new(signing_secret.encode("utf-8"),
                                b"v0:" + timestamp.encode("ascii") + b":" + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None


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
    option's value, a date, a time HH:MM, or text), or the values ticked of checkboxes (a
    string or a list)."""
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
        elif element["type"] == "timepicker":
            chosen = {"type": "timepicker", "selected_time": value}
        elif element["type"] == "checkboxes":
            ticked = [value] if isinstance(value, str) else list(value)
            chosen = {"type": "checkboxes", "selected_options": [
                o for o in element["options"] if o["value"] in ticked]}
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
