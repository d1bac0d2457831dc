"""The consultants' pages in a real browser (headless Chromium, Playwright): a manager adds a
consultant on `/admin/consultants`, sees the errors in Danish by field, registers an
absence on the consultant's page; a consultant registers their own absence on the week page.
Screenshots at desktop (1280) and phone (390) widths in test-artifacts/screenshots/
(consultants-*.png, consultant-absence-*.png, week-absence-*.png); nothing from another host,
no page wider than the screen. The HTTP twin is test_pages.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from service.config import MunicipalityConfig
from tests.kpis.test_dashboard_browser import log_in
from tests.meetings.test_employer_pages_browser import browser, screenshot, visit
from tests.support import Api, create_staff_users, make_secrets, start_api, today_local

pytestmark = pytest.mark.chromium
__all__ = ["browser"]
WIDTHS = ((1280, 900, "desktop"), (390, 844, "phone"))


@pytest.fixture
async def pages_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await create_staff_users(api)
        yield api


def _options(width: int, height: int, name: str) -> dict[str, object]:
    options: dict[str, object] = {"viewport": {"width": width, "height": height}}
    if name == "phone":
        options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    return options


async def _fits(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


async def _absence(page: Page, days_ahead: int, reason: str) -> None:
    start = today_local() + timedelta(days=days_ahead)
    form = page.locator("#fravaer-form")
    await form.locator("#f-from").fill(start.isoformat())
    await form.locator("#f-to").fill((start + timedelta(days=4)).isoformat())
    await form.locator("#f-reason").select_option(reason)
    # By the keyboard (the phone's date field keeps its picker over the button after a fill).
    await form.locator("button[type=submit]").press("Enter")
    await expect(page.locator("[role=status]")).to_contain_text("Fraværet er registreret.")


async def test_manager_adds_a_consultant_and_an_absence(browser: Browser, pages_api: Api
                                                        ) -> None:
    api = pages_api
    for added, (width, height, name) in enumerate(WIDTHS):
        async with visit(browser, api, **_options(width, height, name)) as seen:
            page = seen.page
            await log_in(page, api, "test-manager", "/admin/consultants")
            await expect(page.locator("h1")).to_have_text("Konsulenter")
            await expect(page.locator("#konsulenter tbody tr")).to_have_count(5 + added)
            await expect(page.locator("#konsulenter")).to_contain_text("0 af 37")
            await _fits(page, width)
            await screenshot(page, f"consultants-{name}.png")
            key = f"ny{name}"
            await page.fill("#f-id", key)
            await page.fill("#f-name", f"Ny Konsulent {name}")
            await page.fill("#f-email", "ny")  # wrong: shown in Danish by the field
            await page.fill("#f-max_active_cases", "20")
            await page.click("text=Tilføj konsulent >> nth=-1")
            await expect(page.locator("#e-f-email")).to_have_text(
                "Skriv en gyldig e-mailadresse, fx navn@firma.dk.")
            await screenshot(page, f"consultants-error-{name}.png")
            await page.fill("#f-email", f"{key}@demo.example")
            await page.fill("#f-address", "Østergade 5, 7430 Ikast")
            await page.check("#f-skills-mental")
            await page.click("text=Tilføj konsulent >> nth=-1")
            await expect(page.locator("h1")).to_contain_text(f"Ny Konsulent {name}")
            await expect(page.locator("[role=status]")).to_have_text("Konsulenten er oprettet.")
            await _absence(page, 10, "ferie")
            await expect(page.locator("#fravaer-liste")).to_contain_text("Ferie")
            await _fits(page, width)
            await screenshot(page, f"consultant-absence-{name}.png")


async def test_consultant_registers_own_absence_on_the_week(browser: Browser, pages_api: Api
                                                            ) -> None:
    api = pages_api
    for width, height, name in WIDTHS:
        async with visit(browser, api, **_options(width, height, name)) as seen:
            page = seen.page
            await log_in(page, api, "test-consultant", "/week")
            await expect(page.locator("h1")).to_have_text("Min uge")
            await _absence(page, 20 if name == "desktop" else 30, "kursus")
            rows = page.locator("#fravaer-liste tbody tr")
            await expect(rows.first).to_contain_text("Kursus")
            await _fits(page, width)
            await screenshot(page, f"week-absence-{name}.png")
            await rows.first.locator("button:text('Slet')").click()
            await expect(page.locator("[role=status]")).to_have_text("Fraværet er slettet.")

