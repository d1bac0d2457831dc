"""The demo mailbox (staff only): the mail's text, its HTML as sent, and its attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.web.async_client import AsyncWebClient

from service.app import create_app
from service.clock import SettableClock
from service.commands.demo import _reset
from service.config import MunicipalityConfig
from service.demo.kept import mail_store, slack_store
from service.demo.mailbox import COOKIE, MailboxSessions
from service.keys import DB, DEV_SMTP, FAKE_SLACK, JOBS
from service.platform.auth import ROLES, Principal, create_key
from tests.meetings.email_cases import body, intake
from tests.support import SOLVER, Api, mail_config, make_secrets, start_staff, wait_until


@pytest.fixture
async def demo_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    app = create_app(mail_config(demo_config), make_secrets(sqlite_url), demo=True,
                     solver=SOLVER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        keys = {}
        async with app[DB].write() as session:
            for role in ROLES:
                consultant = demo_config.consultants[0].id if role == "consultant" else None
                _, keys[role] = await create_key(session, demo_config.municipality.id,
                                                 f"t-{role}", role, consultant)
        await app[JOBS].wait_idle()
        yield Api(client=client, keys=keys)
    finally:
        await client.close()


async def test_mailbox_shows_html_and_attachments_to_staff_only(demo_api: Api) -> None:
    await intake(demo_api, body("d1"))
    sink = demo_api.client.app[DEV_SMTP].sink
    await wait_until(lambda: any("vælg et tidspunkt" in m.subject for m in sink.messages),
                     what="the invitation in the demo mailbox")
    mail = next(m for m in sink.messages if "vælg et tidspunkt" in m.subject)
    key = demo_api.keys["intake"]
    page = await demo_api.client.get(f"/demo/mailbox?key={key}&nr={mail.number}")
    assert page.status == 200
    assert f"/demo/mailbox/{mail.number}/html" in await page.text()
    html = await demo_api.client.get(f"/demo/mailbox/{mail.number}/html")  # cookie from above
    assert html.status == 200 and "sandbox" in html.headers["Content-Security-Policy"]
    assert "Mads Madsen" in await html.text()
    assert (await demo_api.client.get("/demo/mailbox/999/bilag/1")).status == 404
    demo_api.client.session.cookie_jar.clear()
    assert (await demo_api.client.get(f"/demo/mailbox/{mail.number}/html")).status == 401


async def test_mailbox_is_for_intake_and_admin_with_a_session_cookie_not_the_key(
        demo_api: Api) -> None:
    client = demo_api.client
    for role in ("consultant", "manager"):
        refused = await client.get(f"/demo/mailbox?key={demo_api.keys[role]}")
        assert refused.status == 403, role
        assert not client.session.cookie_jar.filter_cookies(client.make_url("/demo/mailbox"))
    refused = await client.get("/demo/mailbox?key=fh_wrong")
    assert refused.status == 401
    # A page of its own: a main region and a heading saying what to do.
    text = await refused.text()
    assert "<main><h1>Log ind for at se Demo-postkassen</h1>" in text and "</main>" in text
    for role in ("intake", "admin"):
        client.session.cookie_jar.clear()
        key = demo_api.keys[role]
        login = await client.get(f"/demo/mailbox?key={key}&nr=1", allow_redirects=False)
        assert login.status == 303, role
        assert "key" not in login.headers["Location"] and "nr=1" in login.headers["Location"]
        session_id = login.cookies[COOKIE].value
        assert key not in session_id and len(session_id) >= 32
        assert login.cookies[COOKIE]["httponly"]
        page = await client.get("/demo/mailbox", cookies={COOKIE: session_id})
        assert page.status == 200, role
    # A made-up session id, or the API key itself in the cookie, opens nothing.
    client.session.cookie_jar.clear()
    for forged in ("x" * 43, demo_api.keys["intake"]):
        assert (await client.get("/demo/mailbox", cookies={COOKIE: forged})).status == 401


def test_mailbox_sessions_expire_on_the_injected_clock() -> None:
    clock = SettableClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    sessions = MailboxSessions(clock, ttl=timedelta(hours=8))
    who = Principal(key_id=1, name="t", role="intake", municipality_id="demo")
    session_id = sessions.open(who)
    assert sessions.principal(session_id) == who
    assert sessions.principal("other") is None and sessions.principal(None) is None
    clock.advance(timedelta(hours=8))
    assert sessions.principal(session_id) is None


async def test_home_page_links_to_what_exists(demo_api: Api) -> None:
    resp = await demo_api.client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    text = await resp.text()
    for link in ("/api/openapi.json", "/healthz", "/demo/mailbox"):
        assert f'href="{link}"' in text, link


async def test_logged_in_intake_staff_open_the_demo_pages_without_a_key(demo_api: Api) -> None:
    """The demo's pages are in the staff menu of intake and admins; their login opens them
    (exchanged for a demo session); other roles' logins do not."""
    async for staff in start_staff(demo_api):
        intake_browser = await staff.login("intake")
        for path in ("/demo/mailbox", "/demo/slack"):
            page = await intake_browser.session.get(intake_browser.url(path))
            assert page.status == 200, (path, await page.text())
        menu = await (await intake_browser.session.get(intake_browser.url("/cases"))).text()
        assert 'href="/demo/mailbox"' in menu and 'href="/demo/slack"' in menu
        manager = await staff.login("manager")
        refused = await manager.session.get(manager.url("/demo/mailbox"))
        assert refused.status == 401
        menu = await (await manager.session.get(manager.url("/dashboard"))).text()
        assert 'href="/demo/mailbox"' not in menu


