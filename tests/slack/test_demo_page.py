"""`/demo/slack` in the demo (`create_app(demo=True)` without a bot token: the fake Slack Web
API runs in the app): each DM and the intake channel as a person sees them, with working
buttons that post signed interactions to `/slack/events`, modals from what the bot opened,
the slash command and the Home tab. Over HTTP here, and clicked through in Chromium (with a
screenshot, and the message sequence written out as text) in the browser test."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict
from playwright.async_api import Browser, expect
from sqlalchemy import select
from yarl import URL

from bots.slack.fake_api import FakeSlackApi
from service.app import create_app
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, FAKE_SLACK, JOBS, SLACK_SETTINGS
from service.platform.auth import create_key
from service.platform.db.models import Case, Meeting, OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.meetings.test_employer_pages_browser import browser  # noqa: F401 (the fixture)
from tests.slack.slack_helpers import texts
from tests.support import (
    SOLVER,
    Api,
    local_now,
    mail_config,
    make_secrets,
    scan_slack_at_end,
    wait_until,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Demo:
    api: Api
    fake: FakeSlackApi
    key: str


@pytest.fixture
async def demo(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Demo]:
    app = create_app(mail_config(demo_config), make_secrets(sqlite_url), demo=True,
                     solver=SOLVER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        async with app[DB].write() as session:
            _, key = await create_key(session, demo_config.municipality.id, "demo-intake",
                                      "intake")
        fake = scan_slack_at_end(app[FAKE_SLACK])
        await app[JOBS].wait_idle()
        yield Demo(Api(client, {"intake": key}), fake, key)
    finally:
        await client.close()


async def owner_slack_id(demo: Demo, case_ref: str) -> str:
    async with demo.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == case_ref))
                ).unique().scalar_one()
        assert case.owner is not None
        consultant = demo.api.client.app[CONFIG].consultant(case.owner.key)
    assert consultant is not None and consultant.slack_user_id
    return consultant.slack_user_id


async def login(demo: Demo) -> None:
    resp = await demo.api.client.get(f"/demo/slack?key={demo.key}", allow_redirects=False)
    assert resp.status == 303 and "key" not in resp.headers["Location"]
    assert resp.cookies  # the session cookie, never the key


async def page(demo: Demo, query: str) -> str:
    resp = await demo.api.client.get(f"/demo/slack?{query}")
    assert resp.status == 200, await resp.text()
    return await resp.text()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def button_form(html: str, action_id: str) -> dict[str, str]:
    """The hidden fields of the page's form for the button `action_id`."""
    for form in re.findall(r'<form method="post" action="/demo/slack/klik">(.*?)</form>',
                           html, re.S):
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
        if fields.get("action_id") == action_id:
            return {k: v.replace("&amp;", "&") for k, v in fields.items()}
    raise AssertionError(f"no {action_id} button on the page")


async def test_the_page_needs_a_staff_session(demo: Demo) -> None:
    resp = await demo.api.client.get("/demo/slack")
    assert resp.status == 401
    # A page of its own: a main region and a heading saying what to do.
    refused = await resp.text()
    assert re.search(r"<main><h1>Log ind for at se Demo-Slack</h1>.*</main>", refused)
    assert "<title>Log ind – Demo-Slack</title>" in refused
    resp = await demo.api.client.post("/demo/slack/klik", data={"user": "U0DEMO001"})
    assert resp.status == 401
    await login(demo)
    html = await page(demo, "c=intake")
    assert "#visitation" in html and "Anna Kjær" in html
    resp = await demo.api.client.post("/demo/slack/klik", data={"csrf": "forged"})
    assert resp.status == 403


async def test_a_form_the_page_cannot_read_is_400(demo: Demo) -> None:
    """A broken multipart body or a NUL in a field on the demo page's forms is a 400 that says
    so, never a 500 (the staff pages read forms the same way)."""
    await login(demo)
    for path in ("/demo/slack/klik", "/demo/slack/modal", "/demo/slack/kommando",
                 "/demo/slack/hjem"):
        resp = await demo.api.client.post(path, data=b"garbage", headers={
            "Content-Type": "multipart/form-data; boundary=xyz"})
        assert resp.status == 400, (path, resp.status)
        assert "Formularen kunne ikke læses" in await resp.text()
        resp = await demo.api.client.post(path, data={"csrf": "x", "text": "a\x00b"})
        assert resp.status == 400, (path, resp.status)


