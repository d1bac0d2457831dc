"""Intake's staff pages through real HTTP: who may open what, the new-case form with its
Danish field errors, the case list's filters, sorting and paging, and the case page with its
forms (facts, owner, close, reopen). Every view and change is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, Case, OutboxMessage
from service.text.case_words import MESSAGE_KIND
from tests.conftest import Staff, today_local
from tests.meetings.email_cases import body, intake

ROLES = ("intake", "consultant", "manager", "admin")


def _form(case_id: str = "k-100", **changes: str) -> dict[str, str]:
    values = {"case_id": case_id,
              "first_absence_day": (today_local() - timedelta(days=12)).isoformat(),
              "employment": "employed", "visitation_category": "2",
              "employer_cvr": "29189919", "employer_name": "Ågård Æbler ApS",
              "employer_address": "Østergade 1, 7400 Herning",
              "employer_contact_name": "Søren Ærø",
              "employer_contact_email": "soren@aagaard.example",
              "cpr": "010190-1234", "citizen_name": "Åse Øberg", "diagnosis_group": "physical"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


PAGES = {  # path: the roles that may open it (admins may open every page)
    "/cases": {"intake", "consultant", "manager", "admin"},
    "/new-case": {"intake", "admin"},
    "/admin/users": {"admin"},
    "/import": {"intake", "admin"},
    "/import/eksempel.csv": {"intake", "admin"},
}


async def test_each_page_for_each_role(staff: Staff) -> None:
    anonymous = await staff.browser()
    for path in PAGES:
        response = await anonymous.session.get(anonymous.url(path), allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    for role in ROLES:
        browser = await staff.login(role)
        for path, allowed in PAGES.items():
            response, page = await browser.get(path)
            if role in allowed:
                assert response.status == 200, (role, path)
            else:
                assert response.status == 403, (role, path)
                assert "Du har ikke adgang til denne side" in page
                assert "Log ud" in page  # the 403 page still has the menu
            if response.content_type == "text/html":
                assert response.headers["Content-Security-Policy"].startswith(
                    "default-src 'none'"), (role, path)
            assert response.headers["Cache-Control"] == "no-store", (role, path)


async def test_navigation_follows_the_role(staff: Staff) -> None:
    _, intake_page = await (await staff.login("intake")).get("/cases")
    nav = re.search(r'<nav aria-label="Hovedmenu">(.*?)</nav>', intake_page, re.S).group(1)
    assert ">Sager<" in nav and ">Ny sag<" in nav and ">Import<" in nav
    assert ">Brugere<" not in nav
    _, manager_page = await (await staff.login("manager")).get("/cases")
    nav = re.search(r'<nav aria-label="Hovedmenu">(.*?)</nav>', manager_page, re.S).group(1)
    assert ">Sager<" in nav and ">Ny sag<" not in nav and ">Import<" not in nav
    _, admin_page = await (await staff.login("admin")).get("/cases")
    nav = re.search(r'<nav aria-label="Hovedmenu">(.*?)</nav>', admin_page, re.S).group(1)
    assert all(f">{label}<" in nav for label in ("Sager", "Ny sag", "Import", "Brugere"))


async def test_new_case_form_shows_danish_errors_and_keeps_what_was_typed(staff: Staff) -> None:
    browser = await staff.login("intake")
    response, page = await browser.post("/new-case", _form(
        employer_cvr="1234", citizen_name="Åse Øberg", first_absence_day="2026-13-40",
        employer_contact_email="ikke-en-mail", expected_absence_weeks="ti"))
    assert response.status == 422
    text = _text(page)
    assert "CVR-nummeret skal være 8 cifre." in text
    assert "Skriv en gyldig dato som ÅÅÅÅ-MM-DD" in text
    assert "Skriv antal uger som et tal" in text
    assert 'id="f-employer_cvr" name="employer_cvr" type="text" value="1234"' in page
    assert 'aria-invalid="true" aria-describedby="e-f-employer_cvr' in page
    assert 'value="Åse Øberg"' in page  # what was typed stays
    async with staff.api.client.app[DB].read() as session:
        assert (await session.execute(select(Case.id))).first() is None

    # Only the pre-parse errors fixed: now the API's own validation speaks (in Danish).
    response, page = await browser.post("/new-case", _form(
        employer_cvr="1234", expected_absence_weeks="10"))
    assert response.status == 422 and "CVR-nummeret skal være 8 cifre." in _text(page)
    response, page = await browser.post("/new-case", _form(employer_cvr=""))
    assert response.status == 422
    assert "CVR-nummer skal udfyldes (8 cifre), når borgeren er sygemeldt" in _text(page)
    future = (today_local() + timedelta(days=3)).isoformat()
    response, page = await browser.post("/new-case", _form(first_absence_day=future))
    assert response.status == 422 and "kan ikke ligge efter i dag" in _text(page)
    response, page = await browser.post("/new-case", _form(case_id="må ikke"))
    assert response.status == 422 and "Sagsnummeret må kun indeholde" in _text(page)


async def test_new_case_shows_the_decision_and_then_the_assignment(staff: Staff) -> None:
    browser = await staff.login("intake")
    response, page = await browser.post("/new-case", _form())
    assert response.status == 200 and response.url.path == "/cases/k-100"
    text = _text(page)
    assert "Sagen er oprettet og vurderet" in text
    assert "I målgruppen" in text and "Møde på arbejdspladsen" in text
    assert "visitationskategori 2 eller 3" in text  # the reasons in Danish sentences
    assert "CPR 010190-XXXX" in text and "1234" not in re.sub(r"29189919|1234\d", "", text)
    await staff.api.client.app[JOBS].wait_idle()
    _, page = await browser.get("/cases/k-100")
    text = _text(page)
    assert "Planlægges" not in text
    assert "Hvorfor denne konsulent" in text
    assert "Foreslået" in text  # the proposed meeting in the meetings table
    assert "Ågård Æbler ApS" in text
    # The same case id again is refused by the form (the API would update it).
    response, page = await browser.post("/new-case", _form())
    assert response.status == 422 and "findes allerede en sag" in _text(page)


async def test_changing_facts_re_evaluates_at_once(staff: Staff) -> None:
    browser = await staff.login("intake")
    await browser.post("/new-case", _form())
    response, page = await browser.post("/cases/k-100/facts", _form(
        visitation_category="1", expected_absence_weeks="4", cpr=""))
    assert response.status == 200 and "Fakta er gemt, og sagen er vurderet igen." in page
    text = _text(page)
    assert "Ikke i målgruppen" in text
    assert "I målgruppen / Møde på arbejdspladsen → Ikke i målgruppen" in text
    assert "CPR 010190-XXXX" in text  # a blank CPR field keeps the number
    response, page = await browser.post("/cases/k-100/facts", _form(employer_cvr="12"))
    assert response.status == 422 and "CVR-nummeret skal være 8 cifre." in _text(page)
    assert "<details open>" in page  # the form with the error is open


async def test_owner_and_closing_forms(staff_on_both: Staff) -> None:
    staff = staff_on_both
    intake_browser = await staff.login("intake")
    await intake_browser.post("/new-case", _form())
    await staff.api.client.app[JOBS].wait_idle()
    response, page = await intake_browser.post("/cases/k-100/owner", {"consultant_id": "",
                                                                      "reason": ""})
    assert response.status == 422
    assert "Vælg, hvorfor" in _text(page) and "Vælg en konsulent." in _text(page)
    response, page = await intake_browser.post("/cases/k-100/owner", {
        "consultant_id": "anna", "category": "regular_employer",
        "reason": "fast konsulent for Ågård"})
    assert response.status == 200 and "Ejeren er ændret" in page
    # The fixed reason and the note (the note only here, in fasthold; never in Slack).
    assert "valgt manuelt af test-intake: fast arbejdsgiver – fast konsulent for Ågård" in \
        _text(page)

    # The owning consultant (the test consultant is "anna") sees and may close it.
    mine = await staff.login("consultant")
    response, page = await mine.get("/cases/k-100")
    assert response.status == 200
    tomorrow = (today_local() + timedelta(days=1)).isoformat()
    response, page = await mine.post("/cases/k-100/close", {"outcome": "recovered",
                                                            "on": tomorrow})
    assert response.status == 422 and "kan ikke ligge i fremtiden" in _text(page)
    response, page = await mine.post("/cases/k-100/close", {
        "outcome": "recovered", "on": today_local().isoformat(), "note": "Raskmeldt fuldt"})
    assert response.status == 200 and "Sagen er lukket" in page
    assert "Raskmeldt – Raskmeldt fuldt" in _text(page)
    response, page = await mine.post("/cases/k-100/reopen")
    assert response.status == 200 and "Sagen er genåbnet" in page

    async with staff.api.client.app[DB].read() as session:
        case_id = (await session.execute(select(Case.id))).scalar_one()
        actions = [(a, r) for a, r in (await session.execute(
            select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.case_id == case_id)
            .order_by(AuditEntry.id))).all()]
    assert ("case.create", "intake:test-intake") in actions
    assert ("case.owner_override", "intake:test-intake") in actions
    assert ("case.read", "consultant:test-consultant") in actions
    assert ("case.close", "consultant:test-consultant") in actions
    assert ("case.reopen", "consultant:test-consultant") in actions


async def test_a_consultant_sees_only_their_own_cases(staff: Staff) -> None:
    await intake(staff.api, body("mine"), body("theirs"))
    for case_id, owner in (("mine", "anna"), ("theirs", "bo")):
        response = await staff.api.client.put(f"/api/cases/{case_id}/owner", json={
            "consultant_id": owner, "reason": "test"}, headers=staff.api.auth("intake"))
        assert response.status == 200, await response.text()
    browser = await staff.login("consultant")
    response, page = await browser.get("/cases")
    assert response.status == 200 and "/cases/mine" in page and "/cases/theirs" not in page
    response, page = await browser.get("/cases/theirs")
    assert response.status == 404 and "Sagen findes ikke" in page
    response, _ = await browser.get("/cases/findes-ikke")
    assert response.status == 404
    for path, data in (("/cases/theirs/facts", _form("theirs")),
                       ("/cases/theirs/close", {"outcome": "other",
                                                "on": today_local().isoformat()})):
        response, _ = await browser.post(path, data)
        assert response.status == 404, path
    response, _ = await browser.post("/cases/mine/owner", {"consultant_id": "anna",
                                                          "reason": "x"})
    assert response.status == 403
    async with staff.api.client.app[DB].read() as session:
        refused = (await session.execute(select(AuditEntry.action).where(
            AuditEntry.actor == "consultant:test-consultant",
            AuditEntry.action == "case.read_refused"))).scalars().all()
    assert refused


async def test_forms_without_the_csrf_token_are_refused(staff: Staff) -> None:
    browser = await staff.login("intake")
    for path, data in (("/new-case", _form()), ("/cases/k-100/owner", {}),
                       ("/cases/k-100/close", {}), ("/cases/k-100/reopen", {})):
        response, page = await browser.post(path, data, csrf=False)
        assert response.status == 403, path
        response, page = await browser.post(path, {**data, "csrf_token": "x" * 43})
        assert response.status == 403 and "Handlingen blev afvist" in page, path
    async with staff.api.client.app[DB].read() as session:
        assert (await session.execute(select(Case.id))).first() is None


async def test_case_list_filters_sorts_and_pages(staff: Staff) -> None:
    soon = today_local() - timedelta(days=52)  # deadline (day 55) within the week: at risk
    await intake(staff.api, *[body(f"k{n:03d}") for n in range(55)],
                 body("risky", first_absence_day=soon.isoformat()),
                 body("ledig", employment="unemployed"))
    browser = await staff.login("manager")
    response, page = await browser.get("/cases")
    assert response.status == 200 and "(57)" in page
    assert "Side 1 af 2" in page and "Næste" in page
    _, page2 = await browser.get("/cases?side=2")
    assert "Side 2 af 2" in page2
    first = set(re.findall(r'href="/cases/([^"?/]+)"', page))
    second = set(re.findall(r'href="/cases/([^"?/]+)"', page2))
    assert len(first) == 50 and len(second) == 7 and not first & second
    # Sorted by deadline first: the case at risk leads, and is marked.
    assert re.findall(r'href="/cases/([^"?/]+)"', page)[0] == "risky"
    assert "frist i fare" in page
    _, risky = await browser.get("/cases?risiko=ja")
    assert re.findall(r'href="/cases/([^"?/]+)"', risky) == ["risky"]
    _, not_target = await browser.get("/cases?status=not_target")
    assert re.findall(r'href="/cases/([^"?/]+)"', not_target) == ["ledig"]
    _, by_name = await browser.get("/cases?sort=-sag")
    assert re.findall(r'href="/cases/([^"?/]+)"', by_name)[:2] == ["risky", "ledig"]
    _, nobody = await browser.get("/cases?owner=none&status=target")
    assert "(0)" in nobody or "(" in nobody
    # Nonsense in the query is ignored, never a 5xx.
    response, _ = await browser.get("/cases?side=abc&sort=x&status=y&owner=%00")
    assert response.status == 200
    async with staff.api.client.app[DB].read() as session:
        lists = (await session.execute(select(AuditEntry.details).where(
            AuditEntry.action == "case.list", AuditEntry.actor == "manager:test-manager"))
        ).scalars().all()
    assert len(lists) >= 6


async def test_the_case_page_lists_messages_without_private_data(staff: Staff) -> None:
    await intake(staff.api, body("k-mail"))
    async with staff.api.client.app[DB].read() as session:
        sent = (await session.execute(select(OutboxMessage.kind))).scalars().all()
    browser = await staff.login("intake")
    response, page = await browser.get("/cases/k-mail")
    assert response.status == 200
    text = _text(page)
    assert "Beskeder sendt om sagen" in text
    assert sent
    for kind in sent:
        assert MESSAGE_KIND.get(kind, kind) in text
    assert "010190-1234" not in page and "0101901234" not in page


async def test_plain_errors_outside_the_api_are_danish_pages(staff: Staff) -> None:
    browser = await staff.login("intake")
    response, page = await browser.get("/findes/ikke")
    assert response.status == 404 and "Siden findes ikke" in page and "Log ud" in page
    response, page = await browser.get("/logout")  # POST only
    assert response.status == 405 and "POST" in response.headers["Allow"]
    assert "Siden kan ikke bruges sådan" in page
    response, page = await browser.post("/new-case", {"case_id": "x" * 300_000})
    assert response.status == 413 and "Formularen er for stor" in page
    api = staff.api
    answer = await api.client.get("/api/findes-ikke", headers=api.auth("intake"))
    assert answer.status == 404 and answer.content_type == "application/json"
