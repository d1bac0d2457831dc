"""The demo's logins: one staff user per role, with random passwords kept in a file under
var/ (mode 600) so that every start of the demo prints the same logins."""

from __future__ import annotations

import secrets
from pathlib import Path

from service.clock import Clock
from service.config import MunicipalityConfig
from service.platform.db.engine import Database
from service.platform.sessions import StaffSessions
from service.staff.users import StaffUsers

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
    """Make sure each demo user exists and can log in with the password in `path`; returns
    (role, username, password) per role. The consultant is the configuration's first."""
    users = StaffUsers(db, config, clock, StaffSessions(db, clock, config.municipality.id))
    known = _read(path)
    logins: list[tuple[str, str, str]] = []
    for role, username in DEMO_USERS:
        remembered = known.get(role)
        existing = await users.find(username)
        if existing is not None and remembered is not None and remembered[0] == username:
            logins.append((role, username, remembered[1]))
            continue
        password = secrets.token_urlsafe(12)
        if existing is None:
            consultant = config.consultants[0].id if role == "consultant" else None
            await users.create(username, role, password, consultant)
        else:
            await users.set_password(existing.id, password, None)
        logins.append((role, username, password))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{r}\t{u}\t{p}\n" for r, u, p in logins), encoding="utf-8")
    path.chmod(0o600)
    return logins
