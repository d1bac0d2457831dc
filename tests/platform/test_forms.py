"""Posted forms on every page: a body no browser sends is a Danish 400 page, never a 500
(issue 16, item 8); the API's text rules apply to every form field; an error in an employer
link's route never logs the link's token; a very long link token is a link that does not work.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from service.keys import ANSWERS, DB, LINKS, NOTIFIER
from service.platform.db.models import Meeting
from tests.meetings.email_cases import body, intake
from tests.support import Api, Staff, log_in, staff_browser, staff_username, today_local

BROKEN = {
    "multipart without a boundary": ("multipart/form-data", b"--x\r\n\r\nx\r\n--x--\r\n"),
    "multipart without its boundary": ("multipart/form-data; boundary=xyz", b"garbage"),
    "multipart cut short": ("multipart/form-data; boundary=xyz",
                            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nval'),
    "a part without a name": ("multipart/form-data; boundary=xyz",
                              b"--xyz\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xyz--\r\n"),
    "a broken part header": ("multipart/form-data; boundary=xyz",
                             b"--xyz\r\nfoo\r\n\r\nv\r\n--xyz--\r\n"),
    "an unknown transfer encoding": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n'
        b"Content-Transfer-Encoding: weird\r\n\r\nv\r\n--xyz--\r\n"),
    "a part not in UTF-8": ("multipart/form-data; boundary=xyz",
                            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
                            b"\xff\xfe\r\n--xyz--\r\n"),
    "an unknown charset": ("application/x-www-form-urlencoded; charset=nope", b"a=b"),
}
UNREADABLE = "Formularen kunne ikke læses"


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def a_meeting_link(api: Api) -> str:
    """A planned meeting's employer link (its path)."""
    await intake(api, body("f1"))
    async with api.client.app[DB].read() as session:
        meeting_id = (await session.execute(select(Meeting.id))).scalars().first()
    assert meeting_id is not None, "planning made no meeting"
    return "/m/" + api.client.app[LINKS].token(meeting_id, today_local() + timedelta(days=30))


def page_post_routes(app: web.Application) -> list[str]:
    """Every staff page that takes a POST, with its path parameters filled in."""
    paths = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method != "POST" or canonical.startswith(("/api", "/slack", "/demo", "/m/",
                                                            "/samtale/")):
            continue
        paths.append(re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("_id")
                            and m.group(1) != "case_id" else "k1", canonical))
    return sorted(paths)


async def test_broken_forms_before_any_login_are_400(staff: Staff,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    api = staff.api
    link = await a_meeting_link(api)
    # The citizen's link to ask for the private talk (a link page like the employer's).
    async with api.client.app[DB].read() as session:
        case_id = (await session.execute(select(Meeting.case_id))).scalars().first()
    assert case_id is not None
    talk = "/samtale/" + api.client.app[NOTIFIER].talk_links.token(
        case_id, today_local() + timedelta(days=30))
    browser = await staff.browser()
    caplog.set_level(logging.INFO)
    for name, (content_type, data) in BROKEN.items():
        for path in ("/login", *(f"{link}/{action}" for action in
                                 ("confirm", "other-times", "decline", "cancel")), talk):
            response = await browser.session.post(browser.url(path), data=data,
                                                  headers={"Content-Type": content_type})
            page = await response.text()
            assert response.status == 400, (name, path, response.status, page[:300])
            assert UNREADABLE in page and response.content_type == "text/html", (name, path)
    no_errors_logged(caplog)


async def test_broken_forms_on_every_staff_page_are_400(staff: Staff,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    admin = await staff.login("admin")
    paths = page_post_routes(staff.api.client.app)
    assert {"/new-case", "/logout", "/admin/users", "/cases/k1/close", "/import",
            "/my-cases/k1/close", "/deliveries/1/retry"} <= set(paths)
    caplog.set_level(logging.INFO)
    for name, (content_type, data) in BROKEN.items():
        for path in paths:
            response = await admin.session.post(admin.url(path), data=data,
                                                headers={"Content-Type": content_type})
            page = await response.text()
            if path.startswith("/import") and response.status == 403:
                # The upload is read as a stream; one it can read without its CSRF token
                # is refused like any form without it.
                assert "Handlingen blev afvist" in page
                continue
            assert response.status == 400, (name, path, response.status, page[:300])
            assert UNREADABLE in page, (name, path)
            assert "test-admin" in page, "the menu of the logged-in user"
    no_errors_logged(caplog)


async def test_text_rules_apply_to_every_form_field(staff_on_both: Staff) -> None:
    """A NUL in the login name was written to the failures table: 500 on PostgreSQL."""
    browser = await staff_browser(staff_on_both.api)
    staff_on_both.browsers.append(browser)
    response, page = await log_in(browser, "test-a\x00dmin", "forkert-kode")
    assert response.status == 400 and "«username»" in page and UNREADABLE in page
    # The same name without the NUL still logs in: nothing was counted against it.
    response, _ = await log_in(browser, staff_username("admin"))
    assert response.status == 200 and response.url.path != "/login"
    # A staff form: the close note of a case.
    resp = await staff_on_both.api.client.post(
        "/api/cases", json=body("n1"), headers=staff_on_both.api.auth("intake"))
    assert resp.status == 201, await resp.text()
    for path in ("/cases/n1/close", "/my-cases/n1/close"):
        response, page = await browser.post(path, {
            "outcome": "back_to_work", "on": today_local().isoformat(),
            "note": "tilbage\x00på arbejde"})
        assert response.status == 400 and "«note»" in page, (path, response.status, page[:300])
    # A page's path: a NUL in a case id was a 500 on PostgreSQL.
    for path in ("/cases/n%00b", "/my-cases/n%00b", "/cases/n%00b/close"):
        response, page = await browser.get(path)
        assert response.status in (404, 405) and "Siden" in page, path


async def test_an_error_in_a_link_route_logs_no_token(sqlite_api: Api,
                                                      caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    link = await a_meeting_link(sqlite_api)
    token = link.removeprefix("/m/")
    app = sqlite_api.client.app

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(app[ANSWERS], "confirm", broken)
    caplog.set_level(logging.INFO)
    response = await sqlite_api.client.post(f"{link}/confirm", data={
        "csrf": app[LINKS].form_token(token), "slot": "x"})
    assert response.status == 500
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "unhandled error in POST /m/{token}/confirm" in logged
    assert token not in logged and token[:40] not in logged


async def test_a_very_long_link_token_is_a_link_that_does_not_work(sqlite_api: Api) -> None:
    """A 10 KB token was refused by the HTTP parser (a plain-text 400)."""
    short = await sqlite_api.client.get("/m/" + "x" * 40)
    expected = await short.text()
    assert short.status == 403 and "Linket virker ikke" in expected
    for length in (10_000, 30_000):
        response = await sqlite_api.client.get("/m/" + "x" * length)
        assert response.status == 403, length
        assert await response.text() == expected
        response = await sqlite_api.client.post("/m/" + "x" * length + "/confirm",
                                                data={"slot": "x"})
        assert response.status == 403 and await response.text() == expected
