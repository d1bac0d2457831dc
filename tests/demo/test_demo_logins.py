"""The demo's `konsulent` login is a consultant with room (issue 22, item 6): after the
history the configuration's first consultant is often full, and a case entered to try the
demo would never reach that login's "Mine sager"."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from service.clock import SystemClock
from service.config import MunicipalityConfig
from service.planning.consultants import sync_consultants
from service.platform.db.engine import Database
from service.platform.db.models import Consultant
from service.platform.sessions import StaffSessions
from service.staff.demo import ROOM_WANTED, consultant_with_room, ensure_demo_users
from service.staff.users import StaffUsers


async def test_the_consultant_login_is_one_with_room(demo_config: MunicipalityConfig,
                                                     sqlite_url: str, tmp_path: Path) -> None:
    clock = SystemClock(demo_config.municipality.timezone)
    db = Database(sqlite_url, clock)
    first, second = demo_config.consultants[0].id, demo_config.consultants[1].id
    try:
        async with db.write() as session:
            await sync_consultants(session, demo_config)
        assert await consultant_with_room(db, demo_config, clock) == first
        # The first consultant is full (as after the history): the login is the next one.
        async with db.write() as session:
            await session.execute(update(Consultant).where(Consultant.key == first)
                                  .values(max_active_cases=ROOM_WANTED - 1))
        logins = await ensure_demo_users(db, demo_config, clock, tmp_path / "logins.txt")
        assert ("consultant", "konsulent") in [(r, u) for r, u, _ in logins]
        users = StaffUsers(db, demo_config, clock, StaffSessions(db, clock, "demo"))
        konsulent = await users.find("konsulent")
        assert konsulent is not None and konsulent.consultant_key == second
    finally:
        await db.dispose()
