"""A case number differing from a stored one only in upper and lower case is refused, naming
the stored one: `RV-20` beside `rv-20` made a second case of one sick leave (two owners, two
meetings with one employer). The same number again is the update it always was."""

from __future__ import annotations

from service.keys import DB, INTAKE
from tests.intake.test_api_cases import case_body
from tests.intake.test_csv_import import _import, _text, _upload
from tests.support import Api, Staff


async def test_the_api_refuses_another_spelling_of_a_stored_case_number(
        sqlite_api: Api) -> None:
    api = sqlite_api
    resp = await api.client.post("/api/cases", json=case_body("rv-20"),
                                 headers=api.auth("intake"))
    assert resp.status == 201, await resp.text()
    resp = await api.client.post("/api/cases", json=case_body("RV-20"),
                                 headers=api.auth("intake"))
    assert resp.status == 422, await resp.text()
    (error,) = (await resp.json())["errors"]
    assert (error["field"], error["code"]) == ("case_id", "case_id_other_spelling")
    assert "rv-20" in error["message"]
    resp = await api.client.post("/api/cases", json=case_body("rv-20"),
                                 headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()  # the same number: an update
    # The same spelling stored meanwhile (a request racing with the same number, on
    # PostgreSQL) is no other spelling: the check leaves it to the insert's conflict, which
    # makes the request an update (it was a 422 once in a burst of 200).
    async with api.client.app[DB].read() as session:
        await api.client.app[INTAKE]._not_another_spelling(session, ["rv-20"])


async def test_a_file_with_two_spellings_stores_one(staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.get("/import")
    day = "2026-11-16"
    content = ("case_id;first_absence_day;employment;employer_cvr\n"
               f"sp-1;{day};employed;29189919\nSP-1;{day};employed;29189919\n")
    _, page = await _upload(browser, content.encode("utf-8"))
    _, report = await _import(browser, page)
    text = _text(report)
    assert "1 oprettet · 0 opdateret · 0 uændret · 1 afvist" in text, text
    assert "Sagsnummeret findes allerede som" in text and "sp-1" in text
