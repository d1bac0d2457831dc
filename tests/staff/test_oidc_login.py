"""Staff log in with the municipality's identity provider (`[staff_login.oidc]`, OpenID
Connect with PKCE) — against a local provider on loopback (`fake_idp`): the button, the round
trip to the provider and back, a session like a password login's, the way on to `next`; a user
fasthold does not know or has disabled is refused and audited; a wrong state, audience,
signature, nonce or an expired token is refused; a rotated key is fetched again; a provider
that cannot be reached is a Danish page; the password form can be turned off; a secret's
environment variable that is not set stops the start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from yarl import URL

from service.app import create_app
from service.clock import SettableClock
from service.config import ConfigError, MunicipalityConfig, OidcConfig, StaffLoginConfig
from service.keys import DB
from service.platform.db.models import AuditEntry, StaffUser
from tests.staff.fake_idp import CLIENT_ID, CLIENT_SECRET, FakeIdp
from tests.support import (
    SOLVER,
    STAFF_PASSWORD,
    _free_port,
    _staff_password_hash,
    make_secrets,
    today_local,
)

SECRET_ENV = "FASTHOLD_TEST_OIDC_SECRET"


@dataclass
class Setup:
    idp: FakeIdp
    server: TestServer
    clock: SettableClock
    base: str

    def browser(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def _config(config: MunicipalityConfig, issuer: str, base: str, **oidc: object
            ) -> MunicipalityConfig:
    settings = OidcConfig(issuer=issuer, client_id=CLIENT_ID, client_secret_env=SECRET_ENV,
                          **oidc)  # type: ignore[arg-type]
    return config.model_copy(update={
        "staff_login": StaffLoginConfig(oidc=settings),
        "mail": config.mail.model_copy(update={"link_base_url": base})})


async def _start(config: MunicipalityConfig, database_url: str, monkeypatch: pytest.MonkeyPatch,
                 **oidc: object) -> AsyncIterator[Setup]:
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    clock = SettableClock(datetime.combine(today_local(), time(9, 0)))
    idp = await FakeIdp(clock.utcnow).start()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # the test run's one solver process (tests.support), not one of the app's own
    app = create_app(_config(config, idp.issuer, base, **oidc), make_secrets(database_url),
                     clock=clock, solver=SOLVER)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        # as `StaffUsers.create` writes them (tests/staff covers it), gitte disabled
        async with app[DB].write() as session:
            for name, role, disabled in (("lene", "manager", None), ("anne", "admin", None),
                                         ("gitte", "intake", clock.utcnow())):
                session.add(StaffUser(municipality_id=config.municipality.id, username=name,
                                      password_hash=_staff_password_hash(), role=role,
                                      failed_logins=0, disabled_at=disabled))
        yield Setup(idp, server, clock, base)
    finally:
        await server.close()
        await idp.close()


@pytest.fixture
async def setup(demo_config: MunicipalityConfig, sqlite_url: str,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    async for running in _start(demo_config, sqlite_url, monkeypatch):
        yield running


async def _audit(setup: Setup, action: str) -> list[AuditEntry]:
    async with setup.server.app[DB].read() as session:
        return list((await session.execute(select(AuditEntry).where(
            AuditEntry.action == action).order_by(AuditEntry.id))).scalars())


async def _login(setup: Setup, browser: aiohttp.ClientSession, next_path: str = ""
                 ) -> tuple[int, str, str]:
    """Press the button (follow the provider there and back): (status, final path, page)."""
    async with browser.get(f"{setup.base}/login/oidc"
                           + (f"?next={next_path}" if next_path else "")) as answer:
        return answer.status, answer.url.path, await answer.text()


async def test_a_known_user_logs_in_with_the_municipalitys_login(setup: Setup) -> None:
    async with setup.browser() as browser:
        async with browser.get(f"{setup.base}/login") as page:
            html = await page.text()
        assert 'id="oidc-login"' in html and "Log ind med kommunens login" in html
        assert 'name="password"' in html  # the password form stays unless turned off
        setup.idp.user = "Lene"  # the provider's spelling; usernames are lower-case here
        status, path, page = await _login(setup, browser, "/cases")
        assert (status, path) == (200, "/cases"), page
        assert "lene" in page and "Log ud" in page
    [entry] = await _audit(setup, "staff.login")
    assert entry.actor.endswith(":lene") and entry.details == {"via": "oidc"}


async def test_a_provider_that_takes_the_secret_by_http_basic_only(setup: Setup) -> None:
    setup.idp.auth_method = "basic"
    async with setup.browser() as browser:
        status, path, page = await _login(setup, browser, "/dashboard")
        assert (status, path) == (200, "/dashboard"), page[-400:]


async def test_unknown_and_disabled_users_are_refused_and_audited(setup: Setup) -> None:
    for user, why in (("ukendt", "unknown"), ("gitte", "disabled")):
        setup.idp.user = user
        async with setup.browser() as browser:
            status, path, page = await _login(setup, browser)
            assert status == 403 and "ingen adgang til fasthold" in page, (user, page[-400:])
            async with browser.get(f"{setup.base}/cases", allow_redirects=False) as answer:
                assert answer.status in (302, 303)  # not logged in
        refused = (await _audit(setup, "staff.login_refused"))[-1]
        assert refused.details == {"username": user, "via": "oidc", "why": why}
    assert await _audit(setup, "staff.login") == []


async def test_a_bad_answer_from_the_provider_is_refused(setup: Setup) -> None:
    for trouble in ("wrong_aud", "other_key", "expired", "wrong_nonce", "no_username", "deny"):
        setup.idp.trouble = trouble
        async with setup.browser() as browser:
            status, _, page = await _login(setup, browser)
            assert status == 401, (trouble, page[-400:])
            assert ("Du afbrød kommunens login" if trouble == "deny"
                    else "Kommunens login lykkedes ikke") in page, trouble
    assert await _audit(setup, "staff.login") == []


async def test_a_callback_without_its_attempt_or_with_another_state(setup: Setup) -> None:
    async with setup.browser() as browser:
        async with browser.get(f"{setup.base}/login/oidc/callback?code=x&state=y") as answer:
            assert answer.status == 400 and "udløbet" in await answer.text()
        # The attempt was started, but the state that comes back is another one.
        async with browser.get(f"{setup.base}/login/oidc", allow_redirects=False) as answer:
            assert answer.status == 302
        async with browser.get(f"{setup.base}/login/oidc/callback?code=x&state=forged") as answer:
            assert answer.status == 400
        # An attempt older than ten minutes (on the clock) is over.
        async with browser.get(f"{setup.base}/login/oidc", allow_redirects=False) as answer:
            to_provider = answer.headers["Location"]
        setup.clock.set(setup.clock.now().replace(tzinfo=None) + timedelta(minutes=11))
        async with browser.get(to_provider) as answer:
            assert answer.status == 400 and "udløbet" in await answer.text()


async def test_a_rotated_key_is_fetched_again(setup: Setup) -> None:
    async with setup.browser() as browser:
        assert (await _login(setup, browser))[0] == 200
    fetched = setup.idp.jwks_fetches
    setup.idp.rotate()
    async with setup.browser() as browser:
        status, _, page = await _login(setup, browser)
        assert status == 200, page[-400:]
    assert setup.idp.jwks_fetches == fetched + 1


async def test_a_provider_that_cannot_be_reached(setup: Setup) -> None:
    await setup.idp.close()
    async with setup.browser() as browser:
        status, path, page = await _login(setup, browser)
        assert status == 502 and path == "/login/oidc"
        assert "Kommunens login kan ikke nås lige nu" in page


async def test_the_password_form_can_be_turned_off(demo_config: MunicipalityConfig,
                                                   sqlite_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async for setup in _start(demo_config, sqlite_url, monkeypatch, password_login=False):
        async with setup.browser() as browser:
            async with browser.get(f"{setup.base}/login") as page:
                html = await page.text()
            assert 'id="oidc-login"' in html and 'name="password"' not in html
            # A form posted anyway (with the login page's token from its cookie) is refused.
            token = browser.cookie_jar.filter_cookies(
                URL(f"{setup.base}/login"))["fasthold_login_csrf"].value
            async with browser.post(f"{setup.base}/login", data={
                    "csrf_token": token, "username": "lene", "password": STAFF_PASSWORD},
                    headers={"Origin": setup.base}) as answer:
                assert answer.status == 403 and "Log ind med kommunens login" in \
                    await answer.text()
            assert (await _login(setup, browser))[0] == 200
        # An admin makes a user without a password (none is ever asked for), who then logs
        # in with the provider.
        setup.idp.user = "anne"
        async with setup.browser() as admin:
            assert (await _login(setup, admin, "/admin/users"))[:2] == (200, "/admin/users")
            async with admin.get(f"{setup.base}/admin/users") as page:
                html = await page.text()
            assert 'name="password"' not in html and "kommunens login" in html
            csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            async with admin.post(f"{setup.base}/admin/users", data={
                    "csrf_token": csrf, "username": "Ny.Bruger@kommune.dk", "role": "intake",
                    "consultant_id": ""}, headers={"Origin": setup.base}) as answer:
                assert answer.status == 200 and answer.url.path == "/admin/users", \
                    await answer.text()
        setup.idp.user = "ny.bruger@kommune.dk"
        async with setup.browser() as browser:
            assert (await _login(setup, browser))[0] == 200


def test_a_secret_named_but_not_set_stops_the_start(demo_config: MunicipalityConfig,
                                                    sqlite_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        create_app(_config(demo_config, "https://login.example", "http://127.0.0.1:1"),
                   make_secrets(sqlite_url))


ROLES = {"fasthold.visitation": "intake", "fasthold.konsulent": "consultant",
         "fasthold.admin": "admin"}


async def _user(setup: Setup, username: str) -> StaffUser | None:
    async with setup.server.app[DB].read() as session:
        return (await session.execute(select(StaffUser).where(
            StaffUser.username == username))).scalar_one_or_none()


async def test_roles_from_the_provider_make_and_change_users(
        demo_config: MunicipalityConfig, sqlite_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`roles_claim` and `roles`: the provider's roles decide — a user is made at the first
    login, gets the widest role granted at every login (its other sessions end when it
    changes), a consultant is the consultant with the token's e-mail; no role, no access."""
    async for setup in _start(demo_config, sqlite_url, monkeypatch, roles_claim="roles",
                              roles=ROLES):
        idp = setup.idp
        idp.user, idp.roles = "Ny.Bruger@kommune.dk", ["fasthold.visitation", "andet"]
        async with setup.browser() as browser:
            status, path, page = await _login(setup, browser)
            assert (status, path) == (200, "/cases"), page[-400:]  # intake's first page
        user = await _user(setup, "ny.bruger@kommune.dk")
        assert user is not None and (user.role, user.consultant_key) == ("intake", None)
        [made] = await _audit(setup, "staff.user_created")
        assert made.details == {"username": "ny.bruger@kommune.dk", "role": "intake",
                                "via": "oidc"}
        # Next time the provider grants admin too: the widest role, and the change audited.
        idp.roles = ["fasthold.visitation", "fasthold.admin"]
        async with setup.browser() as browser:
            assert (await _login(setup, browser, "/admin/users"))[:2] == (200, "/admin/users")
        assert (await _user(setup, "ny.bruger@kommune.dk")).role == "admin"  # type: ignore[union-attr]
        [changed] = await _audit(setup, "staff.user_role_changed")
        assert (changed.details["role_before"], changed.details["role"]) == ("intake", "admin")
        # No role here (any more): no access, audited.
        for roles in ([], ["andet"]):
            idp.roles = roles
            async with setup.browser() as browser:
                status, _, page = await _login(setup, browser)
                assert status == 403 and "ingen rolle i fasthold" in page
        assert (await _audit(setup, "staff.login_refused"))[-1].details["why"] == "no_role"
        # A consultant is the consultant whose e-mail the token gives; none: no access.
        consultant = demo_config.consultants[0]
        idp.user, idp.roles, idp.email = "konsulent1", ["fasthold.konsulent"], "ukendt@x.dk"
        async with setup.browser() as browser:
            status, _, page = await _login(setup, browser)
            assert status == 403 and "hører ikke til en konsulent" in page
        idp.email = consultant.email.upper()
        async with setup.browser() as browser:
            status, path, page = await _login(setup, browser)
            assert (status, path) == (200, "/my-cases"), page[-400:]
        assert (await _user(setup, "konsulent1")).consultant_key == consultant.id  # type: ignore[union-attr]
        # A user disabled in fasthold stays out, whatever the provider grants.
        idp.user, idp.roles = "gitte", ["fasthold.admin"]
        async with setup.browser() as browser:
            assert (await _login(setup, browser))[0] == 403
        assert (await _audit(setup, "staff.login_refused"))[-1].details["why"] == "disabled"


