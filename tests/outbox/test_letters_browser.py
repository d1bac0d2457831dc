""""Breve til print" in a real browser (headless Chromium, Playwright): the list and a letter
at desktop (1280) and phone (390) widths, no sideways scrolling, the letter as print media
shows it (only the letter: no menu, no buttons), and "Markér som sendt" from the letter.
Screenshots in test-artifacts/screenshots/ (letters-*.png, letter-*.png, letter-print.png).
The HTTP twin is test_letters.py."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from service.keys import CONFIG
from tests.kpis.test_dashboard_browser import log_in
from tests.meetings.email_cases import intake
from tests.meetings.test_employer_pages_browser import browser, screenshot, visit
from tests.meetings.test_staff_moves_browser import SIZES, _options
from tests.outbox.test_letters import letter_case, letters_of
from tests.support import Api, create_staff_users

pytestmark = pytest.mark.chromium
__all__ = ["browser"]


async def test_letters_to_print_in_chromium(browser: Browser, sqlite_api: Api) -> None:
    mail = sqlite_api
    await intake(mail, letter_case("LB-1"))
    await create_staff_users(mail)
    (first, *_) = await letters_of(mail, "LB-1")
    municipality = mail.client.app[CONFIG].municipality.name
    for width, height, name in SIZES:
        async with visit(browser, mail, **_options(width, height, name)) as seen:
            page = seen.page
            await log_in(page, mail, "test-intake", "/letters")
            await expect(page.locator("h1")).to_contain_text("Breve til print")
            await expect(page.locator(f"tr[data-letter='{first.id}']")).to_contain_text(
                "Søvej 2, 7400 Herning")
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await screenshot(page, f"letters-{name}.png")
            await page.click(f"tr[data-letter='{first.id}'] a.button")
            await expect(page.locator("#letter .sender")).to_contain_text(municipality)
            await expect(page.locator("#letter .recipient")).to_contain_text("7400 Herning")
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await screenshot(page, f"letter-{name}.png")
            if name == "desktop":
                await page.emulate_media(media="print")
                await expect(page.locator("header.top")).to_be_hidden()
                await expect(page.locator(".letter-actions")).to_be_hidden()
                await expect(page.locator("#letter")).to_be_visible()
                await screenshot(page, "letter-print.png")
                await page.emulate_media(media="screen")
            else:
                await page.click(".letter-actions button[type=submit]")
                await expect(page.locator("[role=status]")).to_contain_text(
                    "Brevet er markeret som sendt")
    (first, *_) = await letters_of(mail, "LB-1")
    assert first.status == "printed"
