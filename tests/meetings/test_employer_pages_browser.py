"""The employer's link pages in a real browser (headless Chromium, driven by Playwright).

The same flows as test_employer_pages.py, but clicked through as the employer sees them: the
invitation mail arrives over real SMTP, its link opens in Chromium, the employer chooses,
asks for other times or declines, and the server state is checked through the API.
Every page the employer sees is saved as a full-page PNG in test-artifacts/screenshots/,
and every request the browser makes must go to the service itself (no third parties).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, BrowserContext, Page, Response, expect
from sqlalchemy import select

from service.app import create_app
from service.config import MunicipalityConfig
from service.keys import ANSWERS, DB, DEV_SMTP, JOBS, LINKS
from service.meetings.answers import Outcome
from service.platform.auth import create_key
from service.platform.db.models import Meeting
from tests.meetings.email_cases import (
    EMPLOYER,
    body,
    calendar_of,
    intake,
    invitation,
    make_second_overlap_first,
    planning_held,
)
from tests.privacy import assert_no_private_data
from tests.support import (
    SOLVER,
    Api,
    SmtpSink,
    _free_port,
    assert_accessible,
    link_path,
    mail_config,
    make_secrets,
    start_mail_api,
    text_part,
    today_local,
    wait_until,
    wait_until_mail_delivered,
)

pytestmark = pytest.mark.chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_MS = 15_000  # generous: a loaded CI machine may be slow, a passing run is not
expect.set_options(timeout=WAIT_MS)

OTHER_EMPLOYER = "hr@ikastmetal.example"
JOBCENTRE_PHONE = "96 28 28 28"




OTHER_EMPLOYER_BODY = {"cvr": "87654321", "name": "Ikast Metal", "contact_name": "Per Holm",
                       "contact_email": OTHER_EMPLOYER, "address": "Industrivej 9, 7430 Ikast",
                       "location": {"lat": 56.14, "lon": 9.16}}


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
async def mail_api(demo_config: MunicipalityConfig, sqlite_url: str,
                   smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    """`tests.support.mail_api` on SQLite only (a browser test is about the page)."""
    async for api in start_mail_api(demo_config, sqlite_url, smtp_sink):
        yield api


@pytest.fixture
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The test process's Chromium (`tests.support.chromium`); the contexts a test opened
    are closed after it."""
    yield chromium
    for context in chromium.contexts:
        await context.close()


@dataclass
class Visit:
    """One browser context and its page, with every URL the browser requested."""

    context: BrowserContext
    page: Page
    requests: list[str] = field(default_factory=list)


@asynccontextmanager
async def visit(browser: Browser, api: Api, **options: Any) -> AsyncIterator[Visit]:
    """A fresh context (no cookies, no cache); on leaving, checks no request left the server."""
    context = await browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen",
                                        **options)
    context.set_default_timeout(WAIT_MS)
    try:
        page = await context.new_page()
        seen = Visit(context=context, page=page)
        context.on("request", lambda request: seen.requests.append(request.url))
        yield seen
        own = urlsplit(str(api.client.make_url("/"))).netloc
        assert seen.requests, "the browser made no requests at all"
        foreign = [address for address in seen.requests
                   if urlsplit(address).scheme not in ("http", "https")
                   or urlsplit(address).netloc != own]
        assert not foreign, f"requests to third parties: {foreign}"
    finally:
        await context.close()


# -- helpers -----------------------------------------------------------------------------------





async def case_of(api: Api, case_ref: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_ref}", headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def url(api: Api, path: str) -> str:
    return str(api.client.make_url(path))


async def open_link(page: Page, api: Api, path: str, status: int = 200) -> Response:
    response = await page.goto(url(api, path))
    assert response is not None
    assert response.status == status, await page.content()
    return response


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def slot_keys(page: Page) -> list[str]:
    return [await radio.get_attribute("value") or ""
            for radio in await page.locator('input[name="slot"]').all()]


async def invited_link(api: Api, sink: SmtpSink, case: dict[str, Any],
                       to: str = EMPLOYER) -> str:
    await intake(api, case)
    return link_path(await invitation(sink, to))


