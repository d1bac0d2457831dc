"""A consultant's published calendar (.ics URL) imported as busy time: the API, the import
at once and by the periodic job, planning around it, a feed that fails, the week page.

The feed is served by a local aiohttp server; the app runs on a real SQLite file with a
settable clock on Friday 19 March 2027 (the horizon spans the DST change of 28 March)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from service.calendars.imports import URL_PURPOSE
from service.keys import CALENDAR_IMPORTS, DB, JOBS
from service.platform.auth import Principal, system_principal
from service.platform.db.models import (
    AuditEntry,
    CalendarSource,
    PlanningRun,
)
from service.platform.jobqueue import IMPORT_CALENDARS
from tests.calendars.helpers import case as case_of_anna
from tests.calendars.helpers import (
    get_feed,
    imported,
    overlapping,
    proposals_of,
    put_feed,
)
from tests.calendars.samples import BUSY, OUTLOOK
from tests.meetings.email_cases import intake
from tests.support import Staff

SECRET_PATH = "/owa/calendar/5f1c0d6e9a@demo.example/8b2e41f7c3d94a0e/reachcalendar.ics"


@dataclass
class Feed:
    """A calendar server: what it answers, and how often it was asked."""

    server: TestServer
    body: bytes = OUTLOOK.encode("utf-8")
    status: int = 200
    hits: int = 0
    bodies: dict[str, bytes] = field(default_factory=dict)

    def url(self, path: str = SECRET_PATH) -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    app = web.Application()
    holder: list[Feed] = []

    async def serve(request: web.Request) -> web.Response:
        state = holder[0]
        state.hits += 1
        if request.path in state.bodies:
            return web.Response(body=state.bodies[request.path],
                                content_type="text/calendar")
        return web.Response(body=state.body, status=state.status,
                            content_type="text/calendar" if state.status == 200
                            else "text/html")

    app.router.add_get("/{tail:.*}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=None)  # the test's server: its paths are the secret
    holder.append(Feed(server))
    try:
        yield holder[0]
    finally:
        await server.close()


async def test_a_published_outlook_calendar_is_imported_and_planned_around(
        staff: Staff, feed: Feed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api = staff.api
    status, out = await put_feed(api, "consultant", "anna", {"url": feed.url()})
    assert status == 200, out
    assert out["configured"] and out["kind"] == "ics" and out["last_error"] is None
    assert out["url"] == f"http://127.0.0.1:{feed.server.port}/…"  # masked
    assert out["events"] == len(BUSY) and out["last_success_at"].endswith("+00:00")
    assert await imported(api) == BUSY  # fasthold's own meeting, free and cancelled: not busy

    # The address is stored encrypted (like CPR), never in clear.
    app = api.client.app
    async with app[DB].read() as session:
        source = (await session.execute(select(CalendarSource))).scalar_one()
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.action == "calendar_source.set"))).scalar_one()
    assert SECRET_PATH not in source.url_encrypted and "reachcalendar" not in str(audit.details)
    assert app[CALENDAR_IMPORTS].cipher.decrypt(source.url_encrypted, URL_PURPOSE) == feed.url()

    # Planning: anna's cases get only times outside her busy time (her mornings are taken,
    # but for Wednesday 24 March; she is on a course on 30 and 31 March).
    await intake(api, *(case_of_anna(f"cal-{n}", 56.10 + n / 100) for n in range(4)))
    slots = await proposals_of(api, "anna")
    assert len(slots) >= 4
    assert overlapping(slots, BUSY) == []
    async with app[DB].read() as session:
        runs = list((await session.execute(select(PlanningRun.trigger))).scalars())
    assert any("calendar" in trigger for trigger in runs)

    # The feed fails: the last good import is kept, the error and the last success shown.
    feed.status, feed.body = 500, b"<html>Internal error</html>"
    first_success = out["last_success_at"]
    assert await app[JOBS].run_now(IMPORT_CALENDARS, "demo") == 0
    status, out = await get_feed(api, "manager", "anna")
    assert status == 200
    assert out["last_error"] == "Kalenderens server svarede med en fejl (500)."
    assert out["last_success_at"] == first_success and out["events"] == len(BUSY)
    assert await imported(api) == BUSY
    feed.status, feed.body = 200, b"<!DOCTYPE html><html><body>Log ind</body></html>"
    await app[JOBS].run_now(IMPORT_CALENDARS, "demo")
    status, out = await get_feed(api, "consultant", "anna")
    assert out["last_error"].startswith("Adressen gav ikke en kalender")
    assert await imported(api) == BUSY

    for role, path in (("consultant", "/week?uge=2027-W12"),
                       ("manager", "/week?uge=2027-W12&konsulent=anna")):
        browser = await staff.login(role)
        response, page = await browser.get(path)
        assert response.status == 200
        assert "Kalenderen kunne ikke hentes kl. 10.00: Adressen gav ikke en kalender" in page
        assert f"Sidst hentet kl. 10.00 ({len(BUSY)} aftaler); de aftaler bruges stadig." \
            in page
        assert f"http://127.0.0.1:{feed.server.port}/…" in page
        assert "8b2e41f7" not in page and "5f1c0d6e9a" not in page
        assert page.count("Optaget (egen kalender)") >= 4  # the busy blocks of the week

    # The secret address is in no log line.
    assert feed.hits >= 3
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert "reachcalendar" not in logged and "8b2e41f7" not in logged


async def test_the_periodic_job_imports_every_source_and_one_failing_stops_no_other(
        staff: Staff, feed: Feed) -> None:
    api = staff.api
    app = api.client.app
    spec = app[JOBS].spec(IMPORT_CALENDARS, "demo")  # type: ignore[attr-defined]
    assert spec is not None and spec.every == timedelta(minutes=15) and spec.on_start
    feed.bodies["/bo.ics"] = OUTLOOK.encode("utf-8")
    assert (await put_feed(api, "manager", "anna", {"url": feed.url()}))[0] == 200
    assert (await put_feed(api, "manager", "bo", {"url": feed.url("/bo.ics")}))[0] == 200
    feed.status = 503
    hits = feed.hits
    assert await app[JOBS].run_now(IMPORT_CALENDARS, "demo") == 1
    assert feed.hits == hits + 2
    assert (await get_feed(api, "manager", "anna"))[1]["last_error"] == \
        "Kalenderens server svarede med en fejl (503)."
    assert (await get_feed(api, "manager", "bo"))[1]["last_error"] is None
    # The manager's overview (for a list of consultants): everyone, set or not.
    overview = await app[CALENDAR_IMPORTS].statuses(system_principal("demo", "t", "manager"))
    assert overview["anna"].last_error and overview["bo"].events == len(BUSY)
    assert overview["camilla"].configured is False
    mine = await app[CALENDAR_IMPORTS].statuses(Principal(1, "anna", "consultant", "demo",
                                                          "anna"))
    assert list(mine) == ["anna"]

    # A changed calendar replaces the imported entries (from today on) and asks for planning.
    feed.bodies["/bo.ics"] = OUTLOOK.replace("20270122T130000", "20270122T140000").encode()
    await app[JOBS].run_now(IMPORT_CALENDARS, "demo")
    # (The April EXDATE names 13:00, no instance of the moved series: April counts now.)
    moved = [(datetime(2027, 3, 22, 14), datetime(2027, 3, 22, 14, 30)),
             (datetime(2027, 4, 22, 14), datetime(2027, 4, 22, 14, 30))]
    assert await imported(api, "bo") == sorted(
        [b for b in BUSY if b[0] != datetime(2027, 3, 22, 13)] + moved)
    assert await imported(api, "anna") == BUSY  # its failed import kept the last good one


async def test_who_may_set_a_calendar_and_what_is_refused(staff: Staff, feed: Feed) -> None:
    api = staff.api
    url = feed.url()
    # A consultant sets their own only: another's is answered as unknown.
    assert (await put_feed(api, "consultant", "bo", {"url": url}))[0] == 404
    assert (await get_feed(api, "consultant", "bo"))[0] == 404
    assert (await put_feed(api, "intake", "anna", {"url": url}))[0] == 403
    assert (await put_feed(api, "manager", "nobody", {"url": url}))[0] == 404
    assert (await get_feed(api, "manager", "bo"))[1]["configured"] is False
    for data, name, code in (
            ({"url": "ftp://example.org/cal.ics"}, "url", "string_pattern_mismatch"),
            ({"url": "https://"}, "url", "string_pattern_mismatch"),
            ({"url": "https://:80/x.ics"}, "url", "url_host"),
            ({"url": "https://example.org/" + "x" * 2000}, "url", "string_too_long"),
            ({"url": url, "username": "anna"}, "username", "caldav_only"),
            ({"kind": "caldav", "url": "http://caldav.example.org/anna/"}, "url",
             "url_scheme"),
            ({"url": url, "extra": 1}, "extra", "extra_forbidden")):
        status, out = await put_feed(api, "manager", "anna", data)
        assert status == 422, (data, out)
        assert [(e["field"], e["code"]) for e in out["errors"]] == [(name, code)], out
    assert (await get_feed(api, "manager", "anna"))[1]["configured"] is False

    # webcal:// is how calendar programs write a subscription: fetched as https, which this
    # plain-HTTP test server cannot answer — an error, said in words without the address.
    status, out = await put_feed(api, "consultant", "anna", {
        "url": url.replace("http://", "webcal://")})
    assert status == 200 and out["url"].startswith("webcal://127.0.0.1")
    assert out["last_error"] == "Kalenderens server kunne ikke nås."
    assert out["last_success_at"] is None

    # Removing it forgets the busy time it brought.
    assert (await put_feed(api, "consultant", "anna", {"url": url}))[1]["events"] == len(BUSY)
    resp = await api.client.delete("/api/consultants/anna/calendar-feed",
                                   headers=api.auth("consultant"))
    assert resp.status == 200 and (await resp.json())["configured"] is False
    assert await imported(api) == []


async def test_the_week_page_sets_and_removes_the_calendar(staff: Staff, feed: Feed) -> None:
    browser = await staff.login("consultant")
    _, page = await browser.get("/week?uge=2027-W12")
    assert "Ingen kalender importeres." in page
    response, page = await browser.post("/kalender-import", {
        "url": feed.url(), "tilbage": "/week?uge=2027-W12", "konsulent": "bo"})
    assert response.status == 200 and response.url.path == "/week"
    assert response.url.query.get("kalender") == "sat"
    assert "Kalenderen er sat." in page
    assert f"Kalender importeret kl. 10.00, {len(BUSY)} aftaler." in page
    assert await imported(staff.api, "anna") == BUSY  # their own, whatever the form said
    assert await imported(staff.api, "bo") == []

    response, page = await browser.post("/kalender-import", {"url": "ikke en adresse",
                                                             "tilbage": "https://evil.example/"})
    assert response.url.path == "/week" and response.url.host == "127.0.0.1"
    assert "Skriv hele adressen" in page

    manager = await staff.login("manager")
    response, page = await manager.post("/kalender-import/fjern", {
        "konsulent": "anna", "tilbage": "/week?konsulent=anna"})
    assert response.status == 200 and "Kalenderen importeres ikke længere." in page
    assert "Ingen kalender importeres." in page
    assert await imported(staff.api, "anna") == []
