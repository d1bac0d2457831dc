"""Every page of the consultant, the manager's dashboard and the deliveries page on SQLite and
on PostgreSQL: the same queries (JSON fields, subqueries, dates) answer on both."""

from __future__ import annotations

import re

from tests.meetings.email_cases import body, intake
from tests.support import Staff


async def test_pages_answer_on_both_databases(staff_on_both: Staff) -> None:
    api = staff_on_both.api
    await intake(api, body("db-1"))
    resp = await api.client.put("/api/cases/db-1/owner", json={
        "consultant_id": "anna", "reason": "test"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await intake(api)  # planning has run
    consultant = await staff_on_both.login("consultant")
    for path in ("/my-cases", "/my-cases/db-1", "/week", "/calendar"):
        resp, html = await consultant.get(path)
        assert resp.status == 200, (path, html)
    _, html = await consultant.get("/my-cases")
    assert "db-1" in html
    resp, html = await consultant.post("/my-cases/db-1/contacts", {"who": "employer"})
    assert resp.status == 200 and "Opkaldet til arbejdsgiveren er registreret." in html
    resp, html = await consultant.post("/calendar/new")
    match = re.search(r'value="[^"]*(/calendar/[A-Za-z0-9_-]+\.ics)"', html)
    assert resp.status == 200 and match is not None
    feed = await consultant.session.get(consultant.url(match.group(1)))
    assert feed.status == 200 and "sag db-1" in (await feed.text())
    manager = await staff_on_both.login("manager")
    for path in ("/dashboard", "/dashboard.csv", "/deliveries", "/week?konsulent=anna"):
        resp, html = await manager.get(path)
        assert resp.status == 200, (path, html)
    _, html = await manager.get("/dashboard")
    assert re.search(r'<tr id="tal-target_cases">.*?>1<', html, flags=re.S)