async def test_buttons_and_modals_work_from_the_page(demo: Demo) -> None:
    await login(demo)
    await intake(demo.api, body("demo-1"))
    user = await owner_slack_id(demo, "demo-1")
    await wait_until(lambda: any("Ny sag til dig" in texts(p) for p in
                                 demo.fake.conversation(demo.fake.dm_channel(user))))
    html = await page(demo, f"c={user}")
    assert "Ny sag til dig" in html and "Ringet til borger" in html
    assert "Mads Madsen" not in html and "010190" not in html
    resp = await demo.api.client.post("/demo/slack/klik", data=button_form(
        html, "contact_citizen"), allow_redirects=False)
    assert resp.status == 303
    async with demo.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "demo-1"))
                ).unique().scalar_one()
        assert case.citizen_called_at is not None
    # Closing through the modal the bot opened: a date in the future is refused in the modal.
    resp = await demo.api.client.post("/demo/slack/klik", data=button_form(html, "close_case"),
                                      allow_redirects=False)
    html = await page(demo, f"c={user}")
    assert 'class="modal"' in html and "Afslut sag" in html
    view_id = re.search(r'name="view_id" value="([^"]+)"', html)
    assert view_id
    future = (local_now() + timedelta(days=3)).date().isoformat()
    form = {"csrf": csrf(html), "user": user, "view_id": view_id.group(1), "back": f"c={user}",
            "outcome": "recovered", "on": future}
    resp = await demo.api.client.post("/demo/slack/modal", data=form)
    assert resp.status == 422 and "Datoen må ikke ligge i fremtiden." in await resp.text()
    form["on"] = local_now().date().isoformat()
    resp = await demo.api.client.post("/demo/slack/modal", data=form, allow_redirects=False)
    assert resp.status == 303
    async with demo.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "demo-1"))
                ).unique().scalar_one()
        assert case.close_outcome == "recovered"
    await wait_until(lambda: any("Sagen er afsluttet" in texts(p) for p in
                                 demo.fake.conversation(demo.fake.dm_channel(user))))
    html = await page(demo, f"c={user}")
    assert 'class="modal"' not in html and "Sagen er afsluttet" in html


async def test_the_command_and_the_home_tab(demo: Demo) -> None:
    await login(demo)
    await intake(demo.api, body("demo-2"))
    user = await owner_slack_id(demo, "demo-2")
    html = await page(demo, f"c={user}")
    resp = await demo.api.client.post("/demo/slack/kommando", data={
        "csrf": csrf(html), "user": user, "text": "mine", "back": f"c={user}"})
    assert resp.status == 200
    answer = await resp.text()
    assert "Kun synlig for dig" in answer and "demo-2" in answer
    resp = await demo.api.client.post("/demo/slack/hjem", data={"csrf": csrf(html),
                                                                 "user": user})
    assert resp.status == 200  # followed to the Home tab
    await wait_until(lambda: demo.fake.homes.get(user), what="the published Home tab")
    html = await page(demo, f"c={user}&fane=hjem")
    assert "Åbne sager, nærmeste frist først" in html and "demo-2" in html


def sequence(fake: FakeSlackApi, case_ref: str) -> list[str]:
    """What the bot sent about a case, in order, as text (for the closing note)."""
    lines = []
    for call in fake.calls:
        if call.status != 200 or call.method not in ("chat.postMessage", "chat.update",
                                                     "chat.postEphemeral", "views.open"):
            continue
        args = call.args
        shown = str(args.get("text") or (args.get("view") or {}).get("title", {}).get("text"))
        if case_ref not in str(args) and call.method != "chat.postEphemeral":
            continue
        where = args.get("channel") or args.get("trigger_id", "").rpartition(".")[2]
        done = [e.get("text", "") for b in args.get("blocks") or [] if b.get("type") ==
                "context" for e in b.get("elements") or []]
        if call.method == "chat.update" and done:
            shown += "  [" + " / ".join(done).replace("\n", " / ") + "]"
        lines.append(f"{call.method:<19} {where:<12} {re.sub(r'https?://[^ ]+', '', shown)}")
    return lines


async def registered(demo: Demo, case_ref: str) -> Meeting | None:
    async with demo.api.client.app[DB].read() as session:
        return (await session.execute(select(Meeting).join(Case).where(
            Case.case_ref == case_ref, Meeting.status == "held"))).unique().scalar_one_or_none()


# -- in Chromium ---------------------------------------------------------------------------

def shows(fake: FakeSlackApi, channel: str, text: str) -> bool:
    return any(text in texts(p) for p in fake.conversation(channel))


