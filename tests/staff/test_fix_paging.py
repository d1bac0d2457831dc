"""A page number past the last page of a list shows the last page, on the case list as on
the audit log (never "Side 99999 af 12" over an empty list, never a 5xx)."""

from __future__ import annotations

import re

from service.keys import JOBS
from tests.meetings.email_cases import body
from tests.support import Staff


async def test_the_case_list_past_its_last_page_shows_the_last(staff: Staff) -> None:
    api = staff.api
    for case_id in ("p1", "p2"):
        resp = await api.client.post("/api/cases", json=body(case_id),
                                     headers=api.auth("intake"))
        assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()
    browser = await staff.login("manager")
    response, page = await browser.get("/cases?side=999")
    assert response.status == 200
    assert "Ingen sager matcher" not in page
    assert {"p1", "p2"} <= set(re.findall(r'href="/cases/([^"?/]+)"', page))


async def test_the_audit_log_past_its_last_page_shows_the_last(staff: Staff) -> None:
    for _ in range(101):  # each search is itself in the log: two pages of audit.read
        resp = await staff.api.client.get("/api/audit?action=audit.read",
                                          headers=staff.api.auth("admin"))
        assert resp.status == 200
    admin = await staff.login("admin")
    response, page = await admin.get("/admin/audit?action=audit.read&side=99999")
    assert response.status == 200
    assert "Side 2 af 2" in page and "Side 99999" not in page, page
    assert "Ingen hændelser matcher" not in page
    assert re.search(r'href="/admin/audit\?[^"]*side=1">← Forrige', page)
    response, first = await admin.get("/admin/audit?action=audit.read")
    assert "Side 1 af 2" in first
