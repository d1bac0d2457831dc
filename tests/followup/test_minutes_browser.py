"""The meeting's minutes in a real browser (headless Chromium, Playwright), issue 20's
acceptance: the consultant fills in the minutes form on their case page (agreements with
who and when, the plan back to full time, a retention plan) and sees them stored on the
case, and the staff case page shows the agreements and the plan (not the note) — at
desktop (1280) and phone (390) widths, nothing wider than the screen; screenshots in
test-artifacts/screenshots/minutes-*.png. The HTTP twin is test_minutes_page.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import Meeting
from service.text.danish import danish_date
from tests.kpis.test_dashboard_browser import log_in
from tests.meetings.email_cases import body, intake
from tests.meetings.test_employer_pages_browser import browser, screenshot, visit
from tests.support import Api, create_staff_users, make_secrets, start_api

pytestmark = pytest.mark.chromium
__all__ = ["browser"]

TODAY = date(2026, 12, 1)  # a Tuesday
SIZES = ((1280, 900, "desktop"), (390, 844, "phone"))
NOTE = "Søvnbesvær"  # staff only


@pytest.fixture
async def minutes_api(demo_config: MunicipalityConfig, sqlite_url: str
                      ) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(8, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        absence = (TODAY - timedelta(days=12)).isoformat()
        await intake(api, *(body(f"ref-{name}", first_absence_day=absence)
                            for _, _, name in SIZES))
        for _, _, name in SIZES:
            resp = await api.client.put(f"/api/cases/ref-{name}/owner", json={
                "consultant_id": "anna", "reason": "test"}, headers=api.auth("intake"))
            assert resp.status == 200, await resp.text()
        await api.client.app[JOBS].wait_idle()
        await create_staff_users(api)
        # The meetings, confirmed by the employers, were held this morning (confirmed: a
        # registration's planning run would otherwise replace the other case's past proposal).
        async with api.client.app[DB].write() as session:
            for meeting in (await session.execute(select(Meeting).where(
                    Meeting.status == "proposed"))).unique().scalars():
                start = datetime.combine(TODAY, time(10, 0))
                meeting.start, meeting.end = start, start + timedelta(hours=1)
                meeting.status = "confirmed"
        clock.set(datetime.combine(TODAY, time(15, 0)))
        yield api


async def _fill_minutes(page: Page) -> None:
    await page.check("#place-workplace")
    await page.check("#took-ja")
    await page.fill("#f-held_at", f"{TODAY.isoformat()}T10:00")
    agreements = (("Find opgaver uden tunge løft", "employer", 7),
                  ("Tal med lægen om skånehensyn", "citizen", 10),
                  ("Ring til arbejdsgiveren om opgaverne", "consultant", 14))
    for i, (what, who, days) in enumerate(agreements):
        await page.fill(f"#f-agreement-{i}-what", what)
        await page.select_option(f"#f-agreement-{i}-who", who)
        await page.fill(f"#f-agreement-{i}-due", (TODAY + timedelta(days=days)).isoformat())
    for i, (days, hours) in enumerate(((7, "12"), (21, "22,5"))):
        await page.fill(f"#f-step-{i}-from", (TODAY + timedelta(days=days)).isoformat())
        await page.fill(f"#f-step-{i}-hours", hours)
    await page.fill("#f-full_time_from", (TODAY + timedelta(days=35)).isoformat())
    await page.check("#f-retention_plan_requested")
    await page.fill("#f-minutes-note", NOTE)


async def test_minutes_form_and_stored_minutes(browser: Browser, minutes_api: Api) -> None:
    api = minutes_api
    for width, height, name in SIZES:
        options = {"viewport": {"width": width, "height": height}}
        if name == "phone":
            options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        async with visit(browser, api, **options) as seen:
            page = seen.page
            await log_in(page, api, "test-consultant", f"/my-cases/ref-{name}")
            await expect(page.locator("h1")).to_have_text(f"Sag ref-{name}")
            form = page.locator("#minutes-form")
            await expect(form.locator("legend", has_text="Mødeguide")).to_be_visible()
            await expect(form.locator("legend", has_text="Aftaler – hvem gør hvad hvornår")
                         ).to_be_visible()
            await _fill_minutes(page)
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await screenshot(page, f"minutes-form-{name}.png")
            await form.locator("button[type=submit]").click()
            await page.wait_for_url("**besked=samtale-holdt")

            # The stored minutes on the case: agreements with who and when, the plan's steps.
            stored = page.locator("#minutes")
            await expect(stored).to_be_visible()
            items = stored.locator("ul.agreements li")
            await expect(items).to_have_count(3)
            await expect(items.nth(0)).to_contain_text(
                "Arbejdsgiveren: Find opgaver uden tunge løft")
            await expect(items.nth(0)).to_contain_text("senest")
            await expect(items.nth(2)).to_contain_text(
                "Konsulenten: Ring til arbejdsgiveren om opgaverne")
            steps = stored.locator("ul.return-plan li")
            await expect(steps).to_have_count(3)
            await expect(steps.nth(0)).to_have_text(
                f"Fra {danish_date(TODAY + timedelta(days=7))}: 12 timer om ugen")
            await expect(steps.nth(1)).to_contain_text("22,5 timer om ugen")
            await expect(steps.nth(2)).to_have_text(
                f"Fuld tid fra {danish_date(TODAY + timedelta(days=35))}")
            await expect(stored).to_contain_text("Fastholdelsesplan ønsket")
            await expect(stored.locator(".minutes-note")).to_have_text(NOTE)
            # The consultant's own agreement is a task on the case.
            await expect(page.get_by_text("Aftale: Ring til arbejdsgiveren om opgaverne")
                         ).to_be_visible()
            for box in [await b.bounding_box() for b in await items.all() + await steps.all()]:
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await stored.scroll_into_view_if_needed()
            await screenshot(page, f"minutes-my-case-{name}.png")

        # The staff case page (intake, managers) shows the agreements and the plan, not the
        # consultant's note.
        async with visit(browser, api, **options) as seen:
            page = seen.page
            await log_in(page, api, "test-manager", f"/cases/ref-{name}")
            stored = page.locator("#minutes")
            await expect(stored.locator("ul.agreements li")).to_have_count(3)
            await expect(stored.locator("ul.agreements li").nth(1)).to_have_text(
                "Borgeren: Tal med lægen om skånehensyn (senest "
                f"{danish_date(TODAY + timedelta(days=10))})")
            await expect(stored.locator("ul.return-plan li")).to_have_count(3)
            await expect(stored.locator("ul.return-plan li").nth(1)).to_contain_text(
                "22,5 timer om ugen")
            assert NOTE not in await page.content()
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await stored.scroll_into_view_if_needed()
            await screenshot(page, f"minutes-case-{name}.png")