async def test_the_front_page_is_styled_and_sends_staff_to_the_menu(demo_api: Api) -> None:
    """Issue 22, item 6: `/` has the staff pages' style and says that staff open the demo's
    mailbox and Slack page from the menu — no API key needed."""
    page = await demo_api.client.get("/")
    html = await page.text()
    assert page.status == 200
    assert '<link rel="stylesheet" href="/static/staff.css">' in html
    assert "'self'" in page.headers["Content-Security-Policy"]
    assert (await demo_api.client.get("/static/staff.css")).status == 200
    assert 'href="/demo/mailbox"' in html and 'href="/demo/slack"' in html
    assert "API-nøgle)" not in html and "log ind som visitation eller admin" in html


async def test_a_restart_keeps_the_mails_received(demo_config: MunicipalityConfig,
                                                  sqlite_url: str) -> None:
    """The demo's mail sink and fake Slack keep what they received beside the SQLite file (a
    Maildir, a JSON file), so the mailbox and Slack page still show the day's messages after
    a restart (and a card posted before it can still be updated); `--reset` removes them."""
    store, slack = mail_store(sqlite_url), slack_store(sqlite_url)
    assert store is not None and mail_store("postgresql://u@h/db") is None
    assert slack is not None and slack_store("sqlite+aiosqlite:///:memory:") is None
    seen: list[tuple[str, list[str], str]] = []
    posted: dict[str, list[tuple[str, str]]] = {}
    for start in (1, 2):
        app = create_app(mail_config(demo_config), make_secrets(sqlite_url), demo=True,
                         solver=SOLVER)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            sink = app[DEV_SMTP].sink
            if start == 1:
                async with app[DB].write() as session:
                    _, key = await create_key(session, demo_config.municipality.id, "t",
                                              "intake", None)
                api = Api(client=client, keys={"intake": key})
                await intake(api, body("kept-1"))
                await wait_until(lambda received=sink.messages: len(received) >= 2)
            else:
                assert [(m.subject, m.recipients, m.text) for m in sink.messages] == seen
                assert [m.number for m in sink.messages] == list(range(1, len(seen) + 1))
                fake = app[FAKE_SLACK]
                assert {c: [(p.ts, p.text) for p in ps]
                        for c, ps in fake.conversations.items()} == posted
                # A message posted before the restart can be updated after it; new posts
                # get new timestamps.
                channel, first = next((c, ps[0]) for c, ps in posted.items() if ps)
                client_api = AsyncWebClient(token=fake.token, base_url=fake.base_url)
                updated = await client_api.chat_update(channel=channel, ts=first[0],
                                                       text="opdateret")
                assert updated["ok"]
                new = await client_api.chat_postMessage(channel=channel, text="ny")
                assert new["ts"] not in {ts for ps in posted.values() for ts, _ in ps}
        finally:
            await client.close()
        if start == 1:  # all it received, the process stopped
            seen = [(m.subject, m.recipients, m.text) for m in sink.messages]
            posted = {c: [(p.ts, p.text) for p in ps]
                      for c, ps in app[FAKE_SLACK].conversations.items()}
            assert any(posted.values()), "the intake should have reached Slack"
    assert _reset(sqlite_url) is None and not store.exists() and not slack.exists()


async def test_the_front_page_sends_a_logged_in_member_of_staff_on(demo_api: Api) -> None:
    """Logged in, `/` links to the staff member's own first page instead of the login."""
    async for staff in start_staff(demo_api):
        manager = await staff.login("manager")
        html = await (await manager.session.get(manager.url("/"))).text()
        assert 'href="/login"' not in html and "Du er logget ind som" in html
        assert 'href="/cases"' in html or 'href="/dashboard"' in html
    html = await (await demo_api.client.get("/")).text()
    assert 'href="/login"' in html and "Du er logget ind" not in html