def test_roles_and_their_claim_come_together(demo_config: MunicipalityConfig) -> None:
    with pytest.raises(ValueError, match="roles_claim"):
        StaffLoginConfig(oidc=OidcConfig(issuer="https://login.example", client_id="x",
                                         roles_claim="roles"))


async def test_logging_out_ends_the_providers_session_too(setup: Setup) -> None:
    """After a login through the provider, "Log ud" ends fasthold's session and the
    provider's (a shared computer's next user must log in themselves), and comes back to the
    login page; after a password login, or with a provider without an end-session endpoint,
    the logout is fasthold's alone."""
    async with setup.browser() as browser:
        assert (await _login(setup, browser, "/dashboard"))[0] == 200
        async with browser.get(f"{setup.base}/dashboard") as page:
            html = await page.text()
        csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with browser.post(f"{setup.base}/logout", data={"csrf_token": csrf},
                                headers={"Origin": setup.base}) as answer:
            assert (answer.status, answer.url.path) == (200, "/login")
            assert "Du er logget ud" in await answer.text()
        assert setup.idp.logouts == [{
            "client_id": CLIENT_ID,
            "post_logout_redirect_uri": f"{setup.base}/login?besked=logget-ud"}]
        async with browser.get(f"{setup.base}/dashboard", allow_redirects=False) as answer:
            assert answer.status in (302, 303)  # logged out here too
    # A password login's logout stays here.
    async with setup.browser() as browser:
        async with browser.get(f"{setup.base}/login") as page:
            html = await page.text()
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with browser.post(f"{setup.base}/login", data={
                "csrf_token": token, "username": "lene", "password": STAFF_PASSWORD},
                headers={"Origin": setup.base}) as answer:
            html = await answer.text()
            assert answer.url.path != "/login", html[-300:]
        csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with browser.post(f"{setup.base}/logout", data={"csrf_token": csrf},
                                headers={"Origin": setup.base}) as answer:
            assert answer.url.path == "/login"
    assert len(setup.idp.logouts) == 1
    # A provider without an end-session endpoint: fasthold's logout alone.
    setup.idp.offers_logout = False
    # (the provider's metadata is read again after an hour, on the clock)
    setup.clock.set(setup.clock.now().replace(tzinfo=None) + timedelta(minutes=61))
    async with setup.browser() as browser:
        assert (await _login(setup, browser, "/dashboard"))[0] == 200
        async with browser.get(f"{setup.base}/dashboard") as page:
            csrf = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with browser.post(f"{setup.base}/logout", data={"csrf_token": csrf},
                                headers={"Origin": setup.base}) as answer:
            assert answer.url.path == "/login"
    assert len(setup.idp.logouts) == 1
