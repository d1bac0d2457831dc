"""Staff sessions for the pages: a random cookie value per logged-in browser, stored only as
its SHA-256 (`staff_sessions.id`), with a CSRF token, an idle and an absolute expiry.

Logging in always starts a new session (a session id planted before the login is never
promoted); logging out, disabling the user or resetting their password ends sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from service.clock import Clock
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import StaffSession, StaffUser

SESSION_COOKIE = "fasthold_session"
# A session ends after this long without a request, and at the latest this long after login.
IDLE_TIMEOUT = timedelta(minutes=60)
ABSOLUTE_TIMEOUT = timedelta(hours=10)
# `last_seen_at` is written at most this often (a page view is not a database write).
TOUCH_EVERY = timedelta(minutes=1)


def session_id(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


@dataclass(frozen=True)
class StaffLogin:
    """A valid session: who is logged in, and the session's CSRF token."""

    principal: Principal
    user_id: int
    session_id: str
    csrf_token: str


def staff_principal(user: StaffUser) -> Principal:
    """The principal of a staff user: their username is the name in the audit log."""
    return Principal(key_id=user.id, name=user.username, role=user.role,
                     municipality_id=user.municipality_id,
                     consultant_key=user.consultant_key)


class StaffSessions:
    """Creates, finds and ends staff sessions of one municipality."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str,
                 idle: timedelta = IDLE_TIMEOUT, absolute: timedelta = ABSOLUTE_TIMEOUT
                 ) -> None:
        self.db = db
        self.clock = clock
        self.municipality_id = municipality_id
        self.idle = idle
        self.absolute = absolute

    async def start(self, user_id: int, replaces: str | None = None) -> str:
        """A new session for `user_id`; returns the cookie value (shown once, never stored).
        `replaces`: the cookie value the browser presented, whose session ends now."""
        value = secrets.token_urlsafe(32)
        now = self.clock.utcnow()
        async with self.db.write() as session:
            if replaces:
                await session.execute(delete(StaffSession).where(
                    StaffSession.id == session_id(replaces)))
            # Sessions of browsers that never came back end here, not in a table forever.
            await session.execute(delete(StaffSession).where(
                StaffSession.municipality_id == self.municipality_id,
                (StaffSession.expires_at <= now) | (StaffSession.last_seen_at <= now - self.idle)))
            session.add(StaffSession(
                id=session_id(value), municipality_id=self.municipality_id, user_id=user_id,
                csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now,
                expires_at=now + self.absolute))
        return value

    async def find(self, cookie_value: str | None) -> StaffLogin | None:
        """The login behind a cookie value, or None if unknown, expired, or the user is
        disabled. Keeps the session alive (idle timeout)."""
        login, _ = await self.find_or_expired(cookie_value)
        return login

    async def find_or_expired(self, cookie_value: str | None
                              ) -> tuple[StaffLogin | None, int | None]:
        """As `find`, and when the session has just run out (idle or absolute limit; not a
        disabled user), the id of its user: the login page then says so, and a form sent
        too late is kept for that user to send after logging in again."""
        if not cookie_value or len(cookie_value) > 200:
            return None, None
        key = session_id(cookie_value)
        now = self.clock.utcnow()
        async with self.db.read() as session:
            row = (await session.execute(select(StaffSession).where(
                StaffSession.id == key, StaffSession.municipality_id == self.municipality_id))
            ).unique().scalar_one_or_none()
            if row is None:
                return None, None
            user = row.user
            last_seen, expires = as_utc(row.last_seen_at), as_utc(row.expires_at)
            login = StaffLogin(staff_principal(user), user.id, key, row.csrf_token)
            disabled = user.disabled_at is not None
        if disabled or expires <= now or last_seen + self.idle <= now:
            await self.end(cookie_value)
            return None, None if disabled else user.id
        if now - last_seen >= TOUCH_EVERY:
            async with self.db.write() as session:
                await session.execute(update(StaffSession).where(StaffSession.id == key)
                                      .values(last_seen_at=now))
        return login, None

    async def end(self, cookie_value: str) -> None:
        async with self.db.write() as session:
            await session.execute(delete(StaffSession).where(
                StaffSession.id == session_id(cookie_value),
                StaffSession.municipality_id == self.municipality_id))

    async def end_all(self, user_id: int) -> None:
        """End every session of a user (disabled, or a new password)."""
        async with self.db.write() as session:
            await session.execute(delete(StaffSession).where(
                StaffSession.user_id == user_id,
                StaffSession.municipality_id == self.municipality_id))
