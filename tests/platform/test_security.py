"""Hardening at the edge: response headers, no version banner, no API key in a log line from
a malformed request, and a brake on forged employer-link tokens."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.keys import DB, LINKS
from service.platform.db.models import Meeting
from service.platform.security import FailureLimiter
from tests.meetings.email_cases import body, intake
from tests.support import Api, today_local


@pytest.mark.parametrize("path", ["/api/cases", "/healthz", "/", "/api/openapi.json",
                                  "/m/forged-token", "/api/cases/nope"])
async def test_answers_are_not_cached_not_sniffed_and_name_no_version(sqlite_api: Api,
                                                                       path: str) -> None:
    resp = await sqlite_api.client.get(path, headers=sqlite_api.auth("intake"))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    server = resp.headers.get("Server", "")
    assert "aiohttp" not in server and "Python" not in server and "/" not in server


async def _raw_request(api: Api, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(api.client.host, api.client.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("tail", [b"\x01", b"\x7f", b"\x00", b" \x1b[2J"])
async def test_a_malformed_authorization_header_never_logs_the_key(
        sqlite_api: Api, caplog: pytest.LogCaptureFixture, tail: bytes) -> None:
    key = sqlite_api.keys["intake"]
    caplog.set_level(logging.DEBUG)  # every logger, every level, tracebacks included
    answer = await _raw_request(sqlite_api, b"GET /api/cases HTTP/1.1\r\nHost: x\r\n"
                                b"Authorization: Bearer " + key.encode() + tail +
                                b"\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    assert caplog.records, "the malformed request should still be logged (without the key)"
    secret = key.removeprefix("fh_")
    for record in caplog.records:
        formatted = logging.Formatter().format(record)
        assert secret not in formatted, record.name
        assert secret[:12] not in formatted, record.name
    assert any("malformed HTTP request" in r.getMessage() for r in caplog.records)
    assert all(r.levelno < logging.ERROR for r in caplog.records
               if r.name == "aiohttp.server")


async def _meeting_token(api: Api) -> str:
    await intake(api, body("sec1"))
    async with api.client.app[DB].read() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalars().first()
    assert meeting is not None, "planning should have proposed a meeting"
    return api.client.app[LINKS].token(meeting.id, today_local() + timedelta(days=60))


async def test_forged_link_tokens_are_slowed_down_and_valid_links_are_not(
        sqlite_api: Api) -> None:
    token = await _meeting_token(sqlite_api)
    for _ in range(50):  # a valid link, opened again and again, is never refused
        assert (await sqlite_api.client.get(f"/m/{token}")).status == 200
    statuses = [(await sqlite_api.client.get(f"/m/forged{i}.x")).status for i in range(25)]
    assert statuses[:20] == [403] * 20
    assert set(statuses[20:]) == {429}
    refused = await sqlite_api.client.get("/m/forged-again.y")
    assert refused.status == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    # The valid link still works from the same address, and so does its form page.
    assert (await sqlite_api.client.get(f"/m/{token}")).status == 200
    # Other paths are not affected.
    assert (await sqlite_api.client.get("/healthz")).status == 200


def test_the_limit_counts_in_a_sliding_window_on_the_injected_clock() -> None:
    clock = SettableClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    limiter = FailureLimiter(clock, limit=3, window=timedelta(seconds=60))
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.fail("10.0.0.1")
        clock.advance(timedelta(seconds=10))
    assert limiter.retry_after("10.0.0.1") == 30  # the first failure ages out at 60 s
    assert limiter.retry_after("10.0.0.2") == 0  # per address
    clock.advance(timedelta(seconds=30))
    assert limiter.retry_after("10.0.0.1") == 0
