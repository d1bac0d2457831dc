"""The manager's dashboard in a real browser (headless Debian Chromium, driven by Playwright):
log in as a manager through the login form, see the figures with their charts, change the
period, download the CSV; screenshots at desktop (1280) and phone (390) widths in
test-artifacts/screenshots/ (dashboard-*.png). Nothing is loaded from another host. The HTTP
twin is test_dashboard_pages.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest
from playwright.async_api import Browser, Page, expect

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB
from tests.kpis.kpi_data import seed_history
from tests.meetings.test_employer_pages_browser import (
    SCREENSHOTS,
    browser,
    screenshot,
    url,
    visit,
)
from tests.support import (
    STAFF_PASSWORD,
    Api,
    assert_accessible,
    create_staff_users,
    make_secrets,
    start_api,
)

pytestmark = pytest.mark.chromium
__all__ = ["browser"]  # the fixture, shared with the employer pages' browser tests

TODAY = date(2027, 1, 20)


@pytest.fixture
async def history_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await seed_history(api.client.app[DB], date(2026, 6, 1), TODAY)
        await create_staff_users(api)
        yield api


async def log_in(page: Page, api: Api, username: str, path: str) -> None:
    """Open `path`, get the login form, log in, and land on `path`."""
    await page.goto(url(api, path))
    await expect(page.locator("h1")).to_have_text("Log ind")
    await page.fill("#f-username", username)
    await page.fill("#f-password", STAFF_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{path}")


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: tuple[int, ...], other: tuple[int, ...]) -> float:
    """WCAG's contrast ratio of two sRGB colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours(css: str) -> list[tuple[int, ...]]:
    """The rgb()/rgba() colours in a computed style value."""
    return [tuple(int(float(v)) for v in found.split(",")[:3])
            for found in re.findall(r"rgba?\(([^)]*)\)", css)]


# The staff pages' backgrounds a focused element may stand on: cards, the page, the header.
FOCUS_BACKGROUNDS = {"white card": (255, 255, 255), "page": (0xf4, 0xf5, 0xf7),
                     "header": (0x1f, 0x4e, 0x79)}


async def assert_focus_visible(page: Page, selector: str) -> None:
    """The element, focused from the keyboard, has a focus indicator of at least 3:1 against
    every background of the staff pages (WCAG 1.4.11): its outline or the ring around it."""
    await page.focus(selector)
    style = await page.locator(selector).evaluate(
        "e => { const s = getComputedStyle(e); "
        "return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }")
    assert style[0] != "none" and float(style[1].removesuffix("px")) >= 2, style
    rings = colours(style[2]) + colours(style[3])
    for name, background in FOCUS_BACKGROUNDS.items():
        best = max(contrast(ring, background) for ring in rings)
        assert best >= 3, (selector, name, style, best)


async def test_manager_sees_the_dashboard_with_charts(browser: Browser,
                                                      history_api: Api) -> None:
    api = history_api
    async with visit(browser, api, viewport={"width": 1280, "height": 900}) as seen:
        page = seen.page
        await log_in(page, api, "test-manager", "/dashboard")
        await expect(page.locator("h1")).to_have_text("Nøgletal")
        await expect(page.locator("nav a[aria-current=page]")).to_have_text("Nøgletal")
        charts = page.locator("svg.chart:visible")
        await expect(charts).to_have_count(8)
        # Every chart is drawn (not an empty box) and labelled.
        for index in range(7):
            box = await charts.nth(index).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150
        first = charts.first
        await expect(first.locator("title").first).to_have_text(
            "Andel første samtaler på arbejdspladsen – modellens tal mod milepælen")
        await expect(first).to_contain_text("Modellens tal")
        await expect(first).to_contain_text("Kun målgruppen")
        await expect(first).to_contain_text("Milepæl")
        await expect(first).to_contain_text("Mål 70 %")
        assert await first.locator("polyline").count() >= 1  # the share's line
        # December's workplace share against its milestone (39 %) in the table.
        row = page.locator("#tal-workplace_share")
        await expect(row).to_contain_text("milepæl 39 %")
        await expect(page.locator("#tal-first_meetings th")).to_contain_text(
            "første afholdte samtale")
        await assert_accessible(page)
        await screenshot(page, "dashboard-desktop.png")
        # The focus is visible on a white card, on the page's grey and in the blue header.
        for selector in ("#f-from", "a[href='#risiko']", "header.top nav a[aria-current=page]",
                         "div.table-wrap[aria-label='Tal pr. måned']"):
            await assert_focus_visible(page, selector)
        # Met or not is said in the cell, not only by its colour.
        await expect(page.locator("#tal-workplace_share td.met").first).to_contain_text("nået")
        # The month under way is marked, and the figures table fits the desktop without
        # scrolling sideways — also over 15 months.
        await expect(page.locator("#running-month")).to_contain_text("jan. 2027 er ikke slut")
        for path in ("/dashboard", "/dashboard?from=2026-02&to=2027-04"):
            await page.goto(url(api, path))
            table = page.locator("table.figures")
            wrap = await table.evaluate("t => [t.parentElement.clientWidth, t.scrollWidth]")
            assert wrap[1] <= wrap[0], (path, wrap)
        # Another period: the form keeps it, the CSV link follows.
        await page.fill("#f-from", "2026-09")
        await page.fill("#f-to", "2026-12")
        await page.click("form[aria-label='Vælg periode'] button[type=submit]")
        await expect(page.locator("table.figures thead th")).to_have_count(5)
        link = page.locator("a", has_text="Hent som CSV")
        await expect(link).to_have_attribute("href", "/dashboard.csv?from=2026-09&to=2026-12")
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        assert download.suggested_filename == "noegletal-2026-09-2026-12.csv"
        content = (await download.path()).read_bytes()
        assert content.startswith(b"\xef\xbb\xbf") and "Måned;".encode() in content
    async with visit(browser, api, viewport={"width": 390, "height": 844},
                     is_mobile=True, has_touch=True, device_scale_factor=2) as seen:
        page = seen.page
        await log_in(page, api, "test-manager", "/dashboard")
        charts = page.locator("svg.chart:visible")
        await expect(charts).to_have_count(8)
        # On a phone neither the page nor a chart scrolls sideways: each chart, drawn for a
        # phone, fits its card, and its labels are still large enough to read.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        for index in range(7):
            chart = charts.nth(index)
            box = await chart.bounding_box()
            assert box is not None and 300 <= box["width"] <= 390 - 16, box
            box_of = "c => [c.parentElement.parentElement.clientWidth, " \
                     "c.parentElement.parentElement.scrollWidth]"
            inner = await chart.evaluate(box_of)
            assert inner[1] <= inner[0], inner
            label = await chart.locator("text").first.bounding_box()
            assert label is not None and label["height"] >= 11, label
        await assert_accessible(page)
        await screenshot(page, "dashboard-phone.png")
        await charts.first.scroll_into_view_if_needed()
        await page.screenshot(path=str(SCREENSHOTS / "dashboard-phone-chart.png"))


async def test_a_consultant_is_refused_the_dashboard(browser: Browser,
                                                     history_api: Api) -> None:
    async with visit(browser, history_api) as seen:
        page = seen.page
        await log_in(page, history_api, "test-consultant", "/my-cases")
        response = await page.goto(url(history_api, "/dashboard"))
        assert response is not None and response.status == 403
        await expect(page.locator("h1")).to_have_text("Du har ikke adgang til denne side")
