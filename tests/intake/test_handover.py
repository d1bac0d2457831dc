"""Issue 20 item 5: the hand-over date. Intake takes `handed_over_on` (API, the new-case form,
the CSV import's column), validated (not in the future, not before the first absence day);
the case page says the absence week it arrived in; the intake channel is told once of each
case handed over after week 7 (no health data); the register's column and the dashboard's
"overdraget efter uge 7" are filled."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.db.models import Case, OutboxMessage
from tests.intake.test_csv_import import _import, _upload
from tests.intake.test_pages import _form
from tests.meetings.email_cases import body, intake
from tests.support import Staff, make_secrets, start_api, start_staff, today_local

INTAKE_CHANNEL = "C0HANDOVER"
LATE_KIND = "intake_late_handover"


@pytest.fixture
async def staff_with_channel(demo_config: MunicipalityConfig, sqlite_url: str
                             ) -> AsyncIterator[Staff]:
    secrets = make_secrets(sqlite_url, FASTHOLD_SLACK_INTAKE_CHANNEL=INTAKE_CHANNEL)
    async for api in start_api(demo_config, secrets):
        async for staff in start_staff(api):
            yield staff


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _days_ago(days: int) -> str:
    return (today_local() - timedelta(days=days)).isoformat()


async def _late_posts(staff: Staff) -> list[tuple[str, str, str]]:
    async with staff.api.client.app[DB].read() as session:
        rows = (await session.execute(select(OutboxMessage, Case.case_ref).join(
            Case, Case.id == OutboxMessage.case_id).where(OutboxMessage.kind == LATE_KIND)
            .order_by(OutboxMessage.id))).all()
    return [(m.recipient, ref, m.body_text + str(m.payload)) for m, ref in rows]


async def test_the_api_validates_and_stores_the_hand_over_date(
        staff_with_channel: Staff) -> None:
    api = staff_with_channel.api
    post = api.client.post
    for value, code in ((_days_ago(-1), "date_in_future"),
                        (_days_ago(61), "before_first_absence_day"),
                        ("2026-13-01", None), ("i går", None), (20261201, None)):
        resp = await post("/api/cases", json=body("bad", first_absence_day=_days_ago(60),
                                                   handed_over_on=value),
                          headers=api.auth("intake"))
        assert resp.status == 422, (value, await resp.text())
        error = (await resp.json())["errors"][0]
        assert error["field"] == "handed_over_on", (value, error)
        if code is not None:
            assert error["code"] == code, (value, error)

    # Day 58 of the absence: week 9, late. Day 40: week 6, in time. None given: no date.
    await intake(api, body("late", first_absence_day=_days_ago(60), handed_over_on=_days_ago(2)),
                 body("early", first_absence_day=_days_ago(50), handed_over_on=_days_ago(10)),
                 body("unknown", first_absence_day=_days_ago(20)))
    case = await (await api.client.get("/api/cases/late", headers=api.auth("intake"))).json()
    assert case["facts"]["handed_over_on"] == _days_ago(2)
    case = await (await api.client.get("/api/cases/unknown", headers=api.auth("intake"))).json()
    assert "handed_over_on" not in case["facts"]

    # The intake channel hears of the late one only, once — no CPR, name or diagnosis.
    posts = await _late_posts(staff_with_channel)
    assert [(recipient, ref) for recipient, ref, _ in posts] == [(INTAKE_CHANNEL, "late")]
    assert "fraværsuge 9" in posts[0][2] and "senere end uge 7" in posts[0][2]
    for private in ("Mads", "010190", "mental", "psyk"):
        assert private not in posts[0][2], private
    # The same case again (and another change to it) is not told again.
    await intake(api, body("late", first_absence_day=_days_ago(60), handed_over_on=_days_ago(2),
                           visitation_category=2))
    assert len(await _late_posts(staff_with_channel)) == 1
    # A hand-over date registered later, by a merge patch, that is late: told.
    resp = await api.client.patch("/api/cases/early", json={"handed_over_on": _days_ago(0)},
                                  headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    assert [ref for _, ref, _ in await _late_posts(staff_with_channel)] == ["late", "early"]

    # The case page: the absence week it arrived in, and that it was late.
    browser = await staff_with_channel.login("intake")
    response, page = await browser.get("/cases/late")
    assert response.status == 200
    assert "Overdraget i fraværsuge 9" in _text(page) and "senere end uge 7" in _text(page)
    _, page = await browser.get("/cases/unknown")
    assert "Overdraget i fraværsuge" not in _text(page)

    # The register's column is filled.
    month = _days_ago(60)[:7]
    resp = await api.client.get(f"/api/register.csv?from={month}&to={_days_ago(0)[:7]}",
                                headers=api.auth("manager"))
    rows = list(csv.DictReader(io.StringIO((await resp.text()).lstrip("\ufeff")),
                               delimiter=";"))
    handed = {r["Sags-id"]: r["Overdraget fra ydelseskontoret"] for r in rows}
    assert handed["late"] == _days_ago(2) and handed["unknown"] == ""


async def test_the_form_and_the_csv_import_take_the_hand_over_date(
        staff_with_channel: Staff) -> None:
    browser = await staff_with_channel.login("intake")
    _, page = await browser.get("/new-case")
    assert 'name="handed_over_on"' in page
    response, page = await browser.post("/new-case", _form(
        first_absence_day=_days_ago(12), handed_over_on=_days_ago(13)))
    assert response.status == 422
    assert "Datoen må ikke ligge før første fraværsdag" in _text(page)
    response, page = await browser.post("/new-case", _form(
        first_absence_day=_days_ago(55), handed_over_on=_days_ago(1)))
    assert response.status == 200, _text(page)[:500]

    # The CSV column (a Danish date as spreadsheets write it), a bad one rejected by name.
    danish = (today_local() - timedelta(days=3)).strftime("%d-%m-%Y")
    content = ("case_id;first_absence_day;handed_over_on;employment;employer_cvr\r\n"
               f"c-1;{_days_ago(70)};{danish};beskæftiget;29189919\r\n"
               f"c-2;{_days_ago(20)};{_days_ago(-3)};beskæftiget;29189919\r\n"
               f"c-3;{_days_ago(20)};;beskæftiget;29189919\r\n")
    await browser.get("/import")
    response, page = await _upload(browser, content.encode("utf-8"))
    text = _text(page)
    assert response.status == 200 and "2 nye, 0 findes allerede, 1 afvises" in text, text
    assert "kolonne handed_over_on" in text
    _, report = await _import(browser, page)
    assert "2 oprettet" in _text(report)
    async with staff_with_channel.api.client.app[DB].read() as session:
        cases = {c.case_ref: c for c in (await session.execute(select(Case))).unique().scalars()}
    assert cases["k-100"].facts["handed_over_on"] == _days_ago(1)
    assert cases["c-1"].facts["handed_over_on"] == _days_ago(3)
    assert "handed_over_on" not in cases["c-3"].facts
    # Both late ones (week 8 from the form, week 10 from the file) are told, once each.
    assert sorted(ref for _, ref, _ in await _late_posts(staff_with_channel)) == ["c-1", "k-100"]
