"""Intake's staff pages through real HTTP: who may open what, the new-case form with its
Danish field errors, the case list's filters, sorting and paging, and the case page with its
forms (facts, owner, close, reopen). Every view and change is audited."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from html import unescape
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, Case, Consultant, Meeting, OutboxMessage
from service.text.case_words import MESSAGE_KIND
from tests.meetings.email_cases import body, intake
from tests.support import (
    Staff,
    make_secrets,
    quick_planning,
    start_api,
    start_staff,
    today_local,
)

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
    # The same form sent again (a double click, back and send) lands on the case it made.
    response, page = await browser.post("/new-case", _form())
    assert response.status == 200 and response.url.path == "/cases/k-100"
    assert "Formularen blev sendt to gange" in page
    # Another case under the same case id is refused, with a link to the existing case.
    response, page = await browser.post("/new-case", _form(citizen_name="Bent Berg"))
    assert response.status == 422 and "findes allerede en sag" in _text(page)
    assert '<a href="/cases/k-100">åbn sag k-100</a>' in page
    # ... and so is the same form from another user (not a double submit of theirs).
    other = await staff.login("admin")
    response, page = await other.post("/new-case", _form())
    assert response.status == 422 and '<a href="/cases/k-100">' in page
    async with staff.api.client.app[DB].read() as session:
        case = (await session.execute(select(Case))).unique().scalar_one()
        assert case.citizen_name == "Åse Øberg"  # nothing was changed by the second forms
    # A double click: both requests at once land on the one case they made.
    both = await asyncio.gather(browser.post("/new-case", _form("k-101")),
                                browser.post("/new-case", _form("k-101")))
    assert [(r.status, r.url.path) for r, _ in both] == [(200, "/cases/k-101")] * 2
    async with staff.api.client.app[DB].read() as session:
        assert len((await session.execute(select(Case.id))).all()) == 2


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
    # The owner choice (service.consultants.choices, as Slack's): the eligible others with
    # their load; anna owns it now, eva holds no workplace meetings yet.
    choice = page[page.index('name="consultant_id"'):]
    choice = choice[:choice.index("</select>")]
    assert 'value="anna"' not in choice and 'value="eva"' not in choice
    assert re.search(r'value="bo"[^>]*>Bo [^<]*\(\d+/\d+ sager', choice), choice
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
    assert response.status == 422 and "må ikke ligge i fremtiden" in _text(page)
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


@pytest.fixture
async def staff_planning_quickly(demo_config: MunicipalityConfig, sqlite_url: str
                                 ) -> AsyncIterator[Staff]:
    """`staff` with a 1 s solver limit: the list's test registers 57 cases."""
    async for api in start_api(quick_planning(demo_config), make_secrets(sqlite_url)):
        async for running in start_staff(api):
            yield running


async def test_case_list_filters_sorts_and_pages(staff_planning_quickly: Staff) -> None:
    staff = staff_planning_quickly
    soon = today_local() - timedelta(days=52)  # deadline (day 55) within the week: at risk
    await intake(staff.api, *[body(f"k{n:03d}") for n in range(55)],
                 body("risky", first_absence_day=soon.isoformat()),
                 body("ledig", employment="unemployed"))
    browser = await staff.login("manager")
    response, page = await browser.get("/cases")
    assert response.status == 200 and "(57 åbne sager)" in page
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
    # The sorted column says so to a screen reader (aria-sort), and only it.
    assert re.findall(r'<th scope="col" aria-sort="([a-z]+)"><a [^>]*>([^<]+)<', by_name) == [
        ("descending", "Sag")]
    _, by_deadline = await browser.get("/cases?sort=frist")
    assert re.findall(r'aria-sort="([a-z]+)"><a [^>]*>([^<]+)<', by_deadline) == [
        ("ascending", "Frist for 1. samtale")]
    assert '<div class="table-wrap card" tabindex="0" role="region" aria-label="Sager">' \
        in by_deadline
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


