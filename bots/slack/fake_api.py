"""A local fake of the Slack Web API: an aiohttp server on loopback that answers the methods
the bot uses (`auth.test`, `chat.postMessage`, `chat.update`, `chat.delete`,
`chat.postEphemeral`, `views.open`, `views.publish`) the way Slack does, and records
everything it is sent.

The demo (`fasthold serve --demo`) points the bot at it, so a newcomer sees the bot's messages
on `/demo/slack` without a workspace; the tests point the real slack_sdk client at it over
HTTP. It can refuse on demand: a 429 with `Retry-After`, a 500, or one of Slack's errors
(`not_in_channel`, `channel_not_found`, …) for the next calls of a method. Given a `store`
file (the demo), it keeps the conversations and Home tabs there as JSON after every change
and reads them back at start, so a restart keeps what the workspace showed (and a later
`chat.update` still finds its message).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

log = logging.getLogger("fasthold.slack.fake")

BOT_USER_ID = "UFASTHOLDBOT"
BOT_ID = "BFASTHOLD"
TEAM_ID = "TDEMO0001"


@dataclass(frozen=True)
class ApiCall:
    """One request as the fake received it, and what it answered."""

    number: int
    method: str
    args: dict[str, Any]
    status: int
    error: str | None


@dataclass
class Posted:
    """A message in a conversation; `edits` counts the chat.update calls it has had."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    edits: int = 0
    ephemeral_for: str | None = None  # chat.postEphemeral: only this user sees it


@dataclass
class OpenedView:
    """A modal opened by views.open for the user who clicked (known from the trigger id)."""

    view_id: str
    user_id: str
    view: dict[str, Any]
    closed: bool = False
    place: str = ""  # where the demo page showed it opening (it closes when the user leaves)


@dataclass
class _Refusal:
    status: int
    error: str
    retry_after: int | None


