"""The consultant's calendar feed: a secret subscription address made on /calendar (shown
once, stored hashed), the meetings fasthold booked or proposed with the same UID and SEQUENCE
as the employer's invitations, nothing personal in it; revoked or unknown tokens are 404."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from unittest.mock import Mock

import pytest
from icalendar import Calendar
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.followup.calendar_feed import hash_token
from service.keys import DB, JOBS
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarFeed,
    Case,
    Meeting,
    OutboxMessage,
)
from service.platform.logs import AccessLogger
from tests.meetings.email_cases import body, intake
from tests.support import Staff, StaffBrowser, make_secrets, start_api, start_staff

TODAY = date(2026, 12, 1)


@pytest.fixture
async def staff(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Staff]:
    clock = SettableClock(datetime.combine(TODAY, time(9, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        absence = (TODAY - timedelta(days=10)).isoformat()
        await intake(api, body("feed-1", first_absence_day=absence),
                     body("feed-2", first_absence_day=absence, employer={
                         "cvr": "55667788", "name": "Brande Byg",
                         "contact_email": "byg@brande.example",
                         "address": "Byggevej 2, 7330 Brande",
                         "location": {"lat": 55.94, "lon": 9.12}}))
        for ref in ("feed-1", "feed-2"):
            resp = await api.client.put(f"/api/cases/{ref}/owner", json={
                "consultant_id": "anna", "reason": "test"}, headers=api.auth("intake"))
            assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        async for running in start_staff(api):
            yield running


async def _new_feed(browser: StaffBrowser) -> str:
    """Make a subscription on the page; returns the path of its address."""
    await browser.get("/calendar")
    resp, html = await browser.post("/calendar/new")
    assert resp.status == 200, html
    match = re.search(r'id="feed-url"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="feed-url"',
                      html)
    assert match is not None, html
    url = match.group(1) or match.group(2)
    assert url.startswith("https://") or url.startswith("http://")
    return "/calendar/" + url.rsplit("/calendar/", 1)[1]


def _events(body: bytes) -> list[object]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


async def test_feed_lists_the_consultants_meetings_like_the_invitations(staff: Staff) -> None:
    api = staff.api
    consultant = await staff.login("consultant")
    _, html = await consultant.get("/calendar")
    assert "Du har ikke noget aktivt abonnement." in html
    path = await _new_feed(consultant)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    # The token itself is stored nowhere; only its hash.
    async with api.client.app[DB].read() as session:
        feeds = (await session.execute(select(CalendarFeed))).scalars().all()
    assert [f.token_hash for f in feeds] == [hash_token(token)]
    # Confirm feed-1's meeting (the employer's confirmation carries an .ics): the active one
    # (where the first run proposed it with another consultant, the owner change replaced it).
    async with api.client.app[DB].read() as session:
        one = (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == "feed-1", Meeting.status.in_(ACTIVE_MEETING)))).unique(
        ).scalar_one()
    resp = await api.client.post("/api/cases/feed-1/meeting/confirm", json={
        "start": one.start.isoformat(timespec="minutes")}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    anonymous = await staff.browser()  # a calendar program: no login, no cookies
    response = await anonymous.session.get(anonymous.url(path))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body_bytes = await response.read()
    events = {str(e["SUMMARY"]): e for e in _events(body_bytes)}  # type: ignore[index]
    assert len(events) == 2
    confirmed = next(e for s, e in events.items() if "feed-1" in s)
    proposed = next(e for s, e in events.items() if "feed-2" in s)
    assert str(confirmed["STATUS"]) == "CONFIRMED" and str(proposed["STATUS"]) == "TENTATIVE"
    assert str(proposed["SUMMARY"]).startswith("Foreslået: ")
    assert str(confirmed["LOCATION"]) == "Fabriksvej 3, 7451 Sunds"
    # Same UID and SEQUENCE as the calendar file mailed to the employer.
    async with api.client.app[DB].read() as session:
        mailed = [p for p in (await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.case_id == one.case_id))).scalars() if p.get("ics")]
    assert mailed, "the confirmation carries an .ics"
    invitation = _events(mailed[-1]["ics"].encode())[0]
    assert str(confirmed["UID"]) == str(invitation["UID"])  # type: ignore[index]
    assert int(confirmed["SEQUENCE"]) == int(invitation["SEQUENCE"])  # type: ignore[index]
    assert confirmed.decoded("DTSTART") == invitation.decoded("DTSTART")  # type: ignore[attr-defined]
    # Nothing personal: no name, CPR number or diagnosis group.
    text = body_bytes.decode("utf-8")
    for private in ("Mads", "Madsen", "010190", "mental", "Sunds Træ"):
        assert private not in text, private
    _, html = await consultant.get("/calendar")
    assert "Du har et aktivt abonnement" in html and token not in html  # shown once only


async def test_new_and_revoked_feeds(staff: Staff) -> None:
    consultant = await staff.login("consultant")
    first = await _new_feed(consultant)
    second = await _new_feed(consultant)
    anonymous = await staff.browser()
    assert (await anonymous.session.get(anonymous.url(first))).status == 404
    assert (await anonymous.session.get(anonymous.url(second))).status == 200
    resp, html = await consultant.post("/calendar/revoke")
    assert resp.status == 200 and "Abonnementet er stoppet" in html
    assert (await anonymous.session.get(anonymous.url(second))).status == 404
    assert (await anonymous.session.get(anonymous.url(
        "/calendar/" + "A" * 43 + ".ics"))).status == 404
    # Without the CSRF token nothing is made.
    resp, _ = await consultant.post("/calendar/new", csrf=False)
    assert resp.status == 403


async def test_feed_pages_are_for_consultants(staff: Staff) -> None:
    admin = await staff.login("admin")  # an admin has no consultant: nothing to subscribe
    resp, html = await admin.get("/calendar")
    assert resp.status == 200 and "for fastholdelseskonsulenter" in html
    for role in ("intake", "manager"):
        browser = await staff.login(role)
        assert (await browser.get("/calendar"))[0].status == 403, role


def test_the_access_log_hides_feed_tokens(caplog: pytest.LogCaptureFixture) -> None:
    access = AccessLogger(logging.getLogger("test.access"), "")
    with caplog.at_level(logging.INFO, logger="test.access"):
        access.log(Mock(path="/calendar/secret-token-value-1234567890.ics", remote="127.0.0.1",
                        method="GET", query_string=""), Mock(status=200), 0.01)
        access.log(Mock(path="/calendar", remote="127.0.0.1", method="GET", query_string=""),
                   Mock(status=200), 0.01)
    assert "/calendar/….ics" in caplog.text and "secret-token" not in caplog.text
    assert '"GET /calendar" 200' in caplog.text
