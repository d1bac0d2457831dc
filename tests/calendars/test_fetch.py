"""Fetching a published calendar over HTTP (service.calendars.fetch) from a local server:
redirects, size limit, timeout, error statuses — each a Danish error without the address."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from service.calendars.fetch import fetch_caldav, fetch_ics, fetchable_url
from service.calendars.parse import CalendarError
from tests.calendars.samples import OUTLOOK

BODY = OUTLOOK.encode("utf-8")


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    never = asyncio.Event()

    async def ics(_: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="text/calendar")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # no Content-Length: the limit counts what arrives
        response.content_type = "text/calendar"
        await response.prepare(request)
        for _ in range(50):
            await response.write(BODY)
        return response

    async def slow(_: web.Request) -> web.Response:
        await never.wait()  # answers only when the client has given up
        return web.Response()

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nej")

    app = web.Application()
    app.router.add_get("/cal.ics", ics)
    app.router.add_get("/big.ics", chunked)
    app.router.add_get("/slow.ics", slow)
    app.router.add_get("/status/{code}", status)
    def redirect(to: str) -> web.Handler:
        async def handler(_: web.Request) -> web.Response:
            raise web.HTTPFound(to)
        return handler

    app.router.add_get("/moved", redirect("/cal.ics"))
    app.router.add_get("/loop", redirect("/loop"))
    app.router.add_get("/elsewhere", redirect("ftp://127.0.0.1/cal.ics"))
    app.router.add_get("/metadata", redirect("http://169.254.169.254/latest/meta-data/"))
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        never.set()
        await test_server.close()


async def fetch(server: TestServer, path: str, timeout: float = 10, max_bytes: int = 1_000_000
                ) -> bytes:
    async with aiohttp.ClientSession() as session:
        return await fetch_ics(session, str(server.make_url(path)), timeout=timeout,
                               max_bytes=max_bytes)


async def error(server: TestServer, path: str, **kwargs: float) -> CalendarError:
    with pytest.raises(CalendarError) as raised:
        await fetch(server, path, **kwargs)  # type: ignore[arg-type]
    assert "127.0.0.1" not in raised.value.text and path not in raised.value.text
    return raised.value


async def test_a_calendar_is_fetched_following_a_redirect(server: TestServer) -> None:
    assert await fetch(server, "/cal.ics") == BODY
    assert await fetch(server, "/moved") == BODY


async def test_what_cannot_be_fetched_says_why(server: TestServer) -> None:
    assert (await error(server, "/loop")).code == "redirects"
    assert (await error(server, "/elsewhere")).code == "redirects"
    assert (await error(server, "/status/404")).text.startswith(
        "Kalenderen findes ikke længere på adressen (fejl 404)")
    assert (await error(server, "/status/401")).code == "refused"
    assert (await error(server, "/status/502")).text == \
        "Kalenderens server svarede med en fejl (502)."
    too_big = await error(server, "/cal.ics", max_bytes=1000)
    assert too_big.code == "too_large"
    assert (await error(server, "/big.ics", max_bytes=50_000)).text == \
        "Kalenderen er større end 0,1 MB og blev ikke hentet."
    assert (await error(server, "/slow.ics", timeout=0.3)).text == \
        "Kalenderen svarede ikke inden for 0,3 sekunder."


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(CalendarError) as raised:
            await fetch_ics(session, f"http://127.0.0.1:{port}/x.ics", timeout=5,
                            max_bytes=1000)
    assert raised.value.text == "Kalenderens server kunne ikke nås."


def test_webcal_is_https() -> None:
    assert fetchable_url("webcal://calendar.google.com/calendar/ical/x/basic.ics") == \
        "https://calendar.google.com/calendar/ical/x/basic.ics"
    assert fetchable_url("WEBCALS://h/x.ics") == "https://h/x.ics"
    assert fetchable_url("https://h/x.ics") == "https://h/x.ics"


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/cal.ics",
    "http://0.0.0.0/cal.ics", "http://[::ffff:169.254.169.254]/x", "http://224.0.0.1/x"])
async def test_a_link_local_or_unspecified_address_is_never_fetched(url: str) -> None:
    """Where a cloud machine answers with its own credentials (169.254.169.254) and the like:
    refused before anything is sent (a consultant's key made the service fetch any
    address)."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(CalendarError) as raised:
            await fetch_ics(session, url, timeout=5, max_bytes=1000)
    assert raised.value.code == "not_fetched" and "169.254" not in raised.value.text
    with pytest.raises(CalendarError) as raised:
        await fetch_caldav(url.replace("http://", "https://"), "anna", "hemmelig",
                           start=datetime(2026, 12, 7, tzinfo=UTC),
                           end=datetime(2026, 12, 8, tzinfo=UTC), timeout=5, max_bytes=1000)
    assert raised.value.code == "not_fetched"


async def test_a_redirect_to_such_an_address_is_not_followed(server: TestServer) -> None:
    """Each redirect's target is checked before it is asked."""
    assert (await error(server, "/metadata")).code == "not_fetched"