@pytest.mark.chromium
async def test_a_case_from_assignment_to_closing_in_the_browser(demo: Demo,
                                                                browser: Browser) -> None:  # noqa: F811
    """The acceptance walk: one case's messages from assignment to registration and closing,
    clicked in Chromium; the page is saved as test-artifacts/screenshots/slack-demo.png and
    the sequence as test-artifacts/slack-demo-sequence.txt."""
    fake, api = demo.fake, demo.api
    base = str(api.client.make_url("")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1200, "height": 900},
                                        locale="da-DK")
    page = await context.new_page()
    try:
        await page.goto(f"{base}/demo/slack?key={demo.key}")
        await intake(api, body("demo-3"))
        first_owner = await owner_slack_id(demo, "demo-3")
        channel = api.client.app[SLACK_SETTINGS].intake_channel or ""
        await wait_until(lambda: shows(fake, channel, "demo-3"), what="the channel post")

        # Intake staff move the case to another consultant from the channel.
        await page.goto(f"{base}/demo/slack?c=intake")
        await expect(page.locator(".msg").first).to_contain_text("er fordelt til")
        await page.get_by_role("button", name="Skift konsulent").first.click()
        modal = page.locator("form.modal")
        await expect(modal).to_contain_text("Skift konsulent")
        await modal.locator("select[name=consultant]").select_option(index=1)
        await modal.locator("select[name=category]").select_option("regular_employer")
        await modal.locator("textarea[name=owner_note]").fill("kender virksomheden")
        await modal.get_by_role("button", name="Skift").click()
        await wait_until(lambda: shows(fake, channel, "flyttet til"), what="the post updated")
        assert shows(fake, channel, "fast arbejdsgiver")
        assert not shows(fake, channel, "kender virksomheden")  # the note stays in fasthold
        owner = await owner_slack_id(demo, "demo-3")
        assert owner != first_owner
        dm = fake.dm_channel(owner)
        await wait_until(lambda: shows(fake, dm, "Ny sag til dig"), what="the new owner's DM")

        # The new owner calls citizen and employer.
        await page.goto(f"{base}/demo/slack?c={owner}")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Ringet til borger").first.click()
        await wait_until(lambda: shows(fake, dm, "Ringet til borger "), what="the DM updated")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Ringet til arbejdsgiver").first.click()
        await wait_until(lambda: shows(fake, dm, "Ringet til arbejdsgiver "))

        # The employer agrees the time (staff confirm it); the meeting is held.
        meeting = (await (await api.client.get("/api/cases/demo-3", headers=api.auth(
            "intake"))).json())["meeting"]
        resp = await api.client.post("/api/cases/demo-3/meeting/confirm", json={
            "start": meeting["start"]}, headers=api.auth("intake"))
        assert resp.status == 200
        await wait_until(lambda: shows(fake, dm, "har bekræftet mødet"))
        async with api.client.app[DB].write() as session:
            held = (await session.execute(select(Meeting).join(Case).where(
                Case.case_ref == "demo-3", Meeting.status == "confirmed"))).unique().scalar_one()
            start = local_now().replace(second=0, microsecond=0) - timedelta(hours=2)
            held.start, held.end = start, start + timedelta(hours=1)
        await page.reload()
        await page.get_by_role("button", name="Registrér mødet").first.click()
        await expect(modal).to_contain_text("Hvor blev mødet holdt?")
        await modal.get_by_label("På arbejdspladsen").check()
        await modal.get_by_label("Ja").check()
        # A modal's submit is a form post answered with a redirect: the page must have
        # arrived before it is reloaded (a reload during that navigation fails).
        async with page.expect_navigation():
            await modal.get_by_role("button", name="Gem").click()
        await wait_until(lambda: shows(fake, dm, "holdt på arbejdspladsen"))
        assert await registered(demo, "demo-3") is not None

        # The case ends: closed through the modal.
        await page.reload()
        await page.get_by_role("button", name="Afslut sag").first.click()
        await modal.locator("select[name=outcome]").select_option("recovered")
        async with page.expect_navigation():
            await modal.get_by_role("button", name="Afslut").click()
        await wait_until(lambda: shows(fake, dm, "Sagen er afsluttet"), what="the DM closed")
        await page.reload()
        await expect(page.locator("main")).to_contain_text("Sagen er afsluttet")
        await expect(page.locator("main")).not_to_contain_text("Mads Madsen")
        (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "screenshots" / "slack-demo.png"),
                              full_page=True)
        await page.goto(f"{base}/demo/slack?c=intake")
        await page.screenshot(path=str(ARTIFACTS / "screenshots" / "slack-demo-intake.png"),
                              full_page=True)
        (ARTIFACTS / "slack-demo-sequence.txt").write_text(
            "\n".join(sequence(fake, "demo-3")) + "\n", encoding="utf-8")
    finally:
        await context.close()


