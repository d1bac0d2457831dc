"""The employer's details are one record per CVR, shared by every case of that employer. Until
the workplace and contact belong to the case: a consultant may not change them at all (their
PATCH, or the case page's facts form, is refused naming the field — other facts they may
still change), a change by intake staff is audited on every case it reaches, and moving a
case to another CVR never copies the old employer's details onto the other employer. A
PATCH of another consultant's case is a 404, audited."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, Case, Employer
from tests.conftest import Api, Staff
from tests.meetings.email_cases import EMPLOYER, body, intake

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


async def test_a_consultant_cannot_redirect_another_consultants_employer_mail(
        staff: Staff) -> None:
    api = staff.api
    # anna (the consultant key's) owns mine and elsewhere; bo owns theirs, of the same CVR.
    await intake(api, body("mine"), body("theirs"), body("elsewhere", employer=OTHER))
    await _own(api, "mine", "anna")
    await _own(api, "theirs", "bo")
    await _own(api, "elsewhere", "anna")
    await api.client.app[JOBS].wait_idle()
    before = await _employers(api)
    assert before[SHARED_CVR].contact_email == EMPLOYER

    # Her own case of that CVR: every detail of the shared record is refused, by name.
    for field, value in (("contact_email", EVIL), ("contact_name", "Mallory"),
                         ("contact_phone", "99999999"), ("address", "Andetsteds 1"),
                         ("name", "Andet navn ApS"), ("location", {"lat": 55.0, "lon": 9.0})):
        status, answer = await _patch(api, "mine", {"employer": {field: value}}, "consultant")
        assert status == 422, (field, answer)
        assert answer["errors"] == [{"field": f"employer.{field}", "message": answer[
            "errors"][0]["message"], "code": "shared_employer"}], answer
        assert "consultant" in answer["errors"][0]["message"]
    # Her other case moved onto that CVR with a new contact: refused alike.
    status, answer = await _patch(api, "elsewhere", {"employer": {
        "cvr": SHARED_CVR, "contact_email": EVIL}}, "consultant")
    assert status == 422 and answer["errors"][0]["field"] == "employer.contact_email", answer
    # Bo's case itself is a 404 to her, as if it did not exist, and the attempt audited.
    status, answer = await _patch(api, "theirs", {"employer": {"contact_email": EVIL}},
                                  "consultant")
    assert status == 404, answer
    async with api.client.app[DB].read() as session:
        refused = (await session.execute(select(Case.case_ref, AuditEntry.details).join(
            Case, Case.id == AuditEntry.case_id).where(
            AuditEntry.action == "case.read_refused"))).all()
    assert [(ref, details) for ref, details in refused] == [("theirs", {"action": "patch"})]
    after = await _employers(api)
    assert after[SHARED_CVR].contact_email == EMPLOYER
    assert after[SHARED_CVR].contact_name == before[SHARED_CVR].contact_name

    # Other facts she may change (the details sent as they are count as no change) …
    status, case = await _patch(api, "mine", {"expected_absence_weeks": 12,
                                              "employer": {"contact_email": EMPLOYER}},
                                "consultant")
    assert status == 200, case
    # … and she may move her case to another CVR: the old employer's details stay with it.
    status, case = await _patch(api, "elsewhere", {"employer": {"cvr": SHARED_CVR}},
                                "consultant")
    assert status == 200, case
    assert case["employer"]["contact_email"] == EMPLOYER
    after = await _employers(api)
    for field in ("name", "contact_name", "contact_email", "address"):
        assert getattr(after[SHARED_CVR], field) == getattr(before[SHARED_CVR], field), field
        assert getattr(after[OTHER["cvr"]], field) == OTHER[field], field
    assert await _changes_audited(api) == {}  # nothing shared was changed

    # The case page's facts form says it in Danish at the field.
    browser = await staff.login("consultant")
    response, page = await browser.get("/cases/mine")
    assert response.status == 200
    values = dict(re.findall(r'name="(employer_[a-z_]+)" type="text" value="([^"]*)"', page))
    assert values["employer_contact_email"] == EMPLOYER
    form = {"case_id": "mine", "first_absence_day": body("mine")["first_absence_day"],
            "employment": "employed", "visitation_category": "3",
            **{k: unescape(v) for k, v in values.items()}, "employer_contact_email": EVIL}
    response, page = await browser.post("/cases/mine/facts", form)
    assert response.status == 422
    assert "gælder alle sager med dette CVR-nummer og kan kun ændres af visitationen" in \
        _text(page)
    assert (await _employers(api))[SHARED_CVR].contact_email == EMPLOYER

    # Intake staff may change it: audited on every case of that CVR, each one.
    status, case = await _patch(api, "mine", {"employer": {"contact_email": "ny@sunds.example"}},
                                "intake")
    assert status == 200, case
    audited = await _changes_audited(api)
    assert sorted(audited) == ["elsewhere", "mine", "theirs"]
    assert all(d == [{"cvr": SHARED_CVR, "changed": ["contact_email"], "via": "mine"}]
               for d in audited.values()), audited
    # A new intake of a case of that CVR with another contact: the same.
    await intake(api, body("theirs", employer={**body("x")["employer"],
                                               "contact_name": "Lone Ny"}))
    audited = await _changes_audited(api)
    assert all(d[-1] == {"cvr": SHARED_CVR, "changed": ["contact_name", "contact_email"],
                         "via": "theirs"} for d in audited.values()), audited
