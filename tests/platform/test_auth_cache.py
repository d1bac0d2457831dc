"""The API key check on the hot path: a working key is remembered (no query per request) for
at most `KNOWN_KEY_TTL`, so a key revoked (`fasthold apikey revoke`, another process) stops
working within that time; an unknown or revoked key is never remembered, so a new key works
at once and a refused one stays refused."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.clock import SettableClock
from service.platform.auth import KNOWN_KEY_TTL, Authenticator, create_key, revoke_key
from service.platform.db.engine import Database


async def test_a_revoked_key_stops_working_within_the_ttl(sqlite_url: str) -> None:
    clock = SettableClock(datetime(2026, 12, 4, 9, 0))
    db = Database(sqlite_url, clock)
    try:
        auth = Authenticator(db.read, clock, municipality_id="demo")
        assert await auth.principal("fh_unknown") is None
        async with db.write() as session:
            row, key = await create_key(session, "demo", "bench", "intake")
            _, other = await create_key(session, "demo", "other", "manager")
            _, elsewhere = await create_key(session, "herning", "x", "intake")
        found = await auth.principal(key)
        assert found is not None and (found.key_id, found.role) == (row.id, "intake")
        assert await auth.principal(elsewhere) is None  # another municipality's key
        async with db.write() as session:
            assert await revoke_key(session, row.id, clock, municipality_id="demo")
        # Remembered: still the same principal until the TTL is over ...
        clock.advance(KNOWN_KEY_TTL - timedelta(seconds=1))
        assert await auth.principal(key) == found
        # ... then looked up again: revoked, refused, and not remembered as working.
        clock.advance(timedelta(seconds=2))
        assert await auth.principal(key) is None
        assert await auth.principal(key) is None
        assert (await auth.principal(other)) is not None  # other keys unaffected
    finally:
        await db.dispose()
