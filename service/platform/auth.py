"""Staff API keys: random bearer tokens, stored only as SHA-256 hashes, each with one role."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.models import ApiKey

Role = Literal["intake", "consultant", "manager", "admin"]
ROLES: tuple[Role, ...] = ("intake", "consultant", "manager", "admin")
KEY_PREFIX = "fh_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and role (never the key itself)."""

    key_id: int
    name: str
    role: str  # a Role, or "system" / "employer" for actions not made with a key
    municipality_id: str
    consultant_key: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def need_to_know(principal: Principal) -> str | None:
    """The consultant whose cases alone `principal` may list, read and change, or None for the
    roles that see all of the municipality's cases (intake, manager, admin, the service
    itself). A consultant key without a consultant sees no case."""
    if principal.role == "consultant":
        return principal.consultant_key or ""
    return None


def may_see(principal: Principal, owner_key: str | None) -> bool:
    """Whether `principal` may see a case owned by the consultant `owner_key` (None: no
    owner). A case the caller may not see is answered as if it did not exist."""
    only = need_to_know(principal)
    return only is None or (owner_key is not None and owner_key == only)


def system_principal(municipality_id: str, name: str = "planner", role: str = "system"
                     ) -> Principal:
    """The actor for changes the service makes itself or on an employer's answer."""
    return Principal(key_id=0, name=name, role=role, municipality_id=municipality_id)


def hash_key(key: str) -> str:
    # The keys are 256-bit random tokens, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create_key(session: AsyncSession, municipality_id: str, name: str, role: Role,
                     consultant_key: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plain key, which is shown once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(municipality_id=municipality_id, name=name, role=role,
                 key_hash=hash_key(plain), consultant_key=consultant_key)
    session.add(row)
    await session.flush()
    return row, plain


async def authenticate(session: AsyncSession, key: str, municipality_id: str | None = None
                       ) -> Principal | None:
    """The principal for a presented key, or None if unknown or revoked — or, given
    `municipality_id`, a key of another municipality (one database holds many)."""
    query = select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    if municipality_id is not None:
        query = query.where(ApiKey.municipality_id == municipality_id)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        return None
    return Principal(key_id=row.id, name=row.name, role=row.role,
                     municipality_id=row.municipality_id, consultant_key=row.consultant_key)


async def revoke_key(session: AsyncSession, key_id: int, clock: Clock, *,
                     municipality_id: str) -> bool:
    """Revoke `municipality_id`'s active key `key_id`; False when it has no such key (one
    database holds many municipalities: another's key id is unknown here, as in
    `authenticate`)."""
    row = (await session.execute(select(ApiKey).where(
        ApiKey.id == key_id, ApiKey.municipality_id == municipality_id,
        ApiKey.revoked_at.is_(None)))).scalar_one_or_none()
    if row is None:
        return False
    row.revoked_at = clock.utcnow()
    return True


# A key that works is remembered this long: a revoked key stops working within this time.
KNOWN_KEY_TTL = timedelta(seconds=10)


class Authenticator:
    """Looks keys up in the database, remembering working keys for `KNOWN_KEY_TTL` so that a
    busy client does not cost a query per request. Unknown keys are never remembered. Given
    `municipality_id`, only that municipality's keys work (another's is unknown here)."""

    def __init__(self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
                 clock: Clock, ttl: timedelta = KNOWN_KEY_TTL,
                 municipality_id: str | None = None) -> None:
        self.sessions = sessions
        self.municipality_id = municipality_id
        self.clock = clock
        self.ttl = ttl
        self._known: dict[str, tuple[Principal, datetime]] = {}

    async def principal(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = self.clock.utcnow()
        known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        async with self.sessions() as session:
            found = await authenticate(session, key, self.municipality_id)
        if found is None:
            self._known.pop(digest, None)
        else:
            self._known[digest] = (found, now + self.ttl)
        return found
