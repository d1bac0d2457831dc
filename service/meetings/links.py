"""Signed employer links: `/m/{token}` opens one meeting, until it expires.

The token carries the meeting id and an expiry date, signed with the service's secret key
(itsdangerous). It is valid for that one meeting only. Verification distinguishes a tampered
token (403), an expired one (410) and one whose meeting is unknown (404, decided by the caller).
A form token for POSTs (CSRF) is derived from the link token with a separate salt.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from service.clock import Clock

_LINK_SALT = "fasthold.meeting-link.v1"
_FORM_SALT = "fasthold.meeting-form.v1"


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

    def __init__(self, secret_key: str, municipality_id: str, clock: Clock) -> None:
        self._links = URLSafeSerializer(secret_key, salt=_LINK_SALT)
        self._secret = secret_key.encode("utf-8")
        self.municipality_id = municipality_id
        self.clock = clock

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

    def form_token(self, token: str) -> str:
        """The hidden form field that proves a POST came from our own page (CSRF)."""
        return hmac.new(self._secret, f"{_FORM_SALT}:{token}".encode(), "sha256").hexdigest()

    def check_form_token(self, token: str, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(self.form_token(token), submitted)


def link_expiry(deadline: date, meeting_start: datetime, days_after: int) -> date:
    """Default: the case's first-meeting deadline + 7 days, but never before the meeting + 1."""
    return max(deadline + timedelta(days=days_after), meeting_start.date() + timedelta(days=1))