async def assert_proposal_page(page: Page) -> list[str]:
    await expect(page.locator("h1")).to_have_text("Opfølgningsmøde om Mads Madsen")
    await expect(page.locator("h2").first).to_have_text("Vælg et tidspunkt")
    await expect(page).to_have_title(re.compile(r"^Opfølgningsmøde om Mads Madsen – "))
    radios = page.locator('input[name="slot"]')
    await expect(radios).to_have_count(3)
    # Options are in time order; the jobcentre's proposal is chosen by default.
    await expect(page.locator("label.slot", has_text="Jobcentrets forslag")
                 .locator('input[name="slot"]')).to_be_checked()
    await expect(page.locator("#confirm")).to_have_text("Bekræft tidspunkt")
    await expect(page.locator("#confirm-form")).to_contain_text("Jobcentrets forslag")
    # The forms for other times and declining start folded away.
    await expect(page.locator("#other-times-form")).to_be_hidden()
    await expect(page.locator("#decline-form")).to_be_hidden()
    return await slot_keys(page)


async def confirm_second_slot(page: Page, api: Api, path: str) -> tuple[str, str]:
    """Chooses the second option and confirms it; returns its key and its Danish text."""
    keys = await assert_proposal_page(page)
    assert len(set(keys)) == 3 and all(keys), keys
    second = page.locator("label.slot").nth(1)
    text = (await second.locator("span").inner_text()).strip()
    await second.locator('input[name="slot"]').check()
    await expect(page.locator('input[name="slot"]').nth(1)).to_be_checked()
    await expect(page.locator('input[name="slot"]').first).not_to_be_checked()
    await page.locator("#confirm").click()
    await page.wait_for_url(re.compile(re.escape(path) + r"\?besked=bekraeftet$"))
    return keys[1], text


async def assert_confirmed_page(page: Page, path: str, slot_text: str) -> None:
    await expect(page.locator("h1")).to_have_text("Mødet er bekræftet")
    await expect(page.locator("#notice")).to_have_text(
        "Tak! Mødet er bekræftet. Vi har sendt en bekræftelse med kalenderinvitation på e-mail.")
    await expect(page.locator("main")).to_contain_text(slot_text)
    ics = page.locator("#ics")
    await expect(ics).to_have_text("Hent kalenderfil (.ics)")
    assert await ics.get_attribute("href") == f"{path}/moede.ics"
    await expect(page.locator('input[name="slot"]')).to_have_count(0)
    await expect(page.locator("#cancel")).to_have_text("Aflys mødet")


async def meeting_ids(api: Api) -> list[int]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting.id).order_by(Meeting.id))).scalars())


# -- 1. confirming a time ----------------------------------------------------------------------

async def test_confirm_second_option(browser: Browser, mail_api: Api,
                                     smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b1"))
    async with visit(browser, mail_api) as seen:
        page = seen.page
        response = await open_link(page, mail_api, path)
        assert response.headers["referrer-policy"] == "no-referrer"
        await assert_proposal_page(page)
        await assert_accessible(page)
        await screenshot(page, "01-proposal.png")
        key, text = await confirm_second_slot(page, mail_api, path)
        await assert_confirmed_page(page, path, text)
        await assert_accessible(page)
        await screenshot(page, "02-confirmed.png")

        # The calendar link serves the .ics (fetched within the page's context).
        ics = await seen.context.request.get(url(mail_api, f"{path}/moede.ics"))
        assert ics.ok and ics.headers["content-type"].startswith("text/calendar")
        assert "BEGIN:VEVENT" in await ics.text()

        # Reloading shows the confirmed meeting again and repeats nothing.
        await page.reload()
        await expect(page.locator("h1")).to_have_text("Mødet er bekræftet")

    meeting = (await case_of(mail_api, "b1"))["meeting"]
    assert meeting["status"] == "confirmed" and meeting["start"] == key, (meeting, key)
    confirmed = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                         and "Bekræftet" in str(m["Subject"]))
    assert len(confirmed) == 1
    # …and no second one once everything is delivered (the reload repeated nothing).
    await wait_until_mail_delivered(mail_api)
    assert len([m for m in smtp_sink.messages if m["To"] == EMPLOYER
                and "Bekræftet" in str(m["Subject"])]) == 1
    assert any(p.get_content_type() == "text/calendar" for p in confirmed[0].walk())
    assert "Mads Madsen" in text_part(confirmed[0])


