"""Danish slips on the staff pages: the audit log's dates are dates (not months), the week's
format agrees with its example, the CSV import counts one row in the singular, a role is
named as the list names it, a consultant user is linked to a consultant (who may have been
added in the app), an empty absence date is missing, a date and time is written as read."""

from __future__ import annotations

import re
from html import unescape

import aiohttp

from service.text.errors import danish_error
from tests.support import Staff, StaffBrowser, today_local


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def test_the_audit_logs_to_day_before_its_from_day(staff: Staff) -> None:
    admin = await staff.login("admin")
    response, page = await admin.get("/admin/audit?from=2026-12-10&to=2026-12-01")
    assert response.status == 422
    assert "Til-datoen må ikke ligge før fra-datoen." in _text(page)
    assert "måneden" not in page


async def test_the_weeks_format_agrees_with_its_example(staff: Staff) -> None:
    consultant = await staff.login("consultant")
    response, page = await consultant.get("/week?uge=abc")
    assert response.status == 400
    assert "Skriv en uge som ÅÅÅÅ-Wuu, fx 2026-W48." in _text(page)


async def _preview(browser: StaffBrowser, content: str) -> str:
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.csrf)
    form.add_field("file", content.encode("utf-8"), filename="sager.csv",
                   content_type="text/csv")
    response = await browser.session.post(browser.url("/import/preview"), data=form)
    assert response.status == 200
    return await response.text()


async def test_one_imported_row_is_said_in_the_singular(staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.get("/import")
    day = today_local().isoformat()
    page = await _preview(browser, f"case_id;first_absence_day;employment\nent-1;{day};ledig\n")
    text = _text(page)
    assert "1 række: 1 ny, 0 findes allerede, 0 afvises" in text, text
    assert "Importér 1 gyldig række" in text
    fields = dict(re.findall(r'<input type="hidden" name="(csrf_token|data|digest)" '
                             r'value="([^"]*)"', page))
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, unescape(value))
    response = await browser.session.post(browser.url("/import"), data=form)
    text = _text(await response.text())
    assert "Den ene række" in text and "Alle 1 rækker" not in text, text
    # Two rows stay plural.
    page = await _preview(browser, f"case_id;first_absence_day;employment\nto-1;{day};ledig\n"
                                   f"to-2;{day};ledig\n")
    assert "2 rækker: 2 nye" in _text(page) and "Importér 2 gyldige rækker" in _text(page)


async def test_users_roles_and_consultants_in_the_pages_words(staff: Staff) -> None:
    admin = await staff.login("admin")
    response, page = await admin.post("/admin/users", {
        "username": "mette", "role": "chef", "password": "en-lang-nok-kode"})
    assert response.status == 422
    text = _text(page)
    assert "Vælg en rolle: Visitation (intake), Fastholdelseskonsulent (consultant), Leder " \
        "(manager) eller Administrator (admin)." in text
    response, page = await admin.post("/admin/users", {
        "username": "mette", "role": "consultant", "consultant_id": "",
        "password": "en-lang-nok-kode"})
    assert response.status == 422
    text = _text(page)
    assert "En bruger med rollen konsulent skal knyttes til en konsulent." in text
    assert "konfigurationen" not in text


async def test_an_empty_absence_date_is_missing(staff: Staff) -> None:
    manager = await staff.login("manager")
    response, page = await manager.post("/admin/consultants/bo/absences", {
        "from": "", "to": "", "reason": "ferie", "note": ""})
    assert response.status == 422
    errors = re.findall(r'<p class="error" id="[^"]*">([^<]*)</p>', page)
    assert errors == ["Fra-datoen skal udfyldes.", "Til-datoen skal udfyldes."], errors


def test_a_date_and_time_is_written_as_it_is_read() -> None:
    for code in ("datetime_parsing", "datetime_from_date_parsing", "local_time_only"):
        text = danish_error("held_at", code)
        assert "ÅÅÅÅ-MM-DD TT:MM" in text and "TTT" not in text, text
