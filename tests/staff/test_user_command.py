"""`fasthold user create` end to end (the real command, in this process: `tests.cli`), and the
demo's logins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from service.clock import SystemClock
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.sessions import StaffSessions
from service.staff.demo import DEMO_USERS, ensure_demo_users
from service.staff.users import StaffUsers
from tests.cli import run_cli
from tests.support import TEST_DATA_KEY


def _run(tmp_path: Path, *args: str, password: str | None = "en-lang-adgangskode"
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'users.db'}",
           "FASTHOLD_DATA_KEY": TEST_DATA_KEY}
    env.pop("FASTHOLD_PASSWORD", None)
    if password is not None:
        env["FASTHOLD_PASSWORD"] = password
    return run_cli("user", "create", *args, env=env)


def test_user_create_validates_and_stores_only_a_hash(tmp_path: Path) -> None:
    made = _run(tmp_path, "--username", "Lone.Berg", "--role", "consultant",
                "--consultant-id", "anna")
    assert made.returncode == 0, made.stderr
    _, username, role, consultant = made.stdout.strip().split("\t")
    assert (username, role, consultant) == ("lone.berg", "consultant", "anna")
    assert b"en-lang-adgangskode" not in (tmp_path / "users.db").read_bytes()

    again = _run(tmp_path, "--username", "lone.berg", "--role", "intake")
    assert again.returncode == 2 and "--username" in again.stderr and "findes" in again.stderr
    no_consultant = _run(tmp_path, "--username", "kim", "--role", "consultant")
    assert no_consultant.returncode == 2 and "--consultant-id" in no_consultant.stderr
    unknown = _run(tmp_path, "--username", "kim", "--role", "consultant",
                   "--consultant-id", "findes-ikke")
    assert unknown.returncode == 2 and "Ukendt konsulent" in unknown.stderr
    short = _run(tmp_path, "--username", "kim", "--role", "intake", password="kort")
    assert short.returncode == 2 and "FASTHOLD_PASSWORD" in short.stderr
    assert "mindst 10 tegn" in short.stderr
    bad_name = _run(tmp_path, "--username", "k i m", "--role", "intake")
    assert bad_name.returncode == 2 and "--username" in bad_name.stderr
    no_password = _run(tmp_path, "--username", "kim", "--role", "intake", password=None)
    assert no_password.returncode == 2 and "FASTHOLD_PASSWORD" in no_password.stderr
    bad_role = _run(tmp_path, "--username", "kim", "--role", "chef")
    assert bad_role.returncode == 2


async def test_demo_logins_are_one_per_role_and_stay_the_same(tmp_path: Path,
                                                              demo_config: Any) -> None:
    clock = SystemClock()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", clock)
    try:
        await upgrade_async(db.url)
        path = tmp_path / "logins.txt"
        first = await ensure_demo_users(db, demo_config, clock, path)
        assert [(role, user) for role, user, _ in first] == list(DEMO_USERS)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        second = await ensure_demo_users(db, demo_config, clock, path)
        assert second == first
        users = StaffUsers(db, demo_config, clock, StaffSessions(db, clock, "demo"))
        for _role, username, password in first:
            assert (await users.login(username, password, "127.0.0.1")).user_id is not None
        consultant = await users.find("konsulent")
        assert consultant is not None
        assert consultant.consultant_key == demo_config.consultants[0].id
        # a file written for another database (its passwords open nothing here): new ones
        # are set, and they work
        path.write_text("".join(f"{r}\t{u}\tnot-this-database\n" for r, u, _ in first))
        other = await ensure_demo_users(db, demo_config, clock, path)
        assert all(p != "not-this-database" for _, _, p in other)
        for _role, username, password in other:
            assert (await users.login(username, password, "127.0.0.1")).user_id is not None
        first = other
        path.unlink()  # passwords lost: new ones are set, and they work
        third = await ensure_demo_users(db, demo_config, clock, path)
        assert third != first
        assert (await users.login("leder", dict((r, p) for r, _, p in third)["manager"],
                                  "127.0.0.1")).user_id is not None
    finally:
        await db.dispose()
