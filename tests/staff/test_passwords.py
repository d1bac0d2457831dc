"""Password hashing: the unknown user's stand-in hash is made at the first login, not on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.staff import passwords
from tests.support import SERVICE_STAND_IN


def test_importing_hashes_nothing() -> None:
    code = ("import service.staff.passwords as p; "
            "assert p._unknown_user_hash.cache_info().currsize == 0")
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_the_first_login_makes_the_stand_in_hash_whether_the_user_exists_or_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the service's own stand-in, not the suite's cheaper one (tests/support.py)
    monkeypatch.setattr(passwords, "_unknown_user_hash", SERVICE_STAND_IN)
    stored = await passwords.hash_password("rigtig-adgangskode")
    passwords._unknown_user_hash.cache_clear()
    assert await passwords.verify_password(stored, "rigtig-adgangskode")
    assert passwords._unknown_user_hash.cache_info().currsize == 1  # a known user paid for it
    passwords._unknown_user_hash.cache_clear()
    assert not await passwords.verify_password(None, "rigtig-adgangskode")
    assert passwords._unknown_user_hash.cache_info().currsize == 1
    assert not await passwords.verify_password(stored, "forkert-adgangskode")
