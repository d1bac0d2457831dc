"""Login, logout, sessions and lockout of the staff pages, through real HTTP requests."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from sqlalchemy import func, select
from yarl import URL

from service.clock import SettableClock
from service.keys import DB, STAFF_USERS
from service.platform.db.models import AuditEntry, StaffSession
from service.platform.sessions import SESSION_COOKIE, session_id
from service.staff.users import ADDRESS_LIMIT, USER_LIMIT
from tests.support import (
    STAFF_PASSWORD,
    Staff,
    log_in,
    make_secrets,
    staff_username,
    start_api,
    start_staff,
)


def _cookie(browser: Any, name: str) -> Any:
    return next((c for c in browser.session.cookie_jar if c.key == name), None)


async def test_pages_redirect_to_login_without_a_session(staff: Staff) -> None:
    browser = await staff.browser()
    response = await browser.session.get(browser.url("/admin/users?x=1"), allow_redirects=False)
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert location.path == "/login" and location.query["next"] == "/admin/users?x=1"


async def test_login_takes_the_user_back_where_they_were_going(staff: Staff) -> None:
    browser = await staff.browser()
    response, page = await log_in(browser, staff_username("admin"), next_path="/admin/users")
    assert response.status == 200 and response.url.path == "/admin/users"
    assert "Brugere" in page and "test-admin · Administrator" in page
    cookie = _cookie(browser, SESSION_COOKIE)
    assert cookie is not None and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http in the test; https sets Secure


async def test_next_never_leads_to_another_host(staff: Staff) -> None:
    browser = await staff.browser()
    response, _ = await log_in(browser, staff_username("admin"), next_path="//evil.example/")
    assert response.url.host == "127.0.0.1" and response.url.path != "/login"


async def test_wrong_password_and_unknown_user_get_the_same_answer(staff: Staff) -> None:
    browser = await staff.browser()
    wrong, wrong_page = await log_in(browser, staff_username("intake"), "forkert-kode-123")
    unknown, unknown_page = await log_in(browser, "findes-ikke", "forkert-kode-123")
    assert wrong.status == unknown.status == 401
    for page in (wrong_page, unknown_page):
        assert "Forkert brugernavn eller adgangskode." in page
        assert 'aria-invalid="true"' in page
    assert _cookie(browser, SESSION_COOKIE) is None


async def test_login_form_without_its_csrf_token_is_refused(staff: Staff) -> None:
    browser = await staff.browser()
    await browser.get("/login")
    response, page = await browser.post("/login", {"username": staff_username("intake"),
                                                   "password": STAFF_PASSWORD,
                                                   "csrf_token": "gættet"})
    assert response.status == 403 and "udløbet" in page
    assert _cookie(browser, SESSION_COOKIE) is None


async def test_a_user_is_locked_after_repeated_failures(staff: Staff) -> None:
    browser = await staff.browser()
    for _ in range(USER_LIMIT - 1):
        response, _ = await log_in(browser, staff_username("intake"), "forkert-kode-123")
        assert response.status == 401
    response, page = await log_in(browser, staff_username("intake"), "forkert-kode-123")
    assert response.status == 429 and "For mange mislykkede forsøg" in page
    # Now even the right password is refused, with the same message.
    response, page = await log_in(browser, staff_username("intake"))
    assert response.status == 429 and "For mange mislykkede forsøg" in page
    # A name that does not exist locks the same way (the answer never tells them apart).
    for _ in range(USER_LIMIT):
        response, page = await log_in(browser, "ukendt-bruger", "forkert-kode-123")
    assert response.status == 429 and "For mange mislykkede forsøg" in page
    # Other users are not affected; an admin's new password lifts the lock.
    await staff.login("manager")
    user = await staff.api.client.app[STAFF_USERS].find(staff_username("intake"))
    assert user is not None and user.locked_until is not None
    admin = await staff.login("admin")
    response, page = await admin.post(f"/admin/users/{user.id}/password",
                                      {"password": "helt-ny-adgangskode"})
    assert response.status == 200 and "Den nye adgangskode er gemt" in page
    response, _ = await log_in(browser, staff_username("intake"), "helt-ny-adgangskode")
    assert response.status == 200 and response.url.path != "/login"


async def test_an_address_is_refused_after_many_failures(staff: Staff) -> None:
    browser = await staff.browser()
    for number in range(ADDRESS_LIMIT):
        response, _ = await log_in(browser, f"navn-{number}", "forkert-kode-123")
    assert response.status == 429
    # From this address even a right login waits.
    response, page = await log_in(browser, staff_username("admin"))
    assert response.status == 429 and "For mange mislykkede forsøg" in page


async def test_a_session_id_planted_before_login_is_never_used(staff: Staff) -> None:
    browser = await staff.browser()
    planted = "plantet-af-en-angriber-0123456789"
    browser.session.cookie_jar.update_cookies({SESSION_COOKIE: planted},
                                              response_url=URL(browser.base))
    await log_in(browser, staff_username("intake"))
    cookie = _cookie(browser, SESSION_COOKIE)
    assert cookie is not None and cookie.value != planted
    async with staff.api.client.app[DB].read() as session:
        ids = set((await session.execute(select(StaffSession.id))).scalars())
    assert session_id(cookie.value) in ids and session_id(planted) not in ids


async def test_logout_ends_the_session_and_needs_the_csrf_token(staff: Staff) -> None:
    browser = await staff.login("manager")
    cookie = _cookie(browser, SESSION_COOKIE).value
    response, page = await browser.post("/logout", {"csrf_token": "forkert"})
    assert response.status == 403 and "Handlingen blev afvist" in page
    response, page = await browser.post("/logout")
    assert response.status == 200 and response.url.path == "/login"
    assert "Du er logget ud." in page
    # The old cookie value no longer opens anything.
    other = await staff.browser()
    other.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie},
                                            response_url=URL(other.base))
    response = await other.session.get(other.url("/admin/users"), allow_redirects=False)
    assert response.status == 302
    async with staff.api.client.app[DB].read() as session:
        actions = list((await session.execute(select(AuditEntry.action).where(
            AuditEntry.actor == "manager:test-manager"))).scalars())
    assert [a for a in actions if a.startswith("staff.")] == ["staff.login", "staff.logout"]


async def test_sessions_end_when_idle_and_after_the_absolute_limit(demo_config: Any,
                                                                   sqlite_url: str) -> None:
    clock = SettableClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        async for staff in start_staff(api):
            browser = await staff.login("admin")
            clock.advance(timedelta(minutes=50))
            response, _ = await browser.get("/admin/users")
            assert response.url.path == "/admin/users"  # seen again: the idle time restarts
            clock.advance(timedelta(minutes=50))
            response, _ = await browser.get("/admin/users")
            assert response.url.path == "/admin/users"
            clock.advance(timedelta(minutes=61))  # idle too long
            response, _ = await browser.get("/admin/users")
            assert response.url.path == "/login"
            browser = await staff.login("admin")
            for _ in range(20):  # busy all day: the absolute limit still ends it
                clock.advance(timedelta(minutes=30))
                response, _ = await browser.get("/admin/users")
            assert response.url.path == "/login"
            async with api.client.app[DB].read() as session:
                left = (await session.execute(select(func.count(StaffSession.id)))).scalar()
            assert left == 0


async def test_failures_older_than_the_window_do_not_count(demo_config: Any,
                                                           sqlite_url: str) -> None:
    """Issue 16, item 7: 4 failures 20 minutes ago and 1 now used to lock the user (the
    user's counter only reset on success or a lock); the address limit counts its window."""
    clock = SettableClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        async for staff in start_staff(api):
            users = api.client.app[STAFF_USERS]
            browser = await staff.browser()
            for _ in range(USER_LIMIT - 1):
                response, _ = await log_in(browser, staff_username("intake"), "forkert-kode")
                assert response.status == 401
            clock.advance(timedelta(minutes=20))
            response, _ = await log_in(browser, staff_username("intake"), "forkert-kode")
            assert response.status == 401
            user = await users.find(staff_username("intake"))
            assert user is not None and user.locked_until is None
            assert user.failed_logins == 1  # only the failure within the window
            # Four more within the window make five: locked.
            for _ in range(USER_LIMIT - 2):
                response, _ = await log_in(browser, staff_username("intake"), "forkert-kode")
                assert response.status == 401
            response, _ = await log_in(browser, staff_username("intake"), "forkert-kode")
            assert response.status == 429
            user = await users.find(staff_username("intake"))
            assert user is not None and user.locked_until is not None
            assert user.failed_logins == 0

            # The address: all but one of its failures 20 minutes ago no longer count.
            clock.advance(timedelta(minutes=20))
            for number in range(ADDRESS_LIMIT - 1):
                response, _ = await log_in(browser, f"navn-{number}", "forkert-kode")
                assert response.status == 401
            clock.advance(timedelta(minutes=20))
            response, _ = await log_in(browser, "navn-x", "forkert-kode")
            assert response.status == 401
            response, _ = await log_in(browser, staff_username("manager"))
            assert response.status == 200 and response.url.path != "/login"


async def _on_a_clock(demo_config: Any, sqlite_url: str,
                      check: Callable[[SettableClock, Any, Staff], Awaitable[None]]) -> None:
    """`check` with the app on a settable clock and one staff user per role."""
    clock = SettableClock(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        async for staff in start_staff(api):
            await check(clock, api, staff)


async def test_a_page_after_the_session_ran_out_says_so_on_the_login_page(
        demo_config: Any, sqlite_url: str) -> None:
    await _on_a_clock(demo_config, sqlite_url, _said_on_the_login_page)


async def _said_on_the_login_page(clock: SettableClock, api: Any,
                                  staff: Staff) -> None:
    browser = await staff.login("admin")
    clock.advance(timedelta(minutes=61))
    response, page = await browser.get("/admin/users")
    assert response.url.path == "/login"
    assert response.url.query["next"] == "/admin/users"
    assert "Din session er udløbet. Log ind igen." in page
    # Never logged in (or logged out): no such words.
    fresh = await staff.browser()
    _, page = await fresh.get("/admin/users")
    assert "udløbet" not in page


async def test_a_form_sent_after_the_session_ran_out_is_kept_and_sent_after_logging_in(
        demo_config: Any, sqlite_url: str) -> None:
    """WCAG 2.2.5: what was typed survives logging in again. The form goes through the
    login page (307) in a hidden field, and once the same user is in, a page sends it on
    with the new session's CSRF token at the press of a button."""
    await _on_a_clock(demo_config, sqlite_url, _kept_and_sent_on)


async def _kept_and_sent_on(clock: SettableClock, api: Any,
                            staff: Staff) -> None:
    browser = await staff.login("admin")
    await browser.get("/admin/users")
    clock.advance(timedelta(minutes=61))
    typed = {"username": "ny-kollega", "role": "intake", "consultant_id": "",
             "password": "en-lang-adgangskode-2026"}
    origin = {"Origin": browser.base, "Referer": browser.url("/admin/users?side=1")}
    response, _ = await browser.post("/admin/users", typed, headers=origin,
                                     allow_redirects=False)
    assert response.status == 307
    to = URL(response.headers["Location"])
    assert to.path == "/login" and to.query["sendt"] == "/admin/users"
    assert to.query["next"] == "/admin/users?side=1"
    # The browser sends the same form on to the login page.
    response, page = await browser.post(str(to), typed, headers=origin,
                                        allow_redirects=False)
    assert response.status == 401
    assert "det, du skrev, er gemt" in page
    assert "ny-kollega" in page  # kept in the login form, not on the server
    assert await api.client.app[STAFF_USERS].find("ny-kollega") is None
    # A wrong password keeps it still; the right one leads to the page that sends it.
    fields = dict(re.findall(r'name="(kept[a-z_]*|next|csrf_token)" value="([^"]*)"',
                             page))
    kept = {k: unescape(v) for k, v in fields.items()}
    wrong, page = await browser.post("/login", {
        **kept, "username": staff_username("admin"), "password": "forkert-kode"},
        csrf=False)
    assert wrong.status == 401 and "ny-kollega" in page
    kept = {k: unescape(v) for k, v in re.findall(
        r'name="(kept[a-z_]*|next|csrf_token)" value="([^"]*)"', page)}
    response, page = await browser.post("/login", {
        **kept, "username": staff_username("admin"), "password": STAFF_PASSWORD},
        csrf=False)
    assert response.status == 200 and response.url.path == "/login"
    assert "Du er logget ind igen" in page and 'action="/admin/users"' in page
    assert 'href="/admin/users?side=1"' in page  # back without sending
    assert await api.client.app[STAFF_USERS].find("ny-kollega") is None
    resend = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', page))
    assert resend["username"] == "ny-kollega" and resend["csrf_token"] == browser.csrf
    response, page = await browser.post("/admin/users", resend, csrf=False,
                                        headers=origin)
    assert response.url.path == "/admin/users", page
    assert await api.client.app[STAFF_USERS].find("ny-kollega") is not None


async def test_a_kept_form_is_not_handed_to_another_user_nor_kept_from_another_site(
        demo_config: Any, sqlite_url: str) -> None:
    await _on_a_clock(demo_config, sqlite_url, _not_for_another_user_nor_site)


async def _not_for_another_user_nor_site(clock: SettableClock, api: Any,
                                         staff: Staff) -> None:
    browser = await staff.login("admin")
    await browser.get("/admin/users")
    clock.advance(timedelta(minutes=61))
    typed = {"username": "ny-kollega", "role": "intake", "password": "x" * 20}
    # From another site: the usual way to the login page, nothing kept.
    response, _ = await browser.post("/admin/users", typed, allow_redirects=False,
                                     headers={"Origin": "https://evil.example"})
    assert response.status == 302
    assert "sendt" not in URL(response.headers["Location"]).query
    # From our page, but someone else logs in at that browser: on as usual.
    browser = await staff.login("admin")
    await browser.get("/admin/users")
    clock.advance(timedelta(minutes=61))
    response, _ = await browser.post("/admin/users", typed, allow_redirects=False,
                                     headers={"Origin": browser.base})
    to = URL(response.headers["Location"])
    _, page = await browser.post(str(to), typed, headers={
        "Origin": browser.base}, allow_redirects=False)
    kept = {k: unescape(v) for k, v in re.findall(
        r'name="(kept[a-z_]*|next|csrf_token)" value="([^"]*)"', page)}
    assert kept["kept"]
    response, page = await browser.post("/login", {
        **kept, "username": staff_username("intake"), "password": STAFF_PASSWORD},
        csrf=False)
    assert "Du er logget ind igen" not in page and response.url.path != "/login"
    # And an hour on, the kept form has expired: the login page keeps nothing.
    clock.advance(timedelta(hours=2))
    _, page = await browser.post(str(to), typed, headers={
        "Origin": browser.base}, allow_redirects=False)
    assert 'name="kept"' not in page and "Din session er udløbet" in page