async def test_confirm_works_without_javascript(browser: Browser, mail_api: Api,
                                                smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b2", employer=OTHER_EMPLOYER_BODY),
                              to=OTHER_EMPLOYER)
    async with visit(browser, mail_api, java_script_enabled=False) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        key, text = await confirm_second_slot(page, mail_api, path)
        await assert_confirmed_page(page, path, text)
        # Proof that scripts really were off in this context all along.
        await page.set_content("<p id=js>off</p><script>js.textContent = 'on'</script>")
        await expect(page.locator("#js")).to_have_text("off")
    meeting = (await case_of(mail_api, "b2"))["meeting"]
    assert meeting["status"] == "confirmed" and meeting["start"] == key, (meeting, key)
    await smtp_sink.wait_for(lambda m: m["To"] == OTHER_EMPLOYER
                             and "Bekræftet" in str(m["Subject"]))


async def test_cancel_asks_first_without_javascript(browser: Browser, mail_api: Api,
                                                   smtp_sink: SmtpSink,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b9"))
    async with visit(browser, mail_api, java_script_enabled=False) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        _key, text = await confirm_second_slot(page, mail_api, path)
        await assert_confirmed_page(page, path, text)
        # The cancel button only asks; "no" keeps the meeting.
        await page.locator("#cancel").click()
        await expect(page.locator("h1")).to_have_text("Vil I aflyse mødet?")
        await expect(page.locator("main")).to_contain_text("Er I sikre")
        await expect(page.locator("main")).to_contain_text(text)
        await expect(page.locator("#cancel-confirm")).to_have_text("Ja, aflys mødet")
        await screenshot(page, "12-cancel-are-you-sure.png")
        await page.locator("#cancel-keep").click()
        await page.wait_for_url(url(mail_api, path))
        await expect(page.locator("h1")).to_have_text("Mødet er bekræftet")
        assert (await case_of(mail_api, "b9"))["meeting"]["status"] == "confirmed"
        # Asked again, "yes" cancels it; the page says so until a new time is planned.
        async with planning_held(mail_api, monkeypatch):
            await page.locator("#cancel").click()
            await page.locator("#cancel-confirm").click()
            await page.wait_for_url(url(mail_api, path))
            await expect(page.locator("h1")).to_have_text("Mødet er aflyst")
            await expect(page.locator("form")).to_have_count(0)
            await screenshot(page, "13-cancelled.png")
        # Planned again: the same link now leads to the new proposal.
        await invitation(smtp_sink, count=2)
        await mail_api.client.app[JOBS].wait_idle()
        await page.goto(url(mail_api, path))
        await expect(page.locator("#notice")).to_contain_text("Mødet er flyttet")
        await expect(page.locator("h2").first).to_have_text("Vælg et tidspunkt")
    cancelled = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                         and str(m["Subject"]).startswith("Aflyst"))
    assert str(calendar_of(cancelled[0])["METHOD"]) == "CANCEL"


# -- 2. asking for other times -----------------------------------------------------------------

