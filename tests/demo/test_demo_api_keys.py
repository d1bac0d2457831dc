"""The demo's API keys (`fasthold demo`, `serve --demo`): one per role, written beside the
database once and the same at every start — and new ones, the old revoked, when the file is
not this database's (another demo database wrote it, or it was lost), so the printed file
always holds keys that open this demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.clock import SystemClock
from service.commands.serve import _demo_keys, _demo_logins
from service.platform.auth import ROLES, authenticate
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.models import ApiKey, StaffUser
from tests.support import TEST_DATA_KEY


def _keys(path: Path) -> dict[str, str]:
    return dict(line.split("\t") for line in path.read_text().splitlines())


async def _working(url: str, keys: dict[str, str]) -> set[str]:
    db = Database(url, SystemClock())
    try:
        async with db.read() as session:
            return {role for role, key in keys.items()
                    if await authenticate(session, key, "demo") is not None}
    finally:
        await db.dispose()


async def test_keys_beside_the_database_kept_and_renewed_when_not_its_own(
        tmp_path: Path, demo_config: Any) -> None:
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    path = await _demo_keys(demo_config, url, cipher)
    assert path == tmp_path / "demo-api-keys-demo.txt"
    first = _keys(path)
    assert set(first) == set(ROLES) and await _working(url, first) == set(ROLES)
    assert await _demo_keys(demo_config, url, cipher) == path and _keys(path) == first

    other = tmp_path / "other"
    other.mkdir()
    other_url = f"sqlite+aiosqlite:///{other / 'demo.db'}"
    other_keys = _keys(await _demo_keys(demo_config, other_url, cipher))
    path.write_text(path.read_text().replace(first["intake"], other_keys["intake"]))
    renewed = _keys(await _demo_keys(demo_config, url, cipher))
    assert renewed != first and await _working(url, renewed) == set(ROLES)
    assert await _working(url, first) == set()  # the old ones revoked
    db = Database(url, SystemClock())
    try:
        async with db.read() as session:
            rows = list((await session.execute(select(ApiKey))).scalars())
        assert len(rows) == 2 * len(ROLES)
    finally:
        await db.dispose()


async def test_the_consultant_key_is_the_consultant_login_s(tmp_path: Path,
                                                             demo_config: Any) -> None:
    """The consultant's API key sees the cases the `konsulent` login sees."""
    cipher = DataCipher.from_env_values(TEST_DATA_KEY)
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await _demo_logins(demo_config, url, cipher)
    keys = _keys(await _demo_keys(demo_config, url, cipher))
    db = Database(url, SystemClock())
    try:
        async with db.read() as session:
            principal = await authenticate(session, keys["consultant"], "demo")
            login = (await session.execute(select(StaffUser.consultant_key).where(
                StaffUser.username == "konsulent"))).scalar_one()
    finally:
        await db.dispose()
    assert principal is not None and principal.consultant_key == login
