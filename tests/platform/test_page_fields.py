"""Every field of every staff form, given what a person (or a crafted request) may type
instead of what the page offers — nothing, a number where a date goes, a day that does not
exist, a time with seconds or a UTC offset, a huge number, a date past year 9999 — is a 4xx
or the form again, never a 5xx and never an error in the log (the API has schemathesis; the
pages had only their broken bodies and text rules checked, and a staff move's time with
seconds was a 500).

The forms are read off the pages themselves (each `<form method="post">` with its fields and
the values the page filled in), so a new form or field is covered without listing it here.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from service.keys import DB, LINKS, NOTIFIER
from service.platform.db.models import Consultant, Meeting
from tests.meetings.email_cases import body, intake
from tests.support import Staff, today_local

ODD = ("", "-1", "99999999999999999999", "abc", "2026-02-30", "0001-01-01",
       f"{today_local().year + 1}-01-04T09:00:30", f"{today_local().year + 1}-01-04T09:00+01:00")
# Forms that end the session or only change what the test needs to go on.
SKIPPED = ("/logout",)


class _Forms(HTMLParser):
    """The page's POST forms: action -> {field name: the value the page gave it}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._current = {}
            self.forms.append((a.get("action", ""), self._current))
        elif self._current is not None and a.get("name"):
            if tag == "input" and a.get("type") in ("checkbox", "radio") \
                    and "checked" not in a and a["name"] in self._current:
                return
            if tag in ("input", "textarea"):
                self._current[a["name"]] = a.get("value", "")
            elif tag == "select":
                self._select = a["name"]
                self._current.setdefault(a["name"], "")
        elif tag == "option" and self._current is not None and self._select is not None:
            if not self._current.get(self._select) or "selected" in a:
                self._current[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def forms_of(page: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


async def test_every_form_field_with_odd_input_is_never_a_5xx(
        staff: Staff, caplog: pytest.LogCaptureFixture) -> None:
    api = staff.api
    await intake(api, body("p1"), body("p2"))
    resp = await api.client.post("/api/cases/p2/meeting/confirm", json={
        "start": (await (await api.client.get("/api/cases/p2", headers=api.auth("intake"))
                         ).json())["meeting"]["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    async with api.client.app[DB].read() as session:
        consultant = (await session.execute(select(Consultant.key).order_by(Consultant.id))
                      ).scalars().first()
    admin = await staff.login("admin")
    pages = ("/new-case", "/cases/p1", "/cases/p2", "/cases/p2/meeting", "/my-cases/p1",
             "/my-cases/p2", "/admin/consultants", f"/admin/consultants/{consultant}",
             "/admin/users", "/letters", "/deliveries", "/meetings/to-move", "/week",
             "/calendar", "/import")
    forms: dict[str, dict[str, str]] = {}
    for path in pages:
        response, page = await admin.get(path)
        assert response.status == 200, (path, response.status)
        for action, fields in forms_of(page):
            target = action or path
            # one of each form: the same form of another case adds nothing
            if target not in SKIPPED and target.startswith("/") and not any(
                    target.replace("/p2", "/p1") == seen.replace("/p2", "/p1")
                    for seen in forms):
                forms[target] = fields
    assert {"/new-case", "/cases/p1/close", "/cases/p2/meeting/move"} <= set(forms), forms
    caplog.set_level(logging.WARNING)
    tried = 0
    for action, defaults in forms.items():
        for field in defaults:
            if field == "csrf_token":
                continue
            for value in ODD:
                sent: dict[str, Any] = {**defaults, field: value}
                response, page = await admin.post(action, sent)
                tried += 1
                assert response.status < 500, (action, field, value, response.status,
                                               page[:300])
    assert tried > 500
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:3]


async def test_every_field_of_the_employer_and_citizen_link_pages_is_never_a_5xx(
        staff: Staff, caplog: pytest.LogCaptureFixture) -> None:
    """The same for the pages behind a link (no login): the employer's meeting page (confirm,
    other times, decline) and the citizen's page to ask for a talk first."""
    api = staff.api
    app = api.client.app
    await intake(api, body("q1"), body("q2"))
    async with app[DB].read() as session:
        meetings = list((await session.execute(select(Meeting.id, Meeting.case_id).where(
            Meeting.status == "proposed").order_by(Meeting.id))).all())
    assert len(meetings) == 2
    expires = today_local() + timedelta(days=30)
    pages = [f"/m/{app[LINKS].token(meeting_id, expires)}" for meeting_id, _ in meetings]
    pages.append(f"/samtale/{app[NOTIFIER].talk_links.token(meetings[0][1], expires)}")
    browser = await staff.browser()
    caplog.set_level(logging.WARNING)
    tried = 0
    for path in pages:
        response, page = await browser.get(path)
        assert response.status == 200, (path, response.status)
        forms = forms_of(page)
        assert forms, path
        for action, defaults in forms:
            for field in defaults:
                if field in ("csrf", "csrf_token"):
                    continue
                for value in ODD:
                    response = await browser.session.post(
                        browser.url(action or path), data={**defaults, field: value})
                    tried += 1
                    assert response.status < 500, (action, field, value, response.status,
                                                   (await response.text())[:300])
    assert tried > 50
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:3]