async def test_other_times_with_preferences(browser: Browser, mail_api: Api,
                                            smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b3"))
    async with visit(browser, mail_api) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        await assert_proposal_page(page)
        toggle = page.locator("#other-times-toggle")
        await expect(toggle).to_have_text("Passer ingen af tiderne? Bed om andre tider")
        await toggle.click()
        form = page.locator("#other-times-form")
        await expect(form).to_be_visible()
        # Sent with nothing in it: refused, saying what to fill in.
        await page.locator("#other-times").click()
        await expect(page.locator("#other-error")).to_contain_text(
            "vælg mindst én dag eller et tidspunkt på dagen")
        await expect(form).to_be_visible()
        for day in ("Mandag", "Tirsdag", "Onsdag", "Torsdag", "Fredag", "Formiddag (før kl. 12)",
                    "Eftermiddag (efter kl. 12)"):
            await expect(form).to_contain_text(day)
        await page.locator('input[name="weekday"][value="tue"]').check()
        await page.locator('input[name="weekday"][value="thu"]').check()
        await page.locator('input[name="part"][value="morning"]').check()
        await page.locator("#other-text").fill("Helst ikke i ferien – vi har travlt i uge 30")
        await expect(page.locator('input[name="weekday"]:checked')).to_have_count(2)
        await assert_accessible(page)
        await screenshot(page, "04-other-times-form.png")
        await page.locator("#other-times").click()
        await page.wait_for_url(url(mail_api, path))
        await expect(page.locator("h1")).to_have_text("Tak – vi har modtaget jeres ønsker")
        await expect(page.locator("main")).to_contain_text("sender en ny e-mail med forslag")
        await expect(page.locator("form")).to_have_count(0)
        await screenshot(page, "05-other-times-received.png")

    await mail_api.client.app[JOBS].wait_idle()
    second = await invitation(smtp_sink, count=2)
    assert link_path(second) != path
    meeting = (await case_of(mail_api, "b3"))["meeting"]
    start = date.fromisoformat(meeting["start"][:10])
    assert start.weekday() in (1, 3), meeting  # Tuesday or Thursday
    assert int(meeting["start"][11:13]) < 12, meeting  # before noon


# -- 3. declining a workplace meeting ----------------------------------------------------------

DECLINE_VIEWPORTS = {"1280": {"viewport": {"width": 1280, "height": 900}},
                     "390": {"viewport": {"width": 390, "height": 844}, "has_touch": True}}


@pytest.mark.parametrize("width", list(DECLINE_VIEWPORTS))
async def test_decline(browser: Browser, mail_api: Api, smtp_sink: SmtpSink,
                       width: str) -> None:
    """The decline asks for one of the fixed reasons (a Danish error without one); then the
    page says the consultant will call, and the proposal stays (issue 19 item 5)."""
    ref = f"b4-{width}"
    path = await invited_link(mail_api, smtp_sink, body(ref))
    async with visit(browser, mail_api, **DECLINE_VIEWPORTS[width]) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        await assert_proposal_page(page)
        toggle = page.locator("#decline-toggle")
        await expect(toggle).to_have_text("Kan mødet ikke holdes på arbejdspladsen?")
        await toggle.click()
        form = page.locator("#decline-form")
        await expect(form).to_be_visible()
        await expect(form).to_contain_text("Konsulenten ringer til jer om mødet")
        for words in ("Ingen egnede lokaler", "Medarbejderen ønsker det ikke", "Andet"):
            await expect(form).to_contain_text(words)
        await page.locator("#decline-reason").fill("Vi har lukket for besøg under ombygningen.")
        await page.locator("#decline").click()  # no reason chosen
        await expect(page.locator("#decline-error")).to_have_text(
            "Vælg en af begrundelserne på listen, hvorfor mødet ikke kan holdes på "
            "arbejdspladsen.")
        await expect(form).to_be_visible()  # the form is open again, with the error
        # The error is read with each reason.
        for radio in await page.locator('input[name="reason_choice"]').all():
            await expect(radio).to_have_attribute("aria-describedby", "decline-error")
            await expect(radio).to_have_attribute("aria-invalid", "true")
        # and with what they typed — which never went into the address
        await expect(page.locator("#decline-reason")).to_have_value(
            "Vi har lukket for besøg under ombygningen.")
        assert "ombygning" not in page.url
        await assert_accessible(page)
        width_now, inner = await page.evaluate(OVERFLOW)
        assert width_now <= inner, f"the page scrolls sideways: {width_now} > {inner}"
        await screenshot(page, f"06-decline-error-{width}.png")
        await page.get_by_label("Ingen egnede lokaler").check()
        await page.locator("#decline-reason").fill("Vi har lukket for besøg under ombygningen.")
        await screenshot(page, f"06-decline-form-{width}.png")
        await page.locator("#decline").click()
        await page.wait_for_url(url(mail_api, path))
        await expect(page.locator("h1")).to_have_text("Tak for jeres besked")
        await expect(page.locator("main")).to_contain_text("ringer til jer for at tale om mødet")
        # the times stay offered (choosing one takes the decline back), the decline not
        await expect(page.locator("form")).to_have_count(1)
        await expect(page.locator("#confirm-form")).to_be_visible()
        await expect(page.locator("main")).to_contain_text(
            "Kan mødet alligevel holdes på arbejdspladsen?")
        await assert_accessible(page)
        await screenshot(page, f"07-declined-{width}.png")

    await mail_api.client.app[JOBS].wait_idle()
    case = await case_of(mail_api, ref)
    # Within the grace the workplace proposal stands; the consultant calls first.
    assert case["decision"]["follow_up"] == "workplace_meeting", case["decision"]
    assert case["meeting"]["kind"] == "workplace_meeting"
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER and "Modtaget" in str(m["Subject"]))


