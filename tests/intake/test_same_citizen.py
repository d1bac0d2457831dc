"""One citizen, two open cases (the same CPR number under two case numbers): intake is told
at once — in the answer to the registration, on the case's API and its page — so that one
sick leave does not get two consultants and two meetings with one employer. A closed case no
longer counts; a consultant hears only of the other cases they own (need to know)."""

from __future__ import annotations

import re

from service.config import MunicipalityConfig
from service.keys import CLOCK, CONFIG
from tests.intake.test_csv_import import _import, _text, _upload
from tests.meetings.email_cases import body
from tests.support import Api, Staff

OTHER_CPR = "020285-4321"


async def _register(api: Api, case_id: str, **overrides: object) -> dict:
    resp = await api.client.post("/api/cases", json=body(case_id, **overrides),
                                 headers=api.auth("intake"))
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


async def _others(api: Api, case_id: str, role: str = "intake") -> list[str] | int:
    resp = await api.client.get(f"/api/cases/{case_id}", headers=api.auth(role))
    return (await resp.json())["other_open_cases"] if resp.status == 200 else resp.status


async def _own(api: Api, case_id: str, consultant: str) -> None:
    resp = await api.client.put(f"/api/cases/{case_id}/owner", headers=api.auth("intake"),
                                json={"consultant_id": consultant, "reason": "test"})
    assert resp.status == 200, await resp.text()


async def test_intake_is_told_of_the_citizens_other_open_case(
        sqlite_api: Api, demo_config: MunicipalityConfig) -> None:
    api = sqlite_api
    assert (await _register(api, "s1"))["other_open_cases"] == []
    assert (await _register(api, "s2"))["other_open_cases"] == ["s1"]
    assert (await _register(api, "s3", cpr=OTHER_CPR))["other_open_cases"] == []
    # Registering s2 again (an update) still says so; both cases' reads do.
    assert (await _register(api, "s2"))["other_open_cases"] == ["s1"]
    assert await _others(api, "s1") == ["s2"] and await _others(api, "s3") == []
    assert await _others(api, "s1", "manager") == ["s2"]
    # Need to know: the consultant who owns s1 but not s2 hears nothing of s2.
    mine, colleague = (c.id for c in demo_config.consultants[:2])
    await _own(api, "s1", mine)
    await _own(api, "s2", colleague)
    assert await _others(api, "s1", "consultant") == []
    await _own(api, "s2", mine)
    assert await _others(api, "s1", "consultant") == ["s2"]
    # Closing one ends the warning on the other.
    resp = await api.client.post("/api/cases/s1/close", headers=api.auth("intake"), json={
        "outcome": "other", "on": api.client.app[CLOCK].today().isoformat()})
    assert resp.status == 200, await resp.text()
    assert await _others(api, "s2") == [] and await _others(api, "s1") == []


async def test_the_case_page_warns_and_links_the_other_case(staff: Staff) -> None:
    await _register(staff.api, "p1")
    await _register(staff.api, "p2")
    intake = await staff.login("intake")
    response, page = await intake.get("/cases/p2")
    assert response.status == 200
    assert 'id="same-citizen"' in page and "Borgeren har en anden åben sag" in page
    assert 'href="/cases/p1"' in page
    _, page = await intake.get("/cases/p1")
    assert 'href="/cases/p2"' in page


async def test_the_csv_import_says_so_per_row(staff: Staff) -> None:
    await _register(staff.api, "c0")  # open, CPR 010190-1234
    day = body("c0")["first_absence_day"]
    content = ("case_id;first_absence_day;employment;employer_cvr;cpr;citizen_name\n"
               f"c1;{day};employed;29189919;010190-1234;Mads Madsen\n"
               f"c2;{day};employed;29189919;{OTHER_CPR};Karen Jensen\n").encode()
    intake = await staff.login("intake")
    await intake.get("/import")
    _, preview = await _upload(intake, content)
    response, page = await _import(intake, preview)
    assert response.status == 200, page
    text = _text(page)
    assert "borgeren har en anden åben sag: c0" in text
    assert text.count("anden åben sag") == 1  # c2's citizen has no other case


async def test_the_case_list_finds_every_citizen_with_more_open_cases(staff: Staff) -> None:
    for case_id, cpr in (("d1", None), ("d2", None), ("d3", OTHER_CPR)):
        await _register(staff.api, case_id, **({"cpr": cpr} if cpr else {}))
    intake = await staff.login("intake")
    _, page = await intake.get("/cases?flere=ja")
    assert 'id="f-flere"' in page and "checked" in page.split('id="f-flere"', 1)[1][:40]
    listed = set(re.findall(r'href="/cases/(d[0-9])"', page))
    assert listed == {"d1", "d2"}
    _, page = await intake.get("/cases")
    assert set(re.findall(r'href="/cases/(d[0-9])"', page)) == {"d1", "d2", "d3"}
    # A consultant finds only pairs of their own cases (need to know).
    mine, colleague = (c.id for c in staff.api.client.app[CONFIG].consultants[:2])
    await _own(staff.api, "d1", mine)
    await _own(staff.api, "d2", colleague)
    consultant = await staff.login("consultant")
    _, page = await consultant.get("/cases?flere=ja")
    assert not re.findall(r'href="/cases/(d[0-9])"', page)
    await _own(staff.api, "d2", mine)
    _, page = await consultant.get("/cases?flere=ja")
    assert set(re.findall(r'href="/cases/(d[0-9])"', page)) == {"d1", "d2"}
