"""Password hashing with argon2id (argon2-cffi). Hashing is slow on purpose, so it runs in a
thread: the event loop keeps serving other requests meanwhile."""

from __future__ import annotations

import asyncio
import functools
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.text.errors import danish_error

_HASHER = PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    """Verified against when the username is unknown, so that an unknown user takes as long to
    refuse as a wrong password (the answer's timing does not tell whether a user exists).
    Made at a process's first login, known user or not (so that it tells nothing either),
    not on import: a hash costs 0.15-0.3 s of CPU, which every command and test process paid
    at start-up."""
    return _HASHER.hash("no user has this password")

MIN_LENGTH = 10
MAX_LENGTH = 200


def password_check(password: str, username: str = "") -> tuple[str, str, dict[str, Any]] | None:
    """Why a password may not be used: (English message, code, params), or None."""
    if len(password) < MIN_LENGTH:
        return (f"must be at least {MIN_LENGTH} characters", "string_too_short",
                {"min_length": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        return (f"must be at most {MAX_LENGTH} characters", "string_too_long",
                {"max_length": MAX_LENGTH})
    if username and password.strip().lower() == username.strip().lower():
        return "must not be the username", "password_is_username", {}
    if "\x00" in password:
        return "must not contain the NUL character (U+0000)", "not_storable", {}
    return None


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password may not be used (Danish, as the CLI's prompt says it), or None."""
    check = password_check(password, username)
    return None if check is None else danish_error("password", check[1], check[2])


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def unusable_hash() -> str:
    """The hash of a password nobody knows (a user who logs in only with the municipality's
    own login): a random one, hashed like any other and never shown."""
    return await hash_password(secrets.token_urlsafe(32))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown user) it costs the same and fails."""
    if password_hash is None:
        await asyncio.to_thread(lambda: _verify(_unknown_user_hash(), password + "\x01"))
        return False
    return await asyncio.to_thread(_verify_known, password_hash, password)


def _verify_known(password_hash: str, password: str) -> bool:
    _unknown_user_hash()  # the first login pays for it whether the user exists or not
    return _verify(password_hash, password)