@dataclass
class FakeSlackApi:
    """The fake server. `users`: the workspace's user ids (None: any id starting with U);
    `channels`: the channels the bot is a member of (others answer `not_in_channel`)."""

    token: str = "xoxb-fasthold-fake"
    users: set[str] | None = None
    channels: set[str] = field(default_factory=set)
    calls: list[ApiCall] = field(default_factory=list)
    conversations: dict[str, list[Posted]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: list[OpenedView] = field(default_factory=list)
    port: int = 0
    store: Path | None = None
    _refusals: dict[str, deque[_Refusal]] = field(default_factory=dict)
    _triggers: dict[str, str] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    # -- running --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What slack_sdk's `base_url` must be (it appends the method name)."""
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> FakeSlackApi:
        self._load()
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    _KEPT = frozenset({"chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral",
                       "views.publish"})

    def _load(self) -> None:
        if self.store is None or not self.store.exists():
            return
        try:
            kept = json.loads(self.store.read_text(encoding="utf-8"))
            self.conversations = {channel: [Posted(**p) for p in posts]
                                  for channel, posts in kept["conversations"].items()}
            self.homes = dict(kept["homes"])
            last = int(kept["counter"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("the fake Slack's kept workspace %s is unreadable (%s); starting empty",
                        self.store, error)
            return
        self._counter = itertools.count(last + 1)

    def _save(self) -> None:
        if self.store is None:
            return
        counter = next(self._counter)
        self._counter = itertools.count(counter)  # peeked, not used
        kept = {"counter": counter, "homes": self.homes,
                "conversations": {channel: [asdict(p) for p in posts]
                                  for channel, posts in self.conversations.items()}}
        partial = self.store.with_name(self.store.name + ".part")
        partial.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        partial.replace(self.store)

    # -- what tests and the demo ask of it ------------------------------------------------

    def refuse_next(self, method: str, status: int = 429, *, error: str = "ratelimited",
                    retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` are refused with this HTTP status (429 answers
        carry `Retry-After`, 30 s unless given) and Slack error code."""
        if status == 429 and retry_after is None:
            retry_after = 30
        queue = self._refusals.setdefault(method, deque())
        queue.extend(_Refusal(status, error, retry_after) for _ in range(times))

    def issue_trigger(self, user_id: str) -> str:
        """A trigger id for an interaction of `user_id` (Slack puts one in every click)."""
        trigger = f"{next(self._counter)}.{TEAM_ID}.{user_id}"
        self._triggers[trigger] = user_id
        return trigger

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def payloads(self) -> Iterable[tuple[str, Any]]:
        """Everything the bot sent (method, arguments): for the privacy scan."""
        return ((c.method, c.args) for c in self.calls)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the app's direct-message conversation with a user."""
        return "D" + user_id[1:]

    def conversation(self, channel: str) -> list[Posted]:
        return list(self.conversations.get(channel, []))

    def open_view(self, user_id: str) -> OpenedView | None:
        """The modal the user has open (the last one opened and not closed), if any."""
        return next((v for v in reversed(self.views) if v.user_id == user_id and not v.closed),
                    None)

    def close_view(self, view_id: str) -> None:
        for view in self.views:
            if view.view_id == view_id:
                view.closed = True

    # -- the protocol ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        number = len(self.calls) + 1
        queue = self._refusals.get(method)
        if queue:
            refusal = queue.popleft()
            self.calls.append(ApiCall(number, method, args, refusal.status, refusal.error))
            headers = {"Retry-After": str(refusal.retry_after)} \
                if refusal.retry_after is not None else {}
            return web.json_response({"ok": False, "error": refusal.error},
                                     status=refusal.status, headers=headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}" \
                and args.get("token") != self.token:
            return self._answer(number, method, args, {"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._answer(number, method, args,
                                {"ok": False, "error": "unknown_method"}, status=404)
        answer = self._answer(number, method, args, handler(args))
        if method in self._KEPT and answer.status == 200:
            self._save()
        return answer

    def _answer(self, number: int, method: str, args: dict[str, Any], body: dict[str, Any],
                status: int = 200) -> web.Response:
        self.calls.append(ApiCall(number, method, args, status,
                                  None if body.get("ok") else str(body.get("error"))))
        return web.json_response(body, status=status)

    def _is_user(self, user_id: str) -> bool:
        return user_id.startswith(("U", "W")) and (self.users is None or user_id in self.users)

    def _resolve(self, channel: str) -> tuple[str | None, str | None]:
        """(conversation id, error) for a `channel` argument: a user id means the DM."""
        if channel.startswith(("U", "W")):
            return (self.dm_channel(channel), None) if self._is_user(channel) \
                else (None, "channel_not_found")
        if channel.startswith("D"):
            return (channel, None) if self._is_user("U" + channel[1:]) \
                else (None, "channel_not_found")
        if channel not in self.channels:
            return None, "not_in_channel"
        return channel, None

    def _new_ts(self) -> str:
        return f"1764230400.{next(self._counter):06d}"

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fasthold-demo.slack.com/", "team": "Fasthold demo",
                "user": "fasthold", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel, error = self._resolve(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        posted = Posted(channel, self._new_ts(), str(args.get("text", "")),
                        list(args.get("blocks") or []))
        self.conversations.setdefault(channel, []).append(posted)
        return {"ok": True, "channel": channel, "ts": posted.ts,
                "message": {"text": posted.text, "blocks": posted.blocks, "ts": posted.ts,
                            "bot_id": BOT_ID}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        found = next((p for p in self.conversations.get(channel, []) if p.ts == ts), None)
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        found.text = str(args.get("text", found.text))
        if "blocks" in args:
            found.blocks = list(args.get("blocks") or [])
        found.edits += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": found.text}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        conversation = self.conversations.get(channel, [])
        found = next((p for p in conversation if p.ts == ts), None)
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        conversation.remove(found)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        user = str(args.get("user", ""))
        if not self._is_user(user):
            return {"ok": False, "error": "user_not_found"}
        channel, error = self._resolve(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": error}
        posted = Posted(channel, self._new_ts(), str(args.get("text", "")),
                        list(args.get("blocks") or []), ephemeral_for=user)
        self.conversations.setdefault(channel, []).append(posted)
        return {"ok": True, "message_ts": posted.ts}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.pop(str(args.get("trigger_id", "")), None)
        if user is None:
            return {"ok": False, "error": "invalid_trigger"}
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal" or \
                not _modal_fits(view):
            return {"ok": False, "error": "invalid_arguments"}
        opened = OpenedView(f"V{next(self._counter):08d}", user, view)
        self.views.append(opened)
        return {"ok": True, "view": {"id": opened.view_id, **view}}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        if not self._is_user(user):
            return {"ok": False, "error": "user_not_found"}
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_arguments"}
        self.homes[user] = view
        return {"ok": True, "view": {"id": f"V{next(self._counter):08d}", **view}}


def _modal_fits(view: dict[str, Any]) -> bool:
    """Slack's limits for a modal: a title (and submit/close texts) of at most 24
    characters, at most 100 blocks, private_metadata of at most 3000 characters."""
    for key in ("title", "submit", "close"):
        text = (view.get(key) or {}).get("text", "")
        if len(text) > 24 or (key == "title" and not text):
            return False
    return len(view.get("blocks") or []) <= 100 and \
        len(str(view.get("private_metadata") or "")) <= 3000


async def _arguments(request: web.Request) -> dict[str, Any]:
    """JSON bodies as they are; form bodies with their JSON-encoded fields decoded; and the
    query string's arguments (slack_sdk sends some methods', e.g. chat.delete's, there)."""
    query: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return query
        return {**query, **body} if isinstance(body, dict) else query
    form = await request.post()
    args: dict[str, Any] = query
    for key, value in form.items():
        text = value if isinstance(value, str) else ""
        if key in ("blocks", "view", "attachments") and text:
            try:
                args[key] = json.loads(text)
                continue
            except ValueError:
                pass
        args[key] = text
    return args
