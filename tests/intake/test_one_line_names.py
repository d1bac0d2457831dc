"""Names, addresses and phone numbers go into mail headers and bodies: one line each. A line
break (CR, LF, U+2028, U+2029, NEL), another control character or a bidi override is refused
on every way in — the API (create and PATCH), the new-case form, the CSV import — with an
error naming the field. A name stored before that rule that still breaks a mail fails the
mail at once (not 26 hours of retries): failed on /deliveries, and the consultant told."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from service.config import MunicipalityConfig
from service.intake import schemas
from service.keys import DB, JOBS
from service.platform.db.models import Case, OutboxMessage
from tests.meetings.email_cases import CITIZEN, EMPLOYER, body, intake
from tests.support import (
    Api,
    SmtpSink,
    Staff,
    mail_config,
    smtp_secrets,
    start_api,
    start_staff,
    wait_until,
)

BROKEN = {"CR": "Karen\rØstergård", "LF": "Karen\nØstergård",
          "U+2028": "Karen\u2028Østergård", "U+2029": "Karen\u2029Østergård",
          "NEL": "Karen\x85Østergård", "TAB": "Karen\tØstergård",
          "bidi override": "Karen\u202eØstergård"}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def _cases(staff: Staff) -> int:
    async with staff.api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(Case.id)))).scalar_one()


@pytest.mark.parametrize("what", sorted(BROKEN))
def test_the_one_rule(what: str) -> None:
    assert schemas.one_line_problem(BROKEN[what])
    assert schemas.one_line_problem("Karen Østergård-Ågård, Søndergade 1. th.") is None


async def test_refused_by_the_api_the_form_and_the_csv_import(staff: Staff) -> None:
    api = staff.api
    # The API: create …
    for path, where in ((("citizen", "name"), "citizen.name"),
                        (("employer", "contact_name"), "employer.contact_name"),
                        (("employer", "name"), "employer.name"),
                        (("employer", "address"), "employer.address"),
                        (("citizen", "phone"), "citizen.phone")):
        for broken in BROKEN.values():
            data = body("n1")
            data[path[0]] = {**data[path[0]], path[1]: broken}
            resp = await api.client.post("/api/cases", json=data, headers=api.auth("intake"))
            assert resp.status == 422, (where, broken)
            errors = (await resp.json())["errors"]
            assert errors[0]["field"] == where, errors
            assert "line breaks or control characters" in errors[0]["message"], errors
    assert await _cases(staff) == 0
    # … and PATCH.
    await intake(api, body("n1"))
    resp = await api.client.patch("/api/cases/n1", json={"citizen": {"name": BROKEN["CR"]}},
                                  headers=api.auth("intake"))
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "citizen.name"

    # The new-case form: a Danish message at the field; nothing stored.
    browser = await staff.login("intake")
    response, page = await browser.post("/new-case", {
        "case_id": "n2", "first_absence_day": body("n2")["first_absence_day"],
        "employment": "employed", "employer_cvr": "12345678",
        "citizen_name": BROKEN["U+2028"], "employer_contact_name": BROKEN["CR"]})
    assert response.status == 422
    text = _text(page)
    assert "Borgerens navn skal stå på én linje uden linjeskift eller styretegn." in text
    assert "Kontaktperson hos arbejdsgiveren skal stå på én linje" in text
    assert await _cases(staff) == 1

    # The CSV import: the row is rejected naming the column; the good row is not.
    day = body("n3")["first_absence_day"]
    content = ("case_id;first_absence_day;employment;employer_cvr;citizen_name;"
               "employer_contact_name\n"
               f'n3;{day};employed;12345678;"Åse\nØberg";Lone\n'
               f"n4;{day};employed;12345678;Åse Øberg;Lone\u2028Berg\n"
               f"n5;{day};employed;12345678;Åse Øberg;Lone Berg\n")
    await browser.get("/import")
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.csrf)
    form.add_field("file", content.encode("utf-8"), filename="sager.csv",
                   content_type="text/csv")
    response = await browser.session.post(browser.url("/import/preview"), data=form)
    text = _text(await response.text())
    assert response.status == 200, text
    assert "3 rækker: 1 ny, 0 findes allerede, 2 afvises" in text
    assert "kolonne citizen_name: Borgerens navn skal stå på én linje" in text
    assert "kolonne employer_contact_name: Kontaktperson hos arbejdsgiveren skal stå på " \
           "én linje" in text


async def test_a_stored_name_that_breaks_the_mail_fails_it_at_once_and_is_told(
        demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Names stored before the rule: the API took them then.
    monkeypatch.setattr(schemas, "one_line_problem", lambda _text: None, raising=False)
    smtp_sink.refuse[CITIZEN] = 550  # and a citizen's mail that bounces
    async for api in start_api(mail_config(demo_config),
                               smtp_secrets(sqlite_url, smtp_sink.port)):
        await intake(api, body("b1", citizen={"name": BROKEN["U+2028"]}),
                     body("b2", citizen={"name": "Ib Holm", "email": CITIZEN},
                          citizen_declines_workplace_meeting=True))

        async def settled(api: Api = api) -> list[OutboxMessage] | None:
            await api.client.app[JOBS].wait_idle()
            async with api.client.app[DB].read() as session:
                rows = list((await session.execute(select(OutboxMessage).order_by(
                    OutboxMessage.id))).scalars())
            mails = [r for r in rows if r.channel == "email"]
            done = mails and all(r.status == "failed" for r in mails)
            told = {r.kind for r in rows if r.channel == "slack"} >= {
                "employer_mail_failed", "citizen_mail_failed"}
            return rows if done and told else None

        rows = await wait_until(settled, what="both mails failed and the consultants told")
        mails = {r.kind: r for r in rows if r.channel == "email"}
        # The citizen's first message (their consultant, the right to a talk first) and the
        # meeting's letter both go to the refused mailbox.
        assert set(mails) == {"employer_invitation", "citizen_first_contact", "citizen_meeting"}
        invitation = mails["employer_invitation"]
        assert (invitation.recipient, invitation.attempts) == (EMPLOYER, 1)  # at once
        assert "cannot be built" in (invitation.last_error or "")
        assert mails["citizen_meeting"].attempts == 1
        cases = {r.case_id: r.kind for r in rows if r.channel == "slack"
                 and r.kind.endswith("_mail_failed")}
        assert sorted(cases.values()) == ["citizen_mail_failed", "employer_mail_failed"]
        assert cases[invitation.case_id] == "employer_mail_failed"
        assert smtp_sink.messages == []

        # All three on /deliveries for staff to act on.
        async for staff in start_staff(api):
            page = await _deliveries(staff)
            assert "Fejlede forsendelser (3)" in page, page
            assert "cannot be built" in page and "550" in page


async def _deliveries(staff: Staff) -> Any:
    browser = await staff.login("intake")
    response, html = await browser.get("/deliveries")
    assert response.status == 200
    return _text(html)
