"""A citizen's request for access (GDPR article 15), as an admin makes it: every case of the
CPR number with what fasthold holds on it — the citizen's details, facts in words, decisions,
meetings, messages sent and the look-ups — and nothing of another citizen; audited per case,
the CPR number in no audit entry; only admins; a wrong CPR number is a 422 naming it. By API
on SQLite and PostgreSQL, and by the page (form, report, JSON file)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from service.keys import CLOCK, DB
from service.platform.db.models import AuditEntry
from tests.meetings.email_cases import body, intake
from tests.support import Api, Staff

CPR = "010190-1234"
OTHER_CPR = "020285-4321"


async def _seed(api: Api) -> None:
    today = api.client.app[CLOCK].today()
    await intake(api, body("a1"), body("a2", citizen={"name": "Mads Madsen",
                                                      "phone": "+45 20 30 40 50"}),
                 body("b1", cpr=OTHER_CPR, citizen={"name": "Karen Jensen"}))
    resp = await api.client.post("/api/cases/a2/close", headers=api.auth("intake"), json={
        "outcome": "recovered", "on": today.isoformat(), "note": "Raskmeldt efter samtalen"})
    assert resp.status == 200, await resp.text()
    resp = await api.client.get("/api/cases/a1", headers=api.auth("manager"))
    assert resp.status == 200


async def _request(api: Api, payload: object, role: str = "admin") -> tuple[int, dict]:
    resp = await api.client.post("/api/access-requests", json=payload, headers=api.auth(role))
    return resp.status, await resp.json()


async def _audit(api: Api) -> list[AuditEntry]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(AuditEntry).where(
            AuditEntry.action.in_(("case.access_request", "access_request.made")))
            .order_by(AuditEntry.id))).scalars())


async def test_an_admin_gets_everything_held_on_a_citizen(staff_on_both: Staff) -> None:
    api = staff_on_both.api
    await _seed(api)
    status, report = await _request(api, {"cpr": CPR.replace("-", "")})
    assert status == 200, report
    assert report["cpr"] == CPR and report["municipality"]
    assert [case["case_id"] for case in report["cases"]] == ["a1", "a2"]
    first, second = report["cases"]
    assert {"label": "Navn", "value": "Mads Madsen"} in first["citizen"]
    assert {"label": "Telefon", "value": "+45 20 30 40 50"} in second["citizen"]
    assert {"label": "Diagnosegruppe", "value": "Psykisk"} in first["facts"]
    assert {"label": "Visitationskategori", "value": "3 – komplekst forløb"} in first["facts"]
    assert not any(fact["label"] in ("cpr", "CPR-nummer") for fact in first["facts"])
    assert first["status"] == "I målgruppen" and first["decisions"][0]["trigger"] == "Visitation"
    assert first["consultant"] and "CVR 12345678" in first["employer"]
    # The invitation planning sent, as it went out; the meeting it proposed.
    assert any(m["kind"] == "Mødeforslag" and "Sunds" in m["body_text"]
               for m in first["messages"]), first["messages"]
    # ... without its working links: whoever holds the report cannot answer for the
    # employer or ask for the citizen's talk (the address before the token stays)
    invitation = next(m for m in first["messages"] if m["kind"] == "Mødeforslag")
    assert "/m/[link fjernet]" in invitation["body_text"], invitation["body_text"]
    for message in first["messages"] + second["messages"]:
        assert not re.search(r"/(m|samtale)/(?!(k/)?\[link fjernet\])",
                             message["body_text"]), \
            message["body_text"]
    assert first["meetings"] and first["meetings"][0]["kind"] == "På arbejdspladsen"
    # Who looked: when, the role, what — the manager's read is there.
    assert {"role": "leder", "action": "Sagen læst"}.items() <= next(
        lookup for lookup in first["lookups"] if lookup["role"] == "leder").items()
    assert (second["closed_on"], second["close_outcome"], second["close_note"]) == (
        api.client.app[CLOCK].today().isoformat(), "Raskmeldt", "Raskmeldt efter samtalen")
    assert [part["heading"] for part in report["about"]][:2] == ["Formål", "Oplysninger"]
    assert "Karen Jensen" not in json.dumps(report, ensure_ascii=False)
    # Audited: each case handed over, and the request with its count — never the CPR.
    entries = await _audit(api)
    assert [(e.action, e.details) for e in entries] == [
        ("case.access_request", {}), ("case.access_request", {}),
        ("access_request.made", {"cases": 2})]
    assert all(e.role == "admin" for e in entries)
    assert not any("0101" in json.dumps(e.details) for e in entries)
    # A CPR number with no case: an empty list, and still audited.
    status, none = await _request(api, {"cpr": "311299-0000"})
    assert status == 200 and none["cases"] == []
    assert (await _audit(api))[-1].details == {"cases": 0}


async def test_only_admins_and_a_wrong_cpr_number_is_named(staff: Staff) -> None:
    api = staff.api
    for role in ("intake", "consultant", "manager"):
        status, _ = await _request(api, {"cpr": CPR}, role)
        assert status == 403, role
    for payload, code in (({"cpr": "123"}, "cpr_format"), ({"cpr": "320190-1234"}, "cpr_format"),
                          ({"cpr": 101901234}, "string_type"), ({}, "missing"),
                          ({"cpr": CPR, "name": "x"}, "extra_forbidden")):
        status, problem = await _request(api, payload)
        assert status == 422 and problem["errors"][0]["field"] in ("cpr", "name"), problem
        assert problem["errors"][0]["code"] == code, problem
    assert await _audit(api) == []


async def test_the_page_finds_prints_and_downloads(staff: Staff) -> None:
    await _seed(staff.api)
    admin = await staff.login("admin")
    response, page = await admin.get("/admin/indsigt")
    assert response.status == 200 and 'name="cpr"' in page and "artikel 15" in page
    response, page = await admin.post("/admin/indsigt", {"cpr": "12", "format": "html"})
    assert response.status == 422 and 'aria-invalid="true"' in page and "CPR-nummer" in page
    response, page = await admin.post("/admin/indsigt", {"cpr": CPR, "format": "html"})
    assert response.status == 200, page
    assert "Indsigt for CPR-nummer 010190-1234" in page and "2 sager" in page
    assert "Sag a1" in page and "Sag a2" in page and "Mads Madsen" in page
    assert "Raskmeldt efter samtalen" in page and "Om behandlingen af oplysningerne" in page
    assert "Karen Jensen" not in page and response.headers["Cache-Control"] == "no-store"
    response, raw = await admin.post("/admin/indsigt", {"cpr": CPR, "format": "json"})
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    assert [case["case_id"] for case in json.loads(raw)["cases"]] == ["a1", "a2"]
    # Without the form's token: refused; other roles: refused, and no menu entry.
    response, _ = await admin.post("/admin/indsigt", {"cpr": CPR}, csrf=False)
    assert response.status == 403
    manager = await staff.login("manager")
    response, page = await manager.get("/admin/indsigt")
    assert response.status == 403
    response, page = await manager.get("/dashboard")
    assert response.status == 200 and 'href="/admin/indsigt"' not in page
    response, page = await admin.get("/admin/audit")
    assert response.status == 200 and 'href="/admin/indsigt"' in page
