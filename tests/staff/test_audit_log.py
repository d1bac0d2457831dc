"""The audit log searched by an admin (`/admin/audit`, `/admin/audit.csv`, `GET /api/audit`):
who read or changed what, and when — by period, who, case and action, newest first, paged;
a wrong filter is a 422 naming it; only admins; every search is itself in the log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from service.keys import CLOCK, JOBS
from tests.meetings.email_cases import body
from tests.support import Staff, staff_username


async def _seed(staff: Staff) -> None:
    api = staff.api
    for case_id in ("a1", "a2"):
        resp = await api.client.post("/api/cases", json=body(case_id),
                                     headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()
    for case_id in ("a1", "a1", "a2"):
        resp = await api.client.get(f"/api/cases/{case_id}", headers=api.auth("manager"))
        assert resp.status == 200


async def _search(staff: Staff, query: str, role: str = "admin") -> tuple[int, dict]:
    resp = await staff.api.client.get(f"/api/audit?{query}", headers=staff.api.auth(role))
    return resp.status, await resp.json()


async def test_an_admin_finds_who_read_a_case_and_what_a_user_did(staff: Staff) -> None:
    await _seed(staff)
    status, found = await _search(staff, "case_id=a1&action=case.read")
    assert status == 200, found
    assert found["total"] == 2 and [e["case_id"] for e in found["entries"]] == ["a1", "a1"]
    assert {e["role"] for e in found["entries"]} == {"manager"}
    # Newest first; by who (as stored, or the name alone), by the action's first part.
    status, everything = await _search(staff, "")
    assert status == 200 and everything["total"] >= 6
    times = [e["at"] for e in everything["entries"]]
    assert times == sorted(times, reverse=True)
    manager = next(e["actor"] for e in everything["entries"] if e["role"] == "manager")
    for who in (manager, manager.partition(":")[2]):
        status, theirs = await _search(staff, f"actor={who}&action=case")
        assert status == 200 and theirs["total"] == 3, (who, theirs)
    status, created = await _search(staff, "action=case.create&limit=1&offset=1")
    assert (created["total"], len(created["entries"]), created["limit"], created["offset"]) \
        == (2, 1, 1, 1)
    # Outside the period: nothing; a wrong filter names itself.
    today = staff.api.client.app[CLOCK].today()
    status, none = await _search(staff, f"to={today - timedelta(days=1)}")
    assert status == 200 and none["total"] == 0
    for query, field in (("from=2026-13-01", "from"), ("action=CASE", "action"),
                         ("to=2020-01-01&from=2020-02-01", "to"),
                         ("from=2020-01-01&to=2021-06-01", "to"), ("limit=0", "limit"),
                         ("who=x", "who"),
                         # the calendar's edges (each was a 500)
                         ("from=0001-01-01&to=0001-12-01", "from"), ("to=0001-01-01", "to"),
                         ("from=9999-12-01&to=9999-12-31", "from"), ("to=9999-12-31", "to")):
        status, problem = await _search(staff, query)
        assert status == 422 and problem["errors"][0]["field"] == field, (query, problem)
    # Only admins.
    for role in ("intake", "consultant", "manager"):
        status, _ = await _search(staff, "", role)
        assert status == 403
    # Each search is in the log itself, with its filters and count (no personal data).
    status, searches = await _search(staff, "action=audit.read")
    first = searches["entries"][-1]  # the oldest: this test's first search
    assert (first["details"]["case_id"], first["details"]["action"],
            first["details"]["count"]) == ("a1", "case.read", 2)
    assert searches["total"] == 6  # the searches above that were answered


async def test_the_page_and_its_csv(staff: Staff) -> None:
    await _seed(staff)
    admin = await staff.login("admin")
    response, page = await admin.get("/admin/audit?case_id=a1&action=case.read")
    assert response.status == 200
    assert "2 hændelser" in page and "Sagen læst" in page and 'href="/cases/a1"' in page
    assert "leder (leder)" in page or staff_username("manager") in page
    # The action is chosen from a list: every kind, then each action in words.
    assert '<option value="case.read" selected>Sagen læst (case.read)</option>' in page
    assert '<option value="case">Alt om sager (case.…)</option>' in page
    response, page = await admin.get("/admin/audit?from=2026-02-30")
    assert response.status == 422 and 'id="audit"' not in page
    for edge in ("to=9999-12-31", "from=0001-01-01"):
        response, edge_page = await admin.get(f"/admin/audit?{edge}")
        assert response.status == 422 and "Skriv en dato mellem" in edge_page, edge
        response, _ = await admin.get(f"/admin/audit.csv?{edge}")
        assert response.status in (400, 422), edge
    field = page[page.index('id="f-from"') - 400:page.index('id="f-from"') + 400]
    assert "Skriv en gyldig dato" in field and 'aria-invalid="true"' in field
    response, text = await admin.get("/admin/audit.csv?case_id=a1&action=case.read")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["Tidspunkt (UTC)", "Hvem", "Rolle", "Handling"]
    assert [r[3:5] for r in rows[1:]] == [["case.read", "a1"], ["case.read", "a1"]]
    manager = await staff.login("manager")
    response, _ = await manager.get("/admin/audit")
    assert response.status == 403
    # The menu has it for the admin only.
    _, page = await admin.get("/admin/audit")
    assert 'href="/admin/audit"' in page
    _, page = await manager.get("/cases")
    assert 'href="/admin/audit"' not in page
