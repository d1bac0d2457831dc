"""The staff's meeting pages in a real browser (headless Chromium, Playwright): a confirmed
meeting whose consultant is away appears in "Møder der skal flyttes" and goes to the colleague
with one click; on a case's meeting page intake moves the meeting to a free time and cancels
it with a reason. Screenshots at desktop (1280) and phone (390) widths in
test-artifacts/screenshots/ (to-move-*.png, meeting-move-*.png). The HTTP twins are
test_conflicts.py and test_staff_moves.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.async_api import Browser, expect

from service.keys import JOBS
from tests.kpis.test_dashboard_browser import log_in
from tests.meetings.email_cases import body, intake, meeting_of
from tests.meetings.test_conflicts import absence, add_row, consultant_of, plan
from tests.meetings.test_employer_pages_browser import browser, screenshot, visit
from tests.support import Api, SmtpSink, create_staff_users

pytestmark = pytest.mark.chromium
__all__ = ["browser"]

SIZES = ((1280, 900, "desktop"), (390, 844, "phone"))


def _options(width: int, height: int, name: str) -> dict[str, object]:
    options: dict[str, object] = {"viewport": {"width": width, "height": height}}
    if name == "phone":
        options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    return options


async def test_meetings_to_move_and_moving_a_meeting(browser: Browser, mail: Api,
                                                     smtp_sink: SmtpSink) -> None:
    await intake(mail, body("b1"), body("b2"))
    for ref in ("b1", "b2"):
        proposal = await meeting_of(mail, ref)
        resp = await mail.client.post(f"/api/cases/{ref}/meeting/confirm",
                                      json={"start": proposal["start"]},
                                      headers=mail.auth("intake"))
        assert resp.status == 200, await resp.text()
    first = await meeting_of(mail, "b1")
    owner = await consultant_of(mail, first)
    day = datetime.fromisoformat(first["start"]).date()
    await add_row(mail, absence(owner, day, day))
    await plan(mail)
    await create_staff_users(mail)

    for width, height, name in SIZES:
        async with visit(browser, mail, **_options(width, height, name)) as seen:
            page = seen.page
            await log_in(page, mail, "test-intake", "/meetings/to-move")
            await expect(page.locator("h1")).to_have_text("Møder der skal flyttes")
            row = page.locator("#moeder-der-skal-flyttes tr[data-case=b1]")
            await expect(row).to_contain_text("fraværende")
            width_now = await page.evaluate("document.documentElement.scrollWidth")
            assert width_now <= width, width_now
            await screenshot(page, f"to-move-{name}.png")
            if name == "phone":
                await row.locator("button", has_text="Giv mødet til").click()
                await expect(page.locator("[role=status]")).to_contain_text(
                    "Mødet og sagen er flyttet til kollegaen")
                await expect(page.locator("#ingen-moeder")).to_be_visible()

            await page.goto(str(mail.client.make_url("/cases/b2")))
            await page.click("#move-meeting")
            await expect(page.locator("h1")).to_contain_text("Flyt eller aflys mødet")
            await screenshot(page, f"meeting-move-{name}.png")
            if name == "desktop":
                chosen = await page.locator("#f-start-2").get_attribute("value")
                await page.check("#f-start-2")
                await page.click("#move-form button[type=submit]")
                await expect(page.locator("[role=status]")).to_contain_text(
                    "Mødet er flyttet")
                assert (await meeting_of(mail, "b2"))["start"] == chosen
                await page.click("#cancel-form >> xpath=.. >> summary")
                await page.click("#cancel-form button[type=submit]")
                await expect(page.locator("#e-f-reason")).to_have_text("Skriv en begrundelse.")
                await page.fill("#f-reason", "lederen er på kursus")
                await page.click("#cancel-form button[type=submit]")
                await expect(page.locator("[role=status]")).to_contain_text("Mødet er aflyst")
                await mail.client.app[JOBS].wait_idle()  # planning proposes anew
    owner_now = (await meeting_of(mail, "b1"))["consultant_id"]
    assert owner_now != owner.key
