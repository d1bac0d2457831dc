"""Issue 20: the week-13 figure by the intervention's kind (SQLite and PostgreSQL, on the
hand-made data set of `test_figures`), the register (one row per case, no CPR/names, every
formula-like cell neutralised) and its route, and the dashboard's download link, kinds table
and corrections to ended months."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB
from service.kpis.figures import KpiService
from service.kpis.register import COLUMNS, Register, neutralised, register_csv
from service.platform.db.models import AuditEntry, Case, Consultant, Intervention, Meeting
from tests.kpis.test_figures import JAN, NOV, kpis
from tests.support import Api, Staff, make_secrets, start_api, start_staff

__all__ = ["kpis"]  # the hand-made data set's fixture


async def _add(kpis: KpiService) -> None:
    async with kpis.db.write() as session:
        cases = {c.case_ref: c for c in (await session.execute(select(Case))).unique().scalars()}
        for ref, kind, started in (("A", "partial_return", date(2026, 12, 20)),
                                   ("L", "work_trial", date(2027, 1, 18)),
                                   ("L", "education", date(2027, 1, 19)),  # after week 13
                                   ("C", "wage_subsidy", date(2026, 12, 5))):
            session.add(Intervention(municipality_id="demo", case_id=cases[ref].id, kind=kind,
                                     started_on=started, registered_by="test"))
        anna = (await session.execute(select(Consultant.id).where(Consultant.key == "anna"))
                ).scalar_one()
        # A case whose id a spreadsheet would run as a formula, closed, with a return plan.
        case = Case(municipality_id="demo", case_ref="=1+1", facts={
            "case_id": "=1+1", "first_absence_day": "2026-11-02"}, as_of=date(2026, 11, 2),
            status="target", follow_up="workplace_meeting",
            first_meeting_deadline=date(2026, 12, 27), intervention_deadline=date(2027, 1, 31),
            owner_id=anna, closed_on=date(2027, 1, 10), close_outcome="recovered",
            intervention_started_on=date(2026, 12, 1), citizen_name="Mads Madsen",
            cpr_encrypted="secret")
        session.add(case)
        await session.flush()
        for status, start, place, invited in (
                ("cancelled", datetime(2026, 11, 20, 9), None, True),
                ("held", datetime(2026, 12, 1, 10), "phone", False)):
            session.add(Meeting(municipality_id="demo", case_id=case.id, consultant_id=anna,
                                kind="workplace_meeting" if invited else "telephone",
                                start=start, end=start + timedelta(hours=1), status=status,
                                place=place, employer_took_part=False if place else None,
                                invited_at=start - timedelta(days=7) if invited else None,
                                return_plan={"steps": [{"from": "2026-12-08",
                                                        "hours_per_week": 20}],
                                             "full_time_from": "2027-01-05"}
                                if place else None))
        session.add(Intervention(municipality_id="demo", case_id=case.id,
                                 kind="partial_return", started_on=date(2026, 12, 1),
                                 registered_by="test"))


async def test_intervention_before_week13_by_kind(kpis: KpiService) -> None:
    await _add(kpis)
    nov, dec, jan = await kpis.monthly(NOV, JAN)
    # January: A (partial return) and L (work trial; its education started after week 13).
    assert jan.intervention_before_week13 == 2
    assert {k: n for k, n in jan.intervention_kinds.items() if n} == {
        "partial_return": 1, "work_trial": 1}
    # November: C's intervention came after its week 13: no kind counted.
    assert not any(nov.intervention_kinds.values()) and not any(dec.intervention_kinds.values())
    assert jan.to_dict()["intervention_kinds"]["partial_return"] == 1


async def test_the_register_has_one_row_per_case_and_no_formulas(kpis: KpiService) -> None:
    await _add(kpis)
    rows = await Register(kpis.db, kpis.clock, "demo").rows(NOV, NOV)
    # Cases whose first absence day is in November (any decision; not another municipality's).
    assert [r["case_id"] for r in rows] == ["'=1+1", "H", "D", "G", "E"]
    row = rows[0]
    assert dict(COLUMNS)["on_time"] == "Inden sagens frist"  # not the week-8 figure
    assert row == {
        "case_id": "'=1+1", "first_absence_day": "2026-11-02", "handed_over_on": "",
        "decision": "target", "follow_up": "workplace_meeting", "owner": "anna",
        "expected_place": "workplace", "first_meeting_on": "2026-12-01",
        "first_meeting_place": "phone", "employer_took_part": "nej",
        "days_to_first_meeting": "29", "on_time": "ja", "intervention_kinds": "partial_return",
        "intervention_started_on": "2026-12-01", "full_time_from": "2027-01-05",
        "ended_on": "2027-01-10", "outcome": "recovered", "duration_days": "70",
        "next_follow_up_due": "", "next_follow_up_kind": ""}  # closed: no follow-up
    text = register_csv(rows)
    assert text.startswith("\ufeff") and "Mads" not in text and "secret" not in text
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert parsed[0] == [label for _, label in COLUMNS] and len(parsed) == 6
    for value in ("=x", "+x", "-x", "@x", "\tx", "\rx"):
        assert neutralised(value) == "'" + value
    assert neutralised("2026-11-02") == "2026-11-02"


async def test_register_route(demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        await _route_checks(api)


async def _route_checks(api: Api) -> None:
    get = api.client.get
    resp = await get("/api/register.csv?from=2026-11&to=2026-12", headers=api.auth("manager"))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert (await resp.text()).lstrip("\ufeff").startswith("Sags-id;Første fraværsdag;")
    resp = await get("/api/register.csv?from=2026-11", headers=api.auth("admin"))
    assert resp.status == 200
    assert (await get("/api/register.csv", headers=api.auth("consultant"))).status == 403
    for query, field in (("from=2026-13&to=2027-01", "from"), ("from=2027-01&to=2026-12", "to"),
                         ("from=2024-01&to=2027-01", "to"), ("from=2026-01&to=26", "to")):
        resp = await get(f"/api/register.csv?{query}", headers=api.auth("manager"))
        assert resp.status == 422, query
        assert (await resp.json())["errors"][0]["field"] == field, query
    resp = await get("/api/register.csv?from=2024-02&to=2027-01", headers=api.auth("manager"))
    assert resp.status == 200  # 36 months


async def test_dashboard_links_the_register_and_lists_corrections(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    async for api in start_api(demo_config, make_secrets(sqlite_url)):
        async with api.client.app[DB].write() as session:
            session.add(AuditEntry(municipality_id="demo", actor="consultant:anna",
                                   role="consultant", action="kpi.correction",
                                   details={"what": "meeting_held", "month": "2026-10",
                                            "held_at": "2026-10-30T10:00"}))
        async for staff in start_staff(api):
            await _dashboard_checks(staff)


async def _dashboard_checks(staff: Staff) -> None:
    manager = await staff.login("manager")
    resp, html = await manager.get("/dashboard")
    assert resp.status == 200
    link = re.search(r'id="register-download" href="([^"]+)"', html)
    assert link is not None and link.group(1).startswith("/dashboard/register.csv?from=")
    # the link works for the logged-in manager (not only with an API key)
    resp, text = await manager.get(link.group(1).replace("&amp;", "&"))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert text.lstrip("\ufeff").startswith("Sags-id;"), text[:80]
    assert "register-" in resp.headers["Content-Disposition"]
    resp, text = await manager.get("/dashboard/register.csv?from=2026-13")
    assert resp.status == 400 and "måned" in text.lower(), text
    # intake sees the dashboard, not the register (a manager's)
    intake = await staff.login("intake")
    resp, html = await intake.get("/dashboard")
    assert resp.status == 200 and "register-download" not in html
    resp, _ = await intake.get("/dashboard/register.csv")
    assert resp.status == 403
    assert "Indsats inden uge 13 efter slags" in html and "Delvis raskmelding" in html
    # Education is listed, marked as not counted; the workplace-oriented kinds are not marked.
    education = re.search(r'<tr id="indsats-education">(.*?)</tr>', html, flags=re.S)
    assert education is not None
    assert "tæller ikke med (ikke virksomhedsrettet)" in education.group(1)
    assert html.count("tæller ikke med (ikke virksomhedsrettet)") == 1
    assert "Rettelser til afsluttede måneder" in html
    assert "2026-10" in html and "Samtale registreret som holdt" in html
    assert "30. okt. 2026" in html and "anna (konsulent)" in html
