"""Intake's pages in a real browser (headless Debian Chromium, driven by Playwright): log in
as intake through the login form, register a case with one invalid field, see the Danish
message next to it, fix it, see the decision at once and then the assignment; the list and
the CSV import. Screenshots at desktop (1280) and phone (390) widths in
test-artifacts/screenshots/ (intake-*.png). Nothing is loaded from another host. The HTTP
twins are test_pages.py and test_csv_import.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from service.keys import JOBS
from tests.meetings.test_employer_pages_browser import browser, screenshot, url, visit
from tests.support import STAFF_PASSWORD, Api, Staff, assert_accessible, today_local

pytestmark = pytest.mark.chromium
__all__ = ["browser"]  # the fixture, shared with the employer pages' browser tests

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FIRST_DAY = (today_local() - timedelta(days=15)).isoformat()


async def log_in(page: Page, api: Api, path: str) -> None:
    """Open `path`, get the login form, log in as intake, and land on `path`."""
    await page.goto(url(api, path))
    await expect(page.locator("h1")).to_have_text("Log ind")
    await page.fill("#f-username", "test-intake")
    await page.fill("#f-password", STAFF_PASSWORD)
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"**{path}")


async def fill_case(page: Page, case_id: str, cvr: str) -> None:
    await page.fill("#f-case_id", case_id)
    await page.fill("#f-first_absence_day", FIRST_DAY)
    await page.select_option("#f-employment", "employed")
    await page.select_option("#f-visitation_category", "2")
    await page.fill("#f-expected_absence_weeks", "10")
    await page.fill("#f-employer_cvr", cvr)
    await page.fill("#f-employer_name", "Ærø Åkande Møbler ApS")
    await page.fill("#f-employer_address", "Østergade 4, 7400 Herning")
    await page.fill("#f-employer_contact_name", "Søren Ørsted")
    await page.fill("#f-employer_contact_email", "soren@aakande.example")
    await page.fill("#f-cpr", "010190-1234")
    await page.fill("#f-citizen_name", "Åse Bøgh")


async def test_intake_registers_a_case_and_sees_decision_and_assignment(
        browser: Browser, staff: Staff) -> None:
    api = staff.api
    async with visit(browser, api, viewport=DESKTOP) as seen:
        page = seen.page
        await log_in(page, api, "/new-case")
        await screenshot(page, "intake-01-new-case.png")
        await fill_case(page, "k-browser-1", "1234")  # one invalid field: a 4-digit CVR
        await page.click("main form button[type=submit]")
        cvr = page.locator("#f-employer_cvr")
        await expect(cvr).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#e-f-employer_cvr")).to_have_text(
            "CVR-nummeret skal være 8 cifre.")
        await expect(cvr).to_have_value("1234")  # what was typed is kept
        await expect(page.locator("#f-citizen_name")).to_have_value("Åse Bøgh")
        await expect(page.locator("[role=alert]")).to_contain_text("Ret venligst 1 fejl")
        await assert_accessible(page)
        await screenshot(page, "intake-02-new-case-error.png")

        await cvr.fill("29189919")
        await page.click("main form button[type=submit]")
        await page.wait_for_url("**/cases/k-browser-1?besked=oprettet")
        decision = page.locator("section[aria-labelledby=h-decision]")
        await expect(decision).to_contain_text("I målgruppen")
        await expect(decision).to_contain_text("Møde på arbejdspladsen")
        await expect(decision).to_contain_text("visitationskategori 2 eller 3")
        await expect(page.locator("main")).to_contain_text("CPR 010190-XXXX")
        await screenshot(page, "intake-03-decision.png")

        # Planning runs right after intake: the owner and why, and the proposed meeting.
        await api.client.app[JOBS].wait_idle()
        await page.goto(url(api, "/cases/k-browser-1"))
        owner = page.locator("section[aria-labelledby=h-owner]")
        await expect(owner).to_contain_text("Hvorfor denne konsulent")
        await expect(owner).to_contain_text("Foreslået")
        await expect(page.locator("section[aria-labelledby=h-meetings]")).to_contain_text(
            "På arbejdspladsen")
        await assert_accessible(page)
        await screenshot(page, "intake-04-assigned.png")

        await page.click("header nav >> text=Sager")
        await page.wait_for_url("**/cases")
        await expect(page.locator("table")).to_contain_text("k-browser-1")
        await assert_accessible(page)
        await screenshot(page, "intake-05-cases.png")

    async with visit(browser, api, viewport=PHONE, is_mobile=True, has_touch=True) as seen:
        page = seen.page
        await log_in(page, api, "/cases/k-browser-1")
        await expect(page.locator("section[aria-labelledby=h-owner]")).to_contain_text(
            "Hvorfor denne konsulent")
        # Readable on a phone: nothing wider than the screen.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the case page is {width}px wide on a phone"
        await screenshot(page, "intake-06-phone-case.png")
        await page.goto(url(api, "/cases"))
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the case list is {width}px wide on a phone"
        await screenshot(page, "intake-07-phone-cases.png")
        await page.goto(url(api, "/new-case"))
        await fill_case(page, "k-browser-2", "")
        await page.click("main form button[type=submit]")
        await expect(page.locator("#e-f-employer_cvr")).to_contain_text("CVR-nummer skal udfyldes")
        await screenshot(page, "intake-08-phone-new-case-error.png")


async def test_intake_imports_a_csv_file(browser: Browser, staff: Staff, tmp_path: Path
                                         ) -> None:
    api = staff.api
    csv_file = tmp_path / "sager.csv"
    csv_file.write_text(
        "\ufeffcase_id;first_absence_day;employment;employer_cvr;employer_name;citizen_name\n"
        f"imp-1;{FIRST_DAY};beskæftiget;29189919;Ærø Åkande ApS;Øjvind Ås\n"
        f"imp-2;{FIRST_DAY};beskæftiget;1234;Forkert ApS;\n"
        f"imp-3;{FIRST_DAY};ledig;;;Åse Bøgh\n", encoding="utf-8")
    async with visit(browser, api, viewport=DESKTOP) as seen:
        page = seen.page
        await log_in(page, api, "/import")
        await page.set_input_files("#f-file", str(csv_file))
        await page.click("main form button[type=submit]")
        await page.wait_for_url("**/import/preview")
        await expect(page.locator("main")).to_contain_text("2 nye, 0 findes allerede, 1 afvises")
        await expect(page.locator("main")).to_contain_text(
            "kolonne employer_cvr: CVR-nummeret skal være 8 cifre.")
        await screenshot(page, "intake-09-import-preview.png")
        await page.click("text=Importér 2 gyldige rækker")
        await expect(page.locator("[role=status]")).to_contain_text(
            "2 oprettet · 0 opdateret · 0 uændret · 1 afvist")
        await screenshot(page, "intake-10-import-report.png")
    async with visit(browser, api, viewport=PHONE, is_mobile=True, has_touch=True) as seen:
        await log_in(seen.page, api, "/import")
        width = await seen.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the import page is {width}px wide on a phone"
        await screenshot(seen.page, "intake-11-phone-import.png")