# -- 4. broken and expired links ---------------------------------------------------------------

async def test_tampered_and_expired_links(browser: Browser, mail_api: Api,
                                          smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b5"))
    token = path.removeprefix("/m/")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    meeting_id = (await meeting_ids(mail_api))[0]
    expired = mail_api.client.app[LINKS].token(meeting_id, today_local() - timedelta(days=1))
    async with visit(browser, mail_api) as seen:
        page = seen.page
        await open_link(page, mail_api, f"/m/{tampered}", status=403)
        await expect(page.locator("h1")).to_have_text("Linket virker ikke")
        await expect(page.locator("main")).to_contain_text("Linket er ugyldigt")
        await expect(page.locator("main strong")).to_have_text(JOBCENTRE_PHONE)
        await expect(page.locator("form")).to_have_count(0)
        await screenshot(page, "08-invalid-link-403.png")

        await open_link(page, mail_api, f"/m/{expired}", status=410)
        await expect(page.locator("h1")).to_have_text("Linket er udløbet")
        await expect(page.locator("main")).to_contain_text("ikke længere gyldigt")
        await expect(page.locator("main")).to_contain_text("Ring til")
        await expect(page.locator("form")).to_have_count(0)
        await screenshot(page, "09-expired-link-410.png")
    assert (await case_of(mail_api, "b5"))["meeting"]["status"] == "proposed"


# -- 5. a phone-sized screen -------------------------------------------------------------------

PHONE = {"viewport": {"width": 375, "height": 812}, "has_touch": True}
OVERFLOW = "[document.documentElement.scrollWidth, window.innerWidth]"


async def test_phone_viewport_proposal(browser: Browser, mail_api: Api,
                                       smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b6"))
    async with visit(browser, mail_api, **PHONE) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        await assert_proposal_page(page)
        assert await page.evaluate("window.innerWidth") == 375
        await screenshot(page, "03-proposal-phone.png")
        # The buttons and the time options are big enough to tap.
        for target in ("#confirm", "label.slot >> nth=1"):
            box = await page.locator(target).bounding_box()
            assert box is not None and box["height"] >= 44, (target, box)
        # The slot texts wrap inside their card rather than running off the screen.
        card = await page.locator("#confirm-form").bounding_box()
        assert card is not None and card["x"] + card["width"] <= 375, card


# Regression: the contact list (<dd> margins, an unbreakable e-mail address) once made the
# page 412 px wide on a 375 px phone.
async def test_phone_viewport_has_no_horizontal_scroll(browser: Browser, mail_api: Api,
                                                       smtp_sink: SmtpSink) -> None:
    path = await invited_link(mail_api, smtp_sink, body("b7"))
    async with visit(browser, mail_api, **PHONE) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        await expect(page.locator("h1")).to_have_text("Opfølgningsmøde om Mads Madsen")
        # With both folded forms open too.
        await page.locator("#other-times-toggle").click()
        await page.locator("#decline-toggle").click()
        await expect(page.locator("#decline-form")).to_be_visible()
        width, inner = await page.evaluate(OVERFLOW)
        assert width <= inner, f"the page scrolls sideways: scrollWidth {width} > {inner}"


# -- (optional) a slot taken by another meeting while the page was open ------------------------

async def test_slot_taken_while_page_open(browser: Browser, mail_api: Api,
                                          smtp_sink: SmtpSink,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await intake(mail_api, body("r1"), body("r2", employer=OTHER_EMPLOYER_BODY))
    app = mail_api.client.app
    ids, key = await make_second_overlap_first(mail_api)
    token = app[LINKS].token(ids[1], today_local() + timedelta(days=30))
    path = f"/m/{token}"
    # The planner's reaction to the first confirmation is held back until the second employer
    # has clicked: replanning first would withdraw the second proposal altogether ("Mødet er
    # ændret"), which is not this test's case.
    async with planning_held(mail_api, monkeypatch) as held, \
            visit(browser, mail_api) as seen:
        page = seen.page
        await open_link(page, mail_api, path)
        assert key in await slot_keys(page)
        # Meanwhile the first employer confirms that very time.
        assert await app[ANSWERS].confirm(ids[0], key) == Outcome.CONFIRMED
        assert held == ["employer_confirmed"]
        await page.locator(f'input[name="slot"][value="{key}"]').check()
        await page.locator("#confirm").click()
        await page.wait_for_url(re.compile(re.escape(path) + r"\?besked=taget$"))
        notice = page.locator("#notice")
        await expect(notice).to_contain_text("blev lige taget af et andet møde")
        await expect(notice).to_have_class(re.compile(r"\bwarn\b"))
        assert key not in await slot_keys(page)
        await screenshot(page, "10-taken-slot.png")
        meeting = (await case_of(mail_api, "r2"))["meeting"]
        assert meeting["status"] == "proposed"
        assert (await case_of(mail_api, "r1"))["meeting"]["status"] == "confirmed"



# -- (optional) the demo mailbox: staff open the employer's mail and click its link ------------

@pytest.fixture
async def demo_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    """The app as `fasthold serve --demo` runs it: its own local SMTP sink and mailbox page.

    The mail links must point at this test server, so its port is chosen beforehand.
    """
    port = _free_port()
    config = mail_config(demo_config, link_base_url=f"http://127.0.0.1:{port}")
    app = create_app(config, make_secrets(sqlite_url), demo=True, solver=SOLVER)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        async with app[DB].write() as session:
            _, key = await create_key(session, config.municipality.id, "test-intake", "intake",
                                      None)
        await app[JOBS].wait_idle()
        yield Api(client=client, keys={"intake": key})
    finally:
        await client.close()
    # What the demo's own sink received is scanned like every test's mail.
    assert_no_private_data(app[DEV_SMTP].sink.messages)


async def test_demo_mailbox_link_opens_the_page(browser: Browser, demo_api: Api) -> None:
    await intake(demo_api, body("b8"))
    sink = demo_api.client.app[DEV_SMTP].sink
    await wait_until(lambda: any("vælg et tidspunkt" in m.subject for m in sink.messages),
                     what="the employer's invitation in the demo mailbox")
    async with visit(browser, demo_api) as seen:
        page = seen.page
        await open_link(page, demo_api, f"/demo/mailbox?key={demo_api.keys['intake']}")
        subject = page.get_by_role("link", name=re.compile("vælg et tidspunkt"))
        await expect(subject).to_have_count(1)
        await subject.click()
        await expect(page.locator("article h2")).to_contain_text("Mads Madsen")
        await expect(page.locator("article")).to_contain_text("Kære Lone Berg")
        await screenshot(page, "11-mailbox-demo.png")
        link = page.locator('article a[href*="/m/"]').first
        assert (await link.get_attribute("href") or "").startswith(url(demo_api, "/m/"))
        await link.click()
        await page.wait_for_url(re.compile(r"/m/[A-Za-z0-9_.\-]+$"))
        await assert_proposal_page(page)
    # Without the staff key (and its cookie) the mailbox stays closed.
    resp = await demo_api.client.get("/demo/mailbox")
    assert resp.status == 401