async def test_closing_says_who_cancelled_and_speaks_danish(staff: Staff) -> None:
    """Closing a case with a confirmed meeting: the citizen is told the meeting is cancelled
    because the case has ended (no new time promised); the case page says the jobcentre
    cancelled, and its audit trail and assessments name people, not 'role:name'."""
    api = staff.api
    await intake(api, body("k-luk"))
    meeting = (await (await api.client.get("/api/cases/k-luk", headers=api.auth("intake")))
               .json())["meeting"]
    resp = await api.client.post("/api/cases/k-luk/meeting/confirm",
                                 json={"start": meeting["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    browser = await staff.login("intake")
    response, page = await browser.post("/cases/k-luk/close", {
        "outcome": "other_municipality", "on": today_local().isoformat()})
    assert response.status == 200 and "Sagen er lukket" in page
    text = _text(page)
    assert "Flyttet til anden kommune" in text
    async with api.client.app[DB].read() as session:
        letters = (await session.execute(select(OutboxMessage.subject, OutboxMessage.body_text)
                                         .where(OutboxMessage.kind == "citizen_cancelled"))
                   ).all()
    assert len(letters) == 1
    subject, letter = letters[0]
    assert subject.endswith("er aflyst")
    assert "er aflyst, fordi din sag hos jobcentret er afsluttet" in letter
    assert "nyt tidspunkt" not in letter and "holdes ikke som planlagt" not in letter
    # Who cancelled: the jobcentre, because the case was closed — never "the employer".
    assert "Aflysning til arbejdsgiveren (aflyst af jobcentret, fordi sagen er lukket)" in text
    assert "Aflysning til borgeren (aflyst af jobcentret, fordi sagen er lukket)" in text
    assert "Aflyst af jobcentret, fordi sagen er lukket." in text  # the meetings table
    assert "aflyst af arbejdsgiveren" not in text.lower()
    # People in words: no "intake:test-intake" in the audit trail or the assessments.
    assert "test-intake (visitationen)" in text
    assert not re.search(r"\b(intake|system|consultant|manager|admin):", text), text


async def test_a_replanned_meeting_is_moved_by_the_jobcentre(staff: Staff) -> None:
    """A proposal the employer was sent, withdrawn because staff chose another owner: the case
    page says the jobcentre moved it and why, not that the employer cancelled."""
    api = staff.api
    await intake(api, body("k-flyt"))
    before = (await (await api.client.get("/api/cases/k-flyt", headers=api.auth("intake")))
              .json())["meeting"]
    other = "bo" if before["consultant_id"] != "bo" else "dennis"
    resp = await api.client.put("/api/cases/k-flyt/owner", json={
        "consultant_id": other, "reason": "kender virksomheden"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    _, page = await (await staff.login("intake")).get("/cases/k-flyt")
    text = _text(page)
    assert "Flyttet af jobcentret, fordi sagen har fået en ny konsulent." in text
    assert ("Aflysning til arbejdsgiveren (flyttet af jobcentret, fordi sagen har fået en ny "
            "konsulent)") in text
    assert "aflyst af arbejdsgiveren" not in text.lower()


async def test_cases_whose_first_meeting_is_held_come_after_those_waiting(
        staff_on_both: Staff) -> None:
    """By deadline, the cases still waiting for their first meeting lead; a case that has
    held it follows them whatever its deadline (as in Mine sager), on both databases. A case
    missing facts comes first (intake's work), the excluded last (no meeting to plan)."""
    api = staff_on_both.api
    today = today_local()
    await intake(api, *(body(ref, first_absence_day=(today - timedelta(days=days)).isoformat())
                        for ref, days in (("held-early", 40), ("wait-1", 30), ("wait-2", 20))))
    await intake(api, body("excl-1", serious_illness=True,
                           first_absence_day=(today - timedelta(days=50)).isoformat()))
    missing = body("incomplete-1", first_absence_day=(today - timedelta(days=15)).isoformat())
    del missing["visitation_category"]
    await intake(api, missing)
    async with api.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "held-early"))
                ).scalar_one()
        consultant = (await session.execute(select(Consultant.id).order_by(Consultant.id)
                                            .limit(1))).scalar_one()
        start = datetime.combine(today - timedelta(days=2), time(9, 0))
        session.add(Meeting(municipality_id=case.municipality_id, case_id=case.id,
                            consultant_id=consultant, kind="workplace_meeting", start=start,
                            end=start + timedelta(hours=1), status="held",
                            place="workplace", employer_took_part=True))
    browser = await staff_on_both.login("intake")
    _, page = await browser.get("/cases")
    assert re.findall(r'href="/cases/([^"?/]+)"', page) == [
        "incomplete-1", "wait-1", "wait-2", "held-early", "excl-1"]
    assert "efter dem, der venter på den" in page and "uden for målgruppen sidst" in page
    _, page = await browser.get("/cases?sort=-frist")
    assert re.findall(r'href="/cases/([^"?/]+)"', page) == [
        "incomplete-1", "wait-2", "wait-1", "held-early", "excl-1"]


async def test_case_list_opens_on_open_cases_and_searches(staff_on_both: Staff) -> None:
    """The list opens on the open cases (deadline soonest first, a closed case never first);
    closed or all on request; search by case number, citizen's name, employer's name or CVR
    (parts of names, any case), and by CPR number (the whole number only, never the number
    in the log, the search in the trail of each case it found). Both databases: they fold
    letters' case differently."""
    staff = staff_on_both
    api = staff.api
    old = today_local() - timedelta(days=60)
    await intake(api,
                 body("aaa-lukket", first_absence_day=old.isoformat(),
                      citizen={"name": "Karen Østergård"}, cpr="030590-1111"),
                 body("k-200", citizen={"name": "Søren Ærø Jensen"}, cpr="120380-2222",
                      employer={"cvr": "29189919", "name": "Ågård Æbler ApS",
                                "contact_email": "lone@aagaard.example"}),
                 body("k-300", citizen={"name": "Mads Madsen"}, cpr="010190-1234"))
    resp = await api.client.post("/api/cases/aaa-lukket/close", json={
        "outcome": "recovered", "on": today_local().isoformat()}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    browser = await staff.login("intake")

    def refs(page: str) -> list[str]:
        return re.findall(r'href="/cases/([^"?/]+)"', page)

    _, page = await browser.get("/cases")
    assert refs(page) == ["k-200", "k-300"] and "(2 åbne sager)" in page
    _, page = await browser.get("/cases?vis=lukkede")
    assert refs(page) == ["aaa-lukket"] and "(1 lukkede sager)" in page
    _, page = await browser.get("/cases?vis=alle")
    assert refs(page) == ["k-200", "k-300", "aaa-lukket"]  # open first, then the closed one
    _, page = await browser.get("/cases?vis=alle&sort=-frist")
    assert refs(page)[-1] == "aaa-lukket"

    for query, expected in (("k-3", ["k-300"]), ("ærø", ["k-200"]), ("SØREN", ["k-200"]),
                            ("madsen", ["k-300"]), ("ågård æbler", ["k-200"]),
                            ("29189919", ["k-200"]), ("2918991", []), ("100%", []),
                            ("østergård", []), ("k_", [])):
        response, page = await browser.get("/cases?" + urlencode({"q": query}))
        assert response.status == 200 and refs(page) == expected, (query, refs(page))
    _, page = await browser.get("/cases?" + urlencode({"q": "østergård", "vis": "alle"}))
    assert refs(page) == ["aaa-lukket"]

    # CPR: the whole number, with or without the dash; a part finds nothing.
    for query in ("120380-2222", "1203802222", " 120380-2222 "):
        _, page = await browser.get("/cases?" + urlencode({"q": query}))
        assert refs(page) == ["k-200"], query
        assert "revisionssporet" in page
    _, page = await browser.get("/cases?q=120380")
    assert refs(page) == []
    # Input that cannot be searched for is named, never a 5xx.
    response, page = await browser.get("/cases?" + urlencode({"q": "x" * 101}))
    assert response.status == 400 and "Søg: højst 100 tegn" in page
    response, page = await browser.get("/cases?q=%00")
    assert response.status == 400
    # A consultant searches only their own cases.
    mine = await staff.login("consultant")
    _, page = await mine.get("/cases?q=k-")
    owners = {c["owner"]["consultant_id"] for c in [
        await (await api.client.get(f"/api/cases/{ref}", headers=api.auth("intake"))).json()
        for ref in refs(page)]}
    assert owners <= {"anna"}

    async with api.client.app[DB].read() as session:
        k200 = (await session.execute(select(Case.id).where(Case.case_ref == "k-200"))
                ).scalar_one()
        searches = (await session.execute(select(AuditEntry.case_id, AuditEntry.details).where(
            AuditEntry.action == "case.search"))).all()
        lists = (await session.execute(select(AuditEntry.details).where(
            AuditEntry.action == "case.list", AuditEntry.actor == "intake:test-intake"))
        ).scalars().all()
        everything = " ".join(str(d) for d in (await session.execute(
            select(AuditEntry.details))).scalars())
    assert [case_id for case_id, _ in searches] == [k200] * 3
    assert any(d.get("search") == "cpr" and d.get("found") == ["k-200"] for d in lists)
    assert "2222" not in everything and "120380" not in everything
    assert "østergård" not in everything.lower()  # what was searched for is not kept
    _, page = await browser.get("/cases/k-200")
    assert "Søgt frem på CPR-nummer" in _text(page)
