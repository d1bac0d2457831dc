"""The tests' one way of waiting: for a condition, with a deadline that names what was awaited."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import wait_until


async def test_returns_the_first_truthy_value_of_a_plain_or_async_condition() -> None:
    seen: list[int] = []

    def plain() -> list[int] | None:
        seen.append(len(seen))
        return seen if len(seen) >= 3 else None

    assert await wait_until(plain, interval=0) == [0, 1, 2]

    async def later() -> str:
        await asyncio.sleep(0)
        return "ready"

    assert await wait_until(later) == "ready"
    assert await wait_until(lambda: asyncio.sleep(0, result=7)) == 7


async def test_fails_at_the_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.1 s for the invitation"):
        await wait_until(lambda: False, timeout=0.1, what="the invitation")
    with pytest.raises(AssertionError, match=r"for 2 mails; got \[\]"):
        await wait_until(lambda: None, timeout=0.05, what=lambda: "2 mails; got []")
