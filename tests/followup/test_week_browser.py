"""The consultant's pages in a real browser (headless Debian Chromium, driven by Playwright):
log in as a consultant, see "Mine sager" with the next actions, register a call on a case,
and see the week as a calendar with meetings, travel time and a busy entry; screenshots at
desktop (1280) and phone (390) widths in test-artifacts/screenshots/ (week-*.png,
my-cases-*.png). Nothing is loaded from another host. The HTTP twin is test_pages.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import CalendarEntry, Consultant, Meeting
from tests.kpis.test_dashboard_browser import log_in
from tests.meetings.email_cases import body, intake
from tests.meetings.test_employer_pages_browser import browser, screenshot, url, visit
from tests.support import Api, create_staff_users, make_secrets, start_api

pytestmark = pytest.mark.chromium
__all__ = ["browser"]

TODAY = date(2026, 12, 1)  # a Tuesday
EMPLOYERS = [
    {"cvr": "12345678", "name": "Sunds Træ ApS", "contact_email": "leder@sundstrae.example",
     "address": "Fabriksvej 3, 7451 Sunds", "location": {"lat": 56.205, "lon": 9.02}},
    {"cvr": "55667788", "name": "Brande Byg", "contact_email": "byg@brande.example",
     "address": "Byggevej 2, 7330 Brande", "location": {"lat": 55.94, "lon": 9.12}},
    {"cvr": "44556677", "name": "Ikast Metal", "contact_email": "hr@ikastmetal.example",
     "address": "Industrivej 9, 7430 Ikast", "location": {"lat": 56.14, "lon": 9.16}},
]


@pytest.fixture
async def week_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(8, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        absence = (TODAY - timedelta(days=12)).isoformat()
        await intake(api, *(body(f"uge-{i + 1}", first_absence_day=absence, employer=employer)
                            for i, employer in enumerate(EMPLOYERS)))
        for i in range(len(EMPLOYERS)):
            resp = await api.client.put(f"/api/cases/uge-{i + 1}/owner", json={
                "consultant_id": "anna", "reason": "test"}, headers=api.auth("intake"))
            assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        await create_staff_users(api)
        yield api


async def test_consultant_sees_cases_and_the_week(browser: Browser, week_api: Api) -> None:
    api = week_api
    async with api.client.app[DB].write() as session:
        first = (await session.execute(select(Meeting).order_by(Meeting.start).limit(1))
                 ).unique().scalar_one()
        anna = (await session.execute(select(Consultant).where(Consultant.key == "anna"))
                ).scalar_one()
        day = first.start.date()
        session.add(CalendarEntry(municipality_id="demo", consultant_id=anna.id,
                                  start=datetime.combine(day, time(8, 0)),
                                  end=datetime.combine(day, time(8, 45)), title="Teammøde"))
    year, week, _ = first.start.isocalendar()
    for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
        options = {"viewport": {"width": width, "height": height}}
        if name == "phone":
            options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        async with visit(browser, api, **options) as seen:
            page = seen.page
            await log_in(page, api, "test-consultant", "/my-cases")
            await expect(page.locator("h1")).to_have_text("Mine sager")
            rows = page.locator("#mine-sager tbody tr")
            await expect(rows).to_have_count(3)
            await expect(page.locator("td.next-action", has_text="Ring til borgeren")
                         .first).to_be_visible()
            await screenshot(page, f"my-cases-{name}.png")
            if name == "desktop":
                # Register the call to the citizen on the case page.
                await page.click("a:text('uge-1')")
                await expect(page.locator("h1")).to_have_text("Sag uge-1")
                await page.click("button:text('Jeg har ringet til borgeren')")
                await expect(page.locator("[role=status]")).to_have_text(
                    "Opkaldet til borgeren er registreret.")
                await expect(page.locator("#next-action")).to_contain_text(
                    "Ring til arbejdsgiveren")
                await screenshot(page, "case-desktop.png")
            await page.click("nav a:text('Min uge')")
            await expect(page.locator("h1")).to_have_text("Min uge")
            if (year, week) != TODAY.isocalendar()[:2]:
                await page.click("a[rel=next]")
            await expect(page.locator("#f-uge")).to_have_value(f"{year}-W{week:02d}")
            meetings = page.locator(".block.meeting")
            assert await meetings.count() >= 1
            await expect(meetings.first).to_contain_text("Samtale på arbejdspladsen")
            await expect(page.locator(".block.busy")).to_contain_text("Teammøde")
            if first.travel_minutes:
                travel = page.locator(".block.travel").first
                await expect(travel).to_contain_text(f"{first.travel_minutes} min. til sag")
                # A short block clips its text: the whole of it is its title (on hover).
                assert f"{first.travel_minutes} min. til sag" in \
                    (await travel.get_attribute("title") or "")
            title = await meetings.first.get_attribute("title") or ""
            assert title.startswith(await meetings.first.locator(".when").inner_text())
            assert "Samtale på arbejdspladsen" in title
            # The title is for a mouse only: a meeting's link names its case, day and time,
            # each its own ...
            names = [await link.evaluate("a => a.textContent.replace(/\\s+/g, ' ')")
                     for link in await page.locator(".block.meeting a").all()]
            assert all(n.startswith("Samtale på arbejdspladsen, sag uge-") for n in names), names
            assert len(set(names)) == len(names), names
            if name == "desktop":
                # ... and on a wide screen, where a short block clips its text, the whole of
                # every block is in the list below the calendar.
                listed = page.locator("#uge-liste")
                await expect(listed).to_be_visible()
                await expect(listed).to_contain_text("Teammøde")
                await expect(listed).to_contain_text("Sag uge-")
                if first.travel_minutes:
                    await expect(listed).to_contain_text(
                        f"{first.travel_minutes} min. til sag")
                await expect(page.locator("#f-uge")).to_have_attribute("aria-describedby",
                                                                        "h-uge")
                await expect(page.locator("#h-uge")).to_contain_text("ÅÅÅÅ-Wuu")
            else:
                await expect(page.locator("#uge-liste")).to_be_hidden()  # blocks show all
            width_now = await page.evaluate("document.documentElement.scrollWidth")
            assert width_now <= width, width_now
            if name == "desktop":
                # Blocks at the same time stand side by side, never on top of each other.
                boxes = [b for b in [await block.bounding_box() for block in
                                     await page.locator(".block").all()] if b is not None]
                for i, one in enumerate(boxes):
                    for other in boxes[i + 1:]:
                        same_time = (one["y"] < other["y"] + other["height"] - 1
                                     and other["y"] < one["y"] + one["height"] - 1)
                        same_place = (one["x"] < other["x"] + other["width"] - 1
                                      and other["x"] < one["x"] + one["width"] - 1)
                        assert not (same_time and same_place), (one, other)
            await screenshot(page, f"week-{name}.png")
            # A meeting leads to its case.
            await meetings.first.locator("a").click()
            await expect(page.locator("h1")).to_contain_text("Sag uge-")
            if name == "phone":
                # At 320 px (a 1280 px screen at 400 % zoom) nothing scrolls sideways: the
                # case page, Mine sager and the week.
                await page.set_viewport_size({"width": 320, "height": 700})
                for path in (page.url, url(api, "/my-cases"), url(api, "/week")):
                    await page.goto(path)
                    wide = await page.evaluate("document.documentElement.scrollWidth")
                    assert wide <= 320, (path, wide)
    # The staff case page and the audit log's search at 320 px.
    async with visit(browser, api, viewport={"width": 320, "height": 700}) as seen:
        page = seen.page
        await log_in(page, api, "test-admin", "/admin/audit")
        for path in ("/admin/audit", "/cases/uge-1"):
            await page.goto(url(api, path))
            await expect(page.locator("h1")).to_be_visible()
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 320, (path, wide)
