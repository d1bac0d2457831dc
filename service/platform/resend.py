"""A staff form sent after its session ran out is not lost (WCAG 2.2.5, re-authenticating:
the user continues without loss of data after logging in again).

1. The form's POST finds the session run out (`service.platform.pages.login_redirect`). If it
   came from our own pages (its `Origin`, else its `Referer`, names this host), the answer is
   a 307 to `/login?sendt=<the form's address>&for=<its user, signed>&next=<the form's page>`:
   the browser sends the same form to the login page.
2. The login page (`service.staff.login`) sees a form that is no login. It shows the login
   form with the sent fields kept in one hidden field (`encode`); a chosen file cannot be
   kept, and the page says so.
3. Logged in again as the same user, a page says the form was not sent and sends it on, with
   the new session's CSRF token, when the user presses its button. Someone else logging in
   at that browser goes on as usual; the kept fields are dropped.

Nothing is stored on the server: the fields travel in the user's own browser, as they did
when typed; the pages are `no-store`. A kept form is good for an hour after it was sent
(`KEPT_FOR`, on the injected clock).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer
from multidict import MultiDictProxy

from service.keys import CLOCK, SECRETS

KEPT_FOR = timedelta(hours=1)
# At most this many characters of fields are kept (the longest form, the minutes with
# their agreements, is a few thousand).
KEPT_LIMIT = 200_000
# Forms that are not sent on after logging in again (logging out).
NOT_KEPT = frozenset({"/logout"})
_SALT = "fasthold-resend"


@dataclass(frozen=True)
class KeptForm:
    """A form sent after its session ran out, on its way through the login page."""

    action: str  # where it was sent (path and query on this site)
    token: str  # its user and when, signed (`for`)
    fields: list[tuple[str, str]]  # its text fields, in order, without the CSRF token
    files_dropped: bool = False

    def encoded(self) -> str:
        return json.dumps({"fields": self.fields, "files_dropped": self.files_dropped},
                          ensure_ascii=False)


def resend_redirect(request: web.Request, user_id: int) -> web.HTTPException | None:
    """The form's way through the login page (307, the browser sends it on), or None when
    it is not to be kept (not from our own pages, or logging out)."""
    if request.path in NOT_KEPT or not _from_our_pages(request):
        return None
    issued = int(request.app[CLOCK].utcnow().timestamp())
    query = {"sendt": request.path_qs, "for": _signer(request).dumps([user_id, issued])}
    page = _referring_page(request)
    if page is not None:
        query["next"] = page
    return web.HTTPTemporaryRedirect("/login?" + urlencode(query),
                                     headers={"Cache-Control": "no-store"})


def kept_user(request: web.Request, token: str | None) -> int | None:
    """The user a kept form belongs to, if `token` is ours and not older than `KEPT_FOR`."""
    if not token or len(token) > 500:
        return None
    try:
        user_id, issued = _signer(request).loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not isinstance(issued, int):
        return None
    age = request.app[CLOCK].utcnow().timestamp() - issued
    return user_id if 0 <= age <= KEPT_FOR.total_seconds() else None


def keep(form: MultiDictProxy[Any], action: str, token: str) -> KeptForm | None:
    """The sent form's text fields to keep (None when there is nothing to keep, or too
    much)."""
    fields = [(name, value) for name, value in form.items()
              if isinstance(value, str) and name != "csrf_token"]
    files = any(not isinstance(value, str) for value in form.values())
    if sum(len(name) + len(value) for name, value in fields) > KEPT_LIMIT:
        return None
    return KeptForm(action, token, fields, files)


def decode(action: str, token: str, text: str) -> KeptForm | None:
    """A kept form back from the login form's hidden field (None if it is not one)."""
    if len(text) > 2 * KEPT_LIMIT:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        return None
    fields: list[tuple[str, str]] = []
    for pair in data["fields"]:
        if not (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(part, str) for part in pair)):
            return None
        fields.append((pair[0], pair[1]))
    return KeptForm(action, token, fields, data.get("files_dropped") is True)


def _from_our_pages(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.host
    return _referring_page(request) is not None


def _referring_page(request: web.Request) -> str | None:
    referer = request.headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc != request.host or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _signer(request: web.Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app[SECRETS].secret_key, salt=_SALT)