async def test_a_modal_stays_until_its_user_leaves_and_every_link_works(demo: Demo) -> None:
    """After a refusal in a modal the page's links lead to pages (not to the form's POST
    address: 405); the modal stays open when the page is loaded again, and closes (as Slack
    closes it) when its user goes to another conversation or tab. The meeting modal asks
    nothing it calls optional ("valgfri") and then requires (its minutes are optional)."""
    await login(demo)
    await intake(demo.api, body("demo-4"))
    user = await owner_slack_id(demo, "demo-4")
    await wait_until(lambda: any("Ny sag til dig" in texts(p) for p in
                                 demo.fake.conversation(demo.fake.dm_channel(user))))
    html = await page(demo, f"c={user}")
    await demo.api.client.post("/demo/slack/klik", data=button_form(html, "close_case"),
                               allow_redirects=False)
    html = await page(demo, f"c={user}")
    view_id = re.search(r'name="view_id" value="([^"]+)"', html)
    assert view_id
    future = (local_now() + timedelta(days=3)).date().isoformat()
    resp = await demo.api.client.post("/demo/slack/modal", data={
        "csrf": csrf(html), "user": user, "view_id": view_id.group(1), "back": f"c={user}",
        "outcome": "recovered", "on": future})
    assert resp.status == 422
    refused = await resp.text()
    links = [link.replace("&amp;", "&") for link in re.findall(r'<a[^>]* href="([^"]+)"',
                                                               refused)]
    own = [link for link in links if not link.startswith("http")]
    assert own and all(link.startswith("/demo/slack?") for link in own), own
    assert 'class="modal"' in await page(demo, f"c={user}")  # loaded again: still open
    home = next(link for link in own if "fane=hjem" in link)
    resp = await demo.api.client.get(resp.url.join(URL(home)).path_qs)
    assert resp.status == 200 and 'class="modal"' not in await resp.text()
    assert 'class="modal"' not in await page(demo, f"c={user}")  # left: closed
    assert demo.fake.open_view(user) is None

    await demo.api.client.post("/demo/slack/klik", data=button_form(
        await page(demo, f"c={user}"), "register_meeting"), allow_redirects=False)
    html = await page(demo, f"c={user}")
    # The two questions are required; only the minutes (issue 20) are optional.
    assert "<legend>Deltog arbejdsgiveren?</legend>" in html
    assert "<legend>Hvor blev mødet holdt?</legend>" in html
    assert "Aftale 1: hvad <small>(valgfri)</small>" in html
    # The minutes' checkboxes are sent as Slack sends them: every ticked value.
    assert 'type="checkbox" name="send_to" value="employer"' in html
    async with demo.api.client.app[DB].write() as session:
        for meeting in (await session.execute(select(Meeting))).unique().scalars():
            start = local_now().replace(second=0, microsecond=0, tzinfo=None) - \
                timedelta(hours=2)
            meeting.start, meeting.end = start, start + timedelta(hours=1)
    view_id = re.search(r'name="view_id" value="([^"]+)"', html)
    assert view_id
    resp = await demo.api.client.post("/demo/slack/modal", data=MultiDict([
        ("csrf", csrf(html)), ("user", user), ("view_id", view_id.group(1)),
        ("back", f"c={user}"), ("place", "workplace"), ("employer_took_part", "yes"),
        ("retention_plan_requested", "ja"), ("send_to", "citizen"), ("send_to", "employer"),
        ("agreement-0-what", "Find lette opgaver"), ("agreement-0-who", "employer"),
        ("agreement-0-due", (local_now() + timedelta(days=7)).date().isoformat())]),
        allow_redirects=False)
    assert resp.status == 303, await resp.text()
    async with demo.api.client.app[DB].read() as session:
        held = (await session.execute(select(Meeting).where(Meeting.status == "held"))
                ).unique().scalar_one()
        sent = (await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.kind == "meeting_minutes"))).scalars().all()
    assert held.retention_plan_requested is True
    assert held.agreements[0]["what"] == "Find lette opgaver"
    assert sorted(p["party"] for p in sent) == ["citizen", "employer"]
