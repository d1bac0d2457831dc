"""The months' figures as first reported (`kpi_reports`) and what changed since: a final
month (ended, no case of it can still reach intake) is kept once; a change afterwards — here
a case registered late — is named figure by figure (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from service.clock import SettableClock
from service.kpis.figures import KpiService
from service.kpis.reports import KpiReports
from service.platform.db.models import Case, KpiReport
from tests.kpis.test_figures import DEC, JAN, NOV, kpis  # noqa: F401 (the fixture)

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


async def test_final_months_are_kept_once_and_later_changes_named(
        kpis: KpiService) -> None:  # noqa: F811
    reports = KpiReports(kpis.db, kpis.clock, kpis, "demo")
    # Today 2027-01-20: September to November are final; December's cases may still arrive
    # (until absence week 7 of 12-31 ends, 2027-02-17); January runs.
    assert await reports.report_final_months() == 3
    assert await reports.report_final_months() == 0
    async with kpis.db.read() as session:
        kept = list((await session.execute(select(KpiReport.month).order_by(
            KpiReport.month))).scalars())
    assert kept == [SEP, OCT, NOV]
    months = await kpis.monthly(SEP, JAN)
    assert await reports.changes(months) == []

    # A November case registered now, long after its month: November's target cases move.
    async with kpis.db.write() as session:
        absence = date(2026, 11, 12)
        session.add(Case(municipality_id="demo", case_ref="late", as_of=absence,
                         facts={"case_id": "late", "first_absence_day": absence.isoformat()},
                         status="target", follow_up="workplace_meeting",
                         first_meeting_deadline=absence + timedelta(days=55),
                         intervention_deadline=absence + timedelta(days=90)))
    months = await kpis.monthly(SEP, JAN)
    november = next(m for m in months if m.month == NOV)
    changes = await reports.changes(months)
    assert {(c.month, c.key) for c in changes} >= {(NOV, "target_cases")}
    change = next(c for c in changes if c.key == "target_cases")
    assert (change.reported, change.now) == (november.target_cases - 1, november.target_cases)
    assert change.label == "Nye målgruppesager"
    assert all(c.month == NOV for c in changes)
    # December becomes final in February: kept then, as it stands.
    assert isinstance(kpis.clock, SettableClock)
    kpis.clock.set(datetime(2027, 2, 18, 10, 0))
    assert await reports.report_final_months() == 1
    async with kpis.db.read() as session:
        assert (await session.execute(select(func.count(KpiReport.id)))).scalar_one() == 4
        assert (await session.execute(select(func.max(KpiReport.month)))).scalar_one() == DEC
