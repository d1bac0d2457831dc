"""Signed employer links: `/m/{token}` opens one meeting, until it expires.

The token carries the meeting id and an expiry date, signed with the service's secret key
(itsdangerous). It is valid for that one meeting only. Verification distinguishes a tampered
token (403), an expired one (410) and one whose meeting is unknown (404, decided by the caller).
A form token for POSTs (CSRF) is derived from the link token with a separate salt.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from service.clock import Clock

_LINK_SALT = "fasthold.meeting-link.v1"
_FORM_SALT = "fasthold.meeting-form.v1"
# The citizen's link "Jeg vil gerne tale med min konsulent først": the same machinery for
# another purpose (its id is the case's): a token of one purpose never opens the other's page.
TALK_LINK_SALT = "fasthold.private-talk-link.v1"
# A short code to type from a letter (`short_code`): 8 base32 characters (40 bits) after the
# id; guesses are answered 403 and limited like the tokens'.
SHORT_CODE_CHARS = 8
# What people misread on paper, as the base32 alphabet has it (it has no 0, 1, 8 or 9).
_MISREAD = str.maketrans({"0": "O", "1": "I", "8": "B"})
# What people type between the parts, or not: the parts are found without it.
_SEPARATORS = str.maketrans({" ": None, "-": None, ".": None, "\t": None})


class LinkInvalid(Exception):
    """Tampered or malformed: status 403."""


class LinkExpired(Exception):
    """Was valid, is no longer: status 410."""

    def __init__(self, meeting_id: int) -> None:
        super().__init__(f"link for meeting {meeting_id} expired")
        self.meeting_id = meeting_id


@dataclass(frozen=True, slots=True)
class LinkClaims:
    meeting_id: int
    municipality_id: str
    expires_on: date


class MeetingLinks:
    """Creates and checks the tokens of one service instance."""

    def __init__(self, secret_key: str, municipality_id: str, clock: Clock,
                 salt: str = _LINK_SALT) -> None:
        self._links = URLSafeSerializer(secret_key, salt=salt)
        self._secret = secret_key.encode("utf-8")
        self._key = secret_key
        self._salt = salt
        self.municipality_id = municipality_id
        self.clock = clock

    def for_purpose(self, salt: str) -> MeetingLinks:
        """Links of the same service for another purpose (its own salt, for tokens and
        form tokens alike): the id a token carries is then that purpose's (e.g. a case)."""
        return MeetingLinks(self._key, self.municipality_id, self.clock, salt)

    def token(self, meeting_id: int, expires_on: date) -> str:
        """A token for one meeting, valid through `expires_on` (Danish date)."""
        return str(self._links.dumps({"m": meeting_id, "k": self.municipality_id,
                                      "e": expires_on.isoformat()}))

    def verify(self, token: str, today: date | None = None) -> LinkClaims:
        """The claims of a genuine, unexpired token; raises LinkInvalid or LinkExpired."""
        try:
            data = self._links.loads(token)
            claims = LinkClaims(int(data["m"]), str(data["k"]), date.fromisoformat(data["e"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkInvalid("invalid link") from None
        if claims.municipality_id != self.municipality_id:
            raise LinkInvalid("link of another municipality")
        if (today or self.clock.today()) > claims.expires_on:
            raise LinkExpired(claims.meeting_id)
        return claims

    def short_code(self, ident: int) -> str:
        """A code short enough to type from paper, naming `ident` (a case, for the citizen's
        letter): "1234-ABCD-EFGH". It does not expire by itself: the page it opens gives
        the ordinary signed token, which does."""
        mac = self._short_mac(ident)
        return f"{ident}-{mac[:4]}-{mac[4:]}"

    def short_id(self, code: str) -> int:
        """The id a typed short code names (case, spaces, missing or extra dashes and
        misread 0/1/8 forgiven); raises LinkInvalid. The code is the id's digits followed by
        `SHORT_CODE_CHARS` characters: those are the last ones, whatever separates them."""
        typed = code.translate(_SEPARATORS).upper()
        ident, mac = typed[:-SHORT_CODE_CHARS], typed[-SHORT_CODE_CHARS:]
        if not typed.isascii() or not ident.isdigit() or len(ident) > 12:
            raise LinkInvalid("invalid code")
        if not hmac.compare_digest(self._short_mac(int(ident)), mac.translate(_MISREAD)):
            raise LinkInvalid("invalid code")
        return int(ident)

    def _short_mac(self, ident: int) -> str:
        digest = hmac.new(self._secret, f"{self._salt}.short:{self.municipality_id}:{ident}"
                          .encode(), "sha256").digest()
        return base64.b32encode(digest).decode("ascii")[:SHORT_CODE_CHARS]

    def form_token(self, token: str) -> str:
        """The hidden form field that proves a POST came from our own page (CSRF)."""
        form_salt = _FORM_SALT if self._salt == _LINK_SALT else f"{self._salt}.form"
        return hmac.new(self._secret, f"{form_salt}:{token}".encode(), "sha256").hexdigest()

    def check_form_token(self, token: str, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(self.form_token(token), submitted)


def link_expiry(deadline: date, meeting_start: datetime, days_after: int) -> date:
    """Default: the case's first-meeting deadline + 7 days, but never before the meeting + 1."""
    return max(deadline + timedelta(days=days_after), meeting_start.date() + timedelta(days=1))
