"""The demo's logins: one staff user per role, with random passwords kept in a file under
var/ (mode 600) so that every start of the demo prints the same logins."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.consultants.caseload import caseloads
from service.platform.db.engine import Database
from service.platform.db.models import Consultant
from service.platform.sessions import StaffSessions
from service.staff.users import StaffUsers

# The demo's consultant login is a consultant with at least this much room (a newcomer's first
# case should reach "Mine sager"), else the one with the most.
ROOM_WANTED = 5

# username per role (Danish, as staff would say it)
DEMO_USERS = (("intake", "visitation"), ("consultant", "konsulent"), ("manager", "leder"),
              ("admin", "admin"))


def _read(path: Path) -> dict[str, tuple[str, str]]:
    logins: dict[str, tuple[str, str]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                logins[parts[0]] = (parts[1], parts[2])
    return logins


async def ensure_demo_users(db: Database, config: MunicipalityConfig, clock: Clock,
                            path: Path) -> list[tuple[str, str, str]]:
    """Make sure each demo user exists and can log in with the password in `path` (checked);
    returns (role, username, password) per role. The consultant is the first of the
    configuration's in the new role with room (`consultant_with_room`), chosen when the
    login is created."""
    users = StaffUsers(db, config, clock, StaffSessions(db, clock, config.municipality.id))
    known = _read(path)
    logins: list[tuple[str, str, str]] = []
    for role, username in DEMO_USERS:
        remembered = known.get(role)
        existing = await users.find(username)
        if existing is not None and remembered is not None and remembered[0] == username \
                and await users.has_password(username, remembered[1]):
            logins.append((role, username, remembered[1]))
            continue
        # (a file that is not this database's — another demo database wrote it — or a
        # password changed since: a new one is set, so the printed login opens the pages)
        password = secrets.token_urlsafe(12)
        if existing is None:
            consultant = await consultant_with_room(db, config, clock) \
                if role == "consultant" else None
            await users.create(username, role, password, consultant)
        else:
            await users.set_password(existing.id, password, None)
        logins.append((role, username, password))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{r}\t{u}\t{p}\n" for r, u, p in logins), encoding="utf-8")
    path.chmod(0o600)
    return logins


async def consultant_with_room(db: Database, config: MunicipalityConfig, clock: Clock) -> str:
    """The consultant the demo's `konsulent` login is: the first in the configuration's order
    doing workplace meetings today with at least `ROOM_WANTED` free places, else the one with
    the most room (after the history, the first consultant is often full, and a case entered
    to try the demo would go to a colleague)."""
    today = clock.today()
    order = {c.id: n for n, c in enumerate(config.consultants)}
    async with db.read() as session:
        rows = list((await session.execute(select(Consultant).where(
            Consultant.municipality_id == config.municipality.id,
            Consultant.active.is_(True)))).scalars())
        loads = await caseloads(session, config.municipality.id)
    in_role = sorted((r for r in rows if r.key in order and r.workplace_meetings and (
        r.workplace_meetings_from is None or r.workplace_meetings_from <= today)),
        key=lambda r: order[r.key])
    if not in_role:
        return config.consultants[0].id
    room = {r.key: r.max_active_cases - loads.get(r.id, 0) for r in in_role}
    roomy = [r.key for r in in_role if room[r.key] >= ROOM_WANTED]
    return roomy[0] if roomy else max(in_role, key=lambda r: room[r.key]).key
