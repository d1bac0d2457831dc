"""CSV import through the page: preview, import and the report per row, with good, bad,
duplicate, Danish-letter and BOM rows; the same file twice changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import aiohttp
from sqlalchemy import func, select

from service.keys import DB, JOBS
from service.platform.db.models import Case, DecisionRecord, Employer
from tests.support import Staff, StaffBrowser, today_local

DAY = (today_local() - timedelta(days=20)).isoformat()
DANISH_DAY = (today_local() - timedelta(days=20)).strftime("%d-%m-%Y")

GOOD_FILE = (
    "\ufeffcase_id;first_absence_day;employment;visitation_category;employer_cvr;"
    "employer_name;employer_contact_email;citizen_name;cpr;serious_illness\n"
    f"imp-1;{DAY};employed;2;29189919;Ærø Ålebæk ApS;søs@aeroe.example;Øjvind Åberg;"
    "010190-1234;nej\n"
    f"imp-2;{DAY};ledig;;;;;Åse Ø;;\n"
    f"imp-3;{DAY};employed;2;1234;Forkert CVR ApS;;;;\n"                  # bad CVR
    f"imp-4;2026-02-30;employed;2;29189919;;;;;\n"                       # no such date
    f"imp-1;{DAY};employed;3;29189919;;;;;\n"                            # duplicate
    f"imp 5;{DAY};employed;2;29189919;;;;;måske\n"                       # bad id, bad yes/no
    "\n"
    f"imp-6;{DAY};employed;;29189919;Ærø Ålebæk ApS;;;;ja\n"
)


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def _upload(browser: StaffBrowser, content: bytes, *, csrf: str | None = None
                  ) -> tuple[aiohttp.ClientResponse, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.csrf if csrf is None else csrf)
    form.add_field("file", content, filename="sager.csv", content_type="text/csv")
    response = await browser.session.post(browser.url("/import/preview"), data=form)
    return response, await response.text()


async def _import(browser: StaffBrowser, preview_page: str, **override: str
                  ) -> tuple[aiohttp.ClientResponse, str]:
    form = aiohttp.FormData(default_to_multipart=True)  # as the page's form says
    fields = dict(re.findall(r'<input type="hidden" name="(csrf_token|data|digest)" '
                             r'value="([^"]*)"', preview_page))
    fields.update(override)
    for name, value in fields.items():
        form.add_field(name, value)
    response = await browser.session.post(browser.url("/import"), data=form)
    return response, await response.text()


async def _count(staff: Staff, what: object) -> int:
    async with staff.api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(what)))).scalar_one()  # type: ignore[arg-type]


async def test_preview_then_import_with_a_report_per_row(staff_on_both: Staff) -> None:
    """On SQLite and on PostgreSQL (the batch's one flush differs between them)."""
    staff = staff_on_both
    browser = await staff.login("intake")
    await browser.get("/import")
    response, page = await _upload(browser, GOOD_FILE.encode("utf-8"))
    assert response.status == 200, _text(page)
    text = _text(page)
    assert "Skilletegn: semikolon" in text
    assert "7 rækker: 3 nye, 0 findes allerede, 4 afvises" in text
    assert "kolonne employer_cvr: CVR-nummeret skal være 8 cifre." in text
    assert "kolonne first_absence_day: Skriv en gyldig dato" in text
    assert "kolonne case_id: sagen står også i linje 2" in text
    assert "kolonne case_id: Sagsnummeret må kun indeholde" in text
    assert "kolonne serious_illness: Skriv ja eller nej." in text
    assert await _count(staff, Case.id) == 0  # a preview stores nothing

    response, report = await _import(browser, page)
    assert response.status == 200
    text = _text(report)
    assert "3 oprettet · 0 opdateret · 0 uændret · 4 afvist" in text
    async with staff.api.client.app[DB].read() as session:
        cases = {c.case_ref: c for c in (await session.execute(select(Case))).unique().scalars()}
        employer = (await session.execute(select(Employer))).scalar_one()
    assert set(cases) == {"imp-1", "imp-2", "imp-6"}
    assert cases["imp-1"].citizen_name == "Øjvind Åberg"  # Danish letters survive
    assert employer.name == "Ærø Ålebæk ApS" and employer.contact_email == "søs@aeroe.example"
    assert cases["imp-2"].status == "not_target"  # "ledig" read as unemployed
    assert cases["imp-6"].facts["serious_illness"] is True
    assert cases["imp-1"].cpr_encrypted and "1234" not in cases["imp-1"].cpr_encrypted

    # The same file again changes nothing.
    decisions = await _count(staff, DecisionRecord.id)
    _, page = await _upload(browser, GOOD_FILE.encode("utf-8"))
    assert "0 nye, 3 findes allerede, 4 afvises" in _text(page)
    response, report = await _import(browser, page)
    assert "0 oprettet · 0 opdateret · 3 uændret · 4 afvist" in _text(report)
    assert await _count(staff, DecisionRecord.id) == decisions
    assert await _count(staff, Case.id) == 3

    # A changed row is an update, and says what changed.
    changed = GOOD_FILE.replace(f"imp-2;{DAY};ledig;;;;;Åse Ø;;",
                                f"imp-2;{DAY};ledig;;;;;Åse Øster;;")
    _, page = await _upload(browser, changed.encode("utf-8"))
    response, report = await _import(browser, page)
    assert "0 oprettet · 1 opdateret · 2 uændret · 4 afvist" in _text(report)
    assert "borgerens oplysninger" in _text(report)  # what changed, in words
    await staff.api.client.app[JOBS].wait_idle()


async def test_a_file_of_a_few_columns_changes_only_those(staff: Staff) -> None:
    """A case that exists keeps what the file leaves out (a second file of a few columns
    once erased its CPR number, citizen and health facts, and changed its decision); a
    blank cell in a column the file has clears that field."""
    browser = await staff.login("intake")
    await browser.get("/import")

    async def run(content: str) -> str:
        _, page = await _upload(browser, content.encode("utf-8"))
        _, report = await _import(browser, page)
        await staff.api.client.app[JOBS].wait_idle()
        return _text(report)

    async def case() -> Case:
        async with staff.api.client.app[DB].read() as session:
            return (await session.execute(select(Case).where(Case.case_ref == "part-1"))
                    ).unique().scalar_one()

    full = ("case_id;first_absence_day;employment;employer_cvr;employer_name;cpr;"
            "citizen_name;citizen_email;serious_illness;diagnosis_group;"
            "expected_absence_weeks\n"
            f"part-1;{DAY};employed;29189919;Ærø Øko ApS;030377-1234;Karen Kvist;"
            "karen@example.dk;ja;cancer_heart_lung;20\n")
    assert "1 oprettet" in await run(full)
    before = await case()
    assert before.status == "excluded" and before.cpr_encrypted

    text = await run(f"case_id;first_absence_day;employment;employer_cvr\n"
                     f"part-1;{DAY};employed;29189919\n")
    assert "0 oprettet · 0 opdateret · 1 uændret · 0 afvist" in text, text
    after = await case()
    assert (after.citizen_name, after.citizen_email, after.status) == (
        "Karen Kvist", "karen@example.dk", "excluded")
    assert after.cpr_encrypted == before.cpr_encrypted
    assert after.facts["serious_illness"] is True
    assert after.facts["diagnosis_group"] == "cancer_heart_lung"
    assert after.facts["expected_absence_weeks"] == 20

    text = await run("case_id;first_absence_day;employment;employer_cvr;"
                     "expected_absence_weeks;citizen_email\n"
                     f"part-1;{DAY};employed;29189919;;karen@kvist.dk\n")
    assert "0 oprettet · 1 opdateret · 0 uændret · 0 afvist" in text, text
    assert "forventet fravær (uger)" in text and "borgerens oplysninger" in text, text
    after = await case()
    assert after.facts.get("expected_absence_weeks") is None  # its blank cell cleared it
    assert (after.citizen_name, after.citizen_email) == ("Karen Kvist", "karen@kvist.dk")
    assert after.cpr_encrypted == before.cpr_encrypted
    assert after.status == "incomplete"  # without the expected absence: decided again


async def test_commas_no_bom_and_danish_dates_and_words(staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.get("/import")
    # As a spreadsheet writes it on Windows: CRLF line ends, a quoted field with a comma.
    content = ("Case_ID,First_Absence_Day,Employment,Diagnosis_Group,Employer_CVR,Ukendt\r\n"
               f"c-1,{DANISH_DAY},beskæftiget,psykisk,29189919,x\r\n"
               f'c-2,{DAY},selvstændig,"kræft, hjerte, lunge",,y\r\n')
    response, page = await _upload(browser, content.encode("utf-8"))
    text = _text(page)
    assert response.status == 200 and "Skilletegn: komma" in text
    assert "Disse kolonner kendes ikke og bliver ikke læst: Ukendt." in text
    assert "2 nye, 0 findes allerede, 0 afvises" in text
    _, report = await _import(browser, page)
    assert "2 oprettet" in _text(report)
    async with staff.api.client.app[DB].read() as session:
        cases = {c.case_ref: c for c in (await session.execute(select(Case))).unique().scalars()}
    assert cases["c-1"].facts["first_absence_day"] == DAY
    assert cases["c-1"].facts["diagnosis_group"] == "mental"
    assert cases["c-2"].facts["diagnosis_group"] == "cancer_heart_lung"


async def test_files_that_cannot_be_read_say_why(staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.get("/import")
    latin1 = f"case_id;first_absence_day;employment\nx;{DAY};ledig\nÆ;{DAY};ledig\n"
    response, page = await _upload(browser, latin1.encode("latin-1"))
    assert response.status == 422 and "ikke gemt som UTF-8" in _text(page)
    response, page = await _upload(browser, b"navn;dato\nx;y\n")
    assert response.status == 422
    assert "Filen mangler kolonnerne case_id, first_absence_day, employment" in _text(page)
    response, page = await _upload(browser, b"")
    assert response.status == 422 and "Vælg en CSV-fil" in _text(page)
    response, page = await _upload(browser, b"case_id;first_absence_day;employment\n")
    assert response.status == 422 and "ingen sager under overskriften" in _text(page)
    response, page = await _upload(browser, f"case_id;first_absence_day;employment\n"
                                   f"x;{DAY};ledig;for;mange\n".encode())
    assert "linjen har 5 felter, men overskriften har 3" in _text(page)


async def test_upload_and_import_need_the_csrf_token_and_the_previewed_file(
        staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.get("/import")
    response, _ = await _upload(browser, GOOD_FILE.encode("utf-8"), csrf="forkert")
    assert response.status == 403
    _, page = await _upload(browser, GOOD_FILE.encode("utf-8"))
    response, _ = await _import(browser, page, csrf_token="forkert")
    assert response.status == 403
    response, text = await _import(browser, page, digest="0" * 64)
    assert response.status == 422 and "Vælg filen igen" in _text(text)
    assert await _count(staff, Case.id) == 0
    manager = await staff.login("manager")
    response, _ = await _upload(manager, GOOD_FILE.encode("utf-8"))
    assert response.status == 403


async def test_the_example_file_imports(staff: Staff) -> None:
    browser = await staff.login("intake")
    response, example = await browser.get("/import/eksempel.csv")
    assert response.status == 200 and example.startswith("\ufeffcase_id;")
    example = example.replace("2026-11-02", DAY)
    _, page = await _upload(browser, example.encode("utf-8"))
    assert "1 ny, 0 findes allerede, 0 afvises" in _text(page)
