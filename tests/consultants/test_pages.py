"""The consultants' staff pages through the HTTP client: `/admin/consultants` (managers and
admins; list with load, add with errors in Danish by field, edit, deactivate asks about the
open cases) and absences there and on the consultant's own week page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from service.keys import CLOCK, DB, JOBS
from service.platform.db.models import CalendarSource, Consultant, ConsultantAbsence
from tests.intake.test_api_cases import case_body
from tests.support import Staff, today_local

FORM = {"id": "frida", "name": "Frida Dam", "email": "frida@demo.example", "phone": "",
        "slack_user_id": "", "team": "nord", "address": "Østergade 5, 7430 Ikast",
        "lat": "", "lon": "", "max_active_cases": "20", "meetings_per_day": "2",
        "skills": "mental", "workplace_meetings": "ja", "workplace_meetings_from": "",
        "fixed_employers": "11223344, 22334455", "active": "ja", "own_hours": "ja",
        "hours_mon_start": "08:00", "hours_mon_end": "14:00",
        "hours_tue_start": "08:00", "hours_tue_end": "15:30"}


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" id="[^"]*">([^<]*)</p>', html)


async def test_list_add_and_edit(staff: Staff) -> None:
    for role in ("consultant", "intake"):
        browser = await staff.login(role)
        response, _ = await browser.get("/admin/consultants")
        assert response.status == 403, role
    manager = await staff.login("manager")
    response, html = await manager.get("/admin/consultants")
    assert response.status == 200
    assert 'href="/admin/consultants"' in html  # in the menu
    assert "Anna Kjær" in html and "0 af 37" in html
    # Each consultant's own calendar import (service.calendars): none set yet; a feed that
    # failed shows the error on the manager's list.
    assert "Egen kalender" in html and '<span class="muted">ingen</span>' in html
    async with staff.api.client.app[DB].write() as session:
        anna = (await session.execute(select(Consultant).where(Consultant.key == "anna"))
                ).scalar_one()
        now = staff.api.client.app[CLOCK].utcnow()
        session.add(CalendarSource(municipality_id="demo", consultant_id=anna.id, kind="ics",
                                   url_encrypted="x", created_at=now, updated_at=now,
                                   last_attempt_at=now,
                                   last_error="Kalenderens server svarede med en fejl (500)."))
    response, html = await manager.get("/admin/consultants")
    assert '<span class="badge bad">fejl</span>' in html and "fejl (500)" in html
    # Errors in Danish, by field.
    response, html = await manager.post("/admin/consultants", {
        **FORM, "name": "", "email": "frida", "hours_mon_end": "07:00",
        "fixed_employers": "29189919", "max_active_cases": "mange"})
    assert response.status == 422
    errors = _errors(html)
    assert "Navnet skal udfyldes." in errors
    assert "Skriv en gyldig e-mailadresse, fx navn@firma.dk." in errors
    assert "Skriv højst antal aktive sager som et tal." in errors
    response, html = await manager.post("/admin/consultants", {
        **FORM, "hours_mon_end": "07:00"})
    assert response.status == 422
    assert _errors(html) == ["Slut skal ligge efter start."]
    # Each working-hours field has its own name, and the day's error is linked to both.
    for end, words in (("", "Mandag fra"), ("_end", "Mandag til")):
        field = re.search(rf'<input id="f-hours_mon{end}"[^>]*>', html)
        assert field is not None
        assert f'aria-label="{words}"' in field.group(0) and "aria-labelledby" not in field.group(0)
        assert 'aria-invalid="true"' in field.group(0)
        assert 'aria-describedby="e-f-hours_mon"' in field.group(0)
    assert 'id="e-f-hours_mon"' in html
    response, html = await manager.post("/admin/consultants", {
        **FORM, "fixed_employers": "29189919"})
    assert response.status == 422
    assert _errors(html) == [
        "CVR-nummeret 29189919 er allerede fast tilknyttet konsulenten anna."]
    assert 'value="Frida Dam"' in html  # what was typed is kept
    response, html = await manager.post("/admin/consultants", FORM)
    assert response.status == 200 and response.url.path == "/admin/consultants/frida", html
    assert "Konsulenten er oprettet." in html
    assert "Adressen er placeret på kortet efter byen" in html
    async with staff.api.client.app[DB].read() as session:
        frida = (await session.execute(select(Consultant).where(Consultant.key == "frida"))
                 ).scalar_one()
    assert frida.working_hours == {"mon": ["08:00", "14:00"], "tue": ["08:00", "15:30"]}
    assert frida.fixed_employers == ["11223344", "22334455"] and frida.skills == ["mental"]
    assert frida.location_precision == "town" and frida.source == "app"
    # The new consultant is an owner choice on the case list's filter.
    intake = await staff.login("intake")
    _, html = await intake.get("/cases")
    assert 'value="frida"' in html
    # ... and may get a staff login of their own.
    admin = await staff.login("admin")
    response, html = await admin.post("/admin/users", {
        "username": "frida", "role": "consultant", "consultant_id": "frida",
        "password": "en-lang-adgangskode"})
    assert response.status == 200 and "Brugeren er oprettet." in html, html
    assert "Frida Dam" in html
    # Edit: a base location typed in.
    response, html = await manager.post("/admin/consultants/frida", {
        **FORM, "lat": "56,14", "lon": "9,16", "team": "syd"})
    assert response.status == 200 and "Ændringerne er gemt." in html, html
    assert 'value="syd"' in html and 'value="56.14"' in html


async def test_deactivate_asks_about_open_cases(staff: Staff) -> None:
    api = staff.api
    resp = await api.client.post("/api/cases", json=case_body("p1"),
                                 headers=api.auth("intake"))
    assert resp.status == 201
    resp = await api.client.put("/api/cases/p1/owner", json={"consultant_id": "bo"},
                                headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    manager = await staff.login("manager")
    _, html = await manager.get("/admin/consultants/bo")
    assert "1 af 37" in html
    form = {"name": "Bo Nielsen", "email": "bo.nielsen@demo.example", "team": "vest",
            "max_active_cases": "37", "meetings_per_day": "3", "workplace_meetings": "ja",
            "fixed_employers": "20756438", "skills": "physical"}
    response, html = await manager.post("/admin/consultants/bo", form)  # not active
    assert response.status == 409
    assert "Bo Nielsen har 1 åbne sager." in html and "<li>p1</li>" in html
    assert 'name="open_cases" value="reassign"' in html
    response, html = await manager.post("/admin/consultants/bo",
                                        {**form, "open_cases": "reassign"})
    assert response.status == 200 and "Ændringerne er gemt." in html
    assert "inaktiv" in html


async def test_absences_on_the_admin_page_and_the_week_page(staff: Staff) -> None:
    start = today_local() + timedelta(days=14)
    absence = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat(),
               "reason": "ferie", "note": "Sommerhus"}
    manager = await staff.login("manager")
    response, html = await manager.post("/admin/consultants/bo/absences", absence)
    assert response.status == 200 and "Fraværet er registreret." in html
    assert "Sommerhus" in html and "Ferie" in html
    response, html = await manager.post("/admin/consultants/bo/absences", {
        **absence, "to": (start - timedelta(days=1)).isoformat(), "reason": ""})
    assert response.status == 422
    assert _errors(html) == ["Vælg en af mulighederne for årsagen."]
    # The consultant's own week page.
    consultant = await staff.login("consultant")
    response, html = await consultant.get("/week")
    assert response.status == 200 and "Registrér fravær" in html
    response, html = await consultant.post("/week/absences", {**absence, "reason": "kursus",
                                                              "note": ""})
    assert response.status == 200 and "Fraværet er registreret." in html, html
    assert '<td data-label="Årsag">Kursus</td>' in html
    # ... and the days themselves show it in the week's calendar (its working days)
    week = f"{start.isocalendar()[0]}-W{start.isocalendar()[1]:02d}"
    response, html = await consultant.get(f"/week?uge={week}")
    shown = re.findall(r'class="block absence [^"]*" title="[^"]*Fravær: Kursus', html)
    working = [d for d in (start + timedelta(days=i) for i in range(3))
               if d.isocalendar()[1] == start.isocalendar()[1] and d.weekday() < 5]
    assert response.status == 200 and len(shown) == len(working), (len(shown), working)
    response, html = await consultant.post("/week/absences", {
        **absence, "to": (start - timedelta(days=1)).isoformat()})
    assert response.status == 422
    assert _errors(html) == ["Til-datoen må ikke ligge før fra-datoen."]
    async with staff.api.client.app[DB].read() as session:
        rows = {(a.consultant_id, a.reason): a.id for a in (await session.execute(
            select(ConsultantAbsence))).scalars()}
        ids = dict((await session.execute(select(Consultant.key, Consultant.id))).all())
    own = rows[(ids["anna"], "kursus")]
    others = rows[(ids["bo"], "ferie")]
    # Another consultant's absence cannot be deleted from one's own week page.
    response, _ = await consultant.post(f"/week/absences/{others}/delete")
    assert response.status == 404
    response, html = await consultant.post(f"/week/absences/{own}/delete")
    assert response.status == 200 and "Fraværet er slettet." in html
    assert '<td data-label="Årsag">Kursus</td>' not in html
