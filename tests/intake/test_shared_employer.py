"""The employer is one record per CVR (the company's name, known unavailable times and a
default contact); each case keeps its own workplace and contact person (the sick employee's
nearest manager). A consultant may change their own case's workplace and contact, never the
shared name (refused naming the field, in Danish on the page); intake staff's change of the
name is audited on every case of that CVR; a new case of the CVR with another contact never
changes the others'. A PATCH of another consultant's case is a 404, audited."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, Case, Employer
from tests.meetings.email_cases import EMPLOYER, body, intake
from tests.support import Api, Staff

SHARED_CVR = "12345678"  # body()'s employer: Sunds Træ ApS, contact leder@sundstrae.example
OTHER = {"cvr": "87654321", "name": "Anden ApS", "contact_name": "Ole Anden",
         "contact_email": "ole@anden.example", "address": "Vej 2, 7400 Herning"}
EVIL = "x@evil.example"


async def _own(api: Api, case_id: str, consultant: str) -> None:
    resp = await api.client.put(f"/api/cases/{case_id}/owner", json={
        "consultant_id": consultant, "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()


async def _patch(api: Api, case_id: str, changes: dict[str, Any], role: str
                 ) -> tuple[int, Any]:
    resp = await api.client.patch(f"/api/cases/{case_id}", json=changes,
                                  headers=api.auth(role))
    return resp.status, await resp.json()


async def _employers(api: Api) -> dict[str, Employer]:
    async with api.client.app[DB].read() as session:
        return {e.cvr: e for e in (await session.execute(select(Employer))).scalars()}


async def _changes_audited(api: Api) -> dict[str, list[dict[str, Any]]]:
    """case ref → the details of its `case.employer_changed` entries."""
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(Case.case_ref, AuditEntry.details).join(
            Case, Case.id == AuditEntry.case_id).where(
            AuditEntry.action == "case.employer_changed").order_by(AuditEntry.id))).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for ref, details in rows:
        out.setdefault(ref, []).append(details)
    return out


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def test_each_case_keeps_its_own_workplace_and_contact(staff: Staff) -> None:
    api = staff.api
    # anna (the consultant key's) owns mine and elsewhere; bo owns theirs, of the same CVR.
    await intake(api, body("mine"), body("theirs"), body("elsewhere", employer=OTHER))
    await _own(api, "mine", "anna")
    await _own(api, "theirs", "bo")
    await _own(api, "elsewhere", "anna")
    await api.client.app[JOBS].wait_idle()
    before = await _employers(api)
    assert before[SHARED_CVR].contact_email == EMPLOYER

    # Her own case's contact and workplace she may change: that case's only.
    status, case = await _patch(api, "mine", {"employer": {
        "contact_email": "mellemleder@sundstrae.example", "contact_name": "Mette Mellem",
        "address": "Fabriksvej 9, 7430 Ikast"}}, "consultant")
    assert status == 200, case
    assert case["contact"] == {"name": "Mette Mellem",
                               "email": "mellemleder@sundstrae.example", "phone": None}
    assert case["workplace"]["address"] == "Fabriksvej 9, 7430 Ikast"
    assert case["workplace"]["precision"] == "town"  # placed anew, not left at Sunds
    theirs = await (await api.client.get("/api/cases/theirs", headers=api.auth("intake"))
                    ).json()
    assert theirs["contact"]["email"] == EMPLOYER
    assert theirs["workplace"]["address"] == "Fabriksvej 3, 7451 Sunds"
    after = await _employers(api)
    for field in ("name", "contact_name", "contact_email", "address"):
        assert getattr(after[SHARED_CVR], field) == getattr(before[SHARED_CVR], field), field

    # The shared record's name is refused, by name; so is another CVR's via a move.
    status, answer = await _patch(api, "mine", {"employer": {"name": "Andet navn ApS"}},
                                  "consultant")
    assert status == 422, answer
    assert answer["errors"] == [{"field": "employer.name", "message": answer[
        "errors"][0]["message"], "code": "shared_employer"}], answer
    assert "consultant" in answer["errors"][0]["message"]
    status, answer = await _patch(api, "elsewhere", {"employer": {
        "cvr": SHARED_CVR, "name": "Andet navn ApS"}}, "consultant")
    assert status == 422 and answer["errors"][0]["field"] == "employer.name", answer
    # Bo's case itself is a 404 to her, as if it did not exist, and the attempt audited.
    status, answer = await _patch(api, "theirs", {"employer": {"contact_email": EVIL}},
                                  "consultant")
    assert status == 404, answer
    async with api.client.app[DB].read() as session:
        refused = (await session.execute(select(Case.case_ref, AuditEntry.details).join(
            Case, Case.id == AuditEntry.case_id).where(
            AuditEntry.action == "case.read_refused"))).all()
    assert [(ref, details) for ref, details in refused] == [("theirs", {"action": "patch"})]

    # Moved to another CVR, her case takes that employer's default contact and workplace.
    status, case = await _patch(api, "elsewhere", {"employer": {"cvr": SHARED_CVR}},
                                "consultant")
    assert status == 200, case
    assert case["employer"]["contact_email"] == EMPLOYER
    assert case["contact"]["email"] == EMPLOYER
    assert case["workplace"]["address"] == "Fabriksvej 3, 7451 Sunds"
    after = await _employers(api)
    for field in ("name", "contact_name", "contact_email", "address"):
        assert getattr(after[OTHER["cvr"]], field) == OTHER[field], field
    assert await _changes_audited(api) == {}  # nothing shared was changed

    # A new case of the CVR with another contact: its own; the others and the default keep
    # theirs. A new case without contact details takes the employer's default.
    await intake(api, body("second", employer={**body("x")["employer"],
                                               "contact_name": "Lone Ny",
                                               "contact_email": "lone@sundstrae.example"}))
    employer = {k: v for k, v in body("x")["employer"].items() if not k.startswith("contact")}
    await intake(api, body("third", employer=employer))
    contacts = {}
    for ref in ("mine", "theirs", "second", "third"):
        got = await (await api.client.get(f"/api/cases/{ref}", headers=api.auth("intake"))
                     ).json()
        contacts[ref] = got["contact"]["email"]
    assert contacts == {"mine": "mellemleder@sundstrae.example", "theirs": EMPLOYER,
                        "second": "lone@sundstrae.example", "third": EMPLOYER}
    assert (await _employers(api))[SHARED_CVR].contact_email == EMPLOYER
    assert await _changes_audited(api) == {}

    # The case page's facts form says the name's rule in Danish at the field.
    browser = await staff.login("consultant")
    response, page = await browser.get("/cases/mine")
    assert response.status == 200
    values = dict(re.findall(r'name="(employer_[a-z_]+)" type="text" value="([^"]*)"', page))
    assert values["employer_contact_email"] == "mellemleder@sundstrae.example"
    form = {"case_id": "mine", "first_absence_day": body("mine")["first_absence_day"],
            "employment": "employed", "visitation_category": "3",
            **{k: unescape(v) for k, v in values.items()}, "employer_name": "Andet navn ApS"}
    response, page = await browser.post("/cases/mine/facts", form)
    assert response.status == 422
    assert "gælder alle sager med dette CVR-nummer og kan kun ændres af visitationen" in \
        _text(page)

    # Intake staff may change the name: audited on every case of that CVR, each one.
    status, case = await _patch(api, "mine", {"employer": {"name": "Sunds Træ A/S"}},
                                "intake")
    assert status == 200, case
    audited = await _changes_audited(api)
    assert sorted(audited) == ["elsewhere", "mine", "second", "theirs", "third"]
    assert all(d == [{"cvr": SHARED_CVR, "changed": ["name"], "via": "mine"}]
               for d in audited.values()), audited
