"""The months' figures as first reported, and what changed since.

A manager reports a month's figures (to STAR, to the city council) once the month has ended.
They can still move: a case registered after its month, a meeting or an intervention
registered late, a closing dated back, a case decided anew. Once a month is final — it has
ended and no case of it can still reach intake (`MonthKpis.cases_arriving`: up to absence
week 7 of its last day) — the daily job `report_kpis` keeps its figures as they stand
(`kpi_reports`, one row per month, never changed), and the dashboard names every figure that
differs from them now: the figure, as reported, as it is, and when it was reported.

Only counts and shares are kept (no case, no person): what the dashboard shows anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select

from service.clock import Clock
from service.kpis.figures import (
    FIGURE_BY_KEY,
    FIGURES,
    MAX_MONTHS,
    KpiService,
    MonthKpis,
    month_start,
    months_between,
)
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import KpiReport

_REPORTS = KpiReport.__table__
# Shares are compared to this many decimals (0.1 percentage point shows on the page).
_SHARE_DIGITS = 4


@dataclass(frozen=True)
class ReportedChange:
    """A figure of an ended month that differs from what was reported."""

    month: date
    key: str
    label: str
    reported: int | float | None
    now: int | float | None
    reported_at: datetime


class KpiReports:
    """Keeps each final month's figures once, and compares the figures with them."""

    def __init__(self, db: Database, clock: Clock, kpis: KpiService,
                 municipality: str) -> None:
        self.db = db
        self.clock = clock
        self.kpis = kpis
        self.municipality = municipality

    async def report_final_months(self) -> int:
        """The `report_kpis` job: keep the figures of every final month not kept yet (the
        first run keeps every final month since the first case). Idempotent: a month is
        kept once. Returns how many months it kept."""
        first = await self.kpis.first_month()
        if first is None:
            return 0
        last = month_start(self.clock.today())
        async with self.db.read() as session:
            kept = set((await session.execute(select(KpiReport.month).where(
                KpiReport.municipality_id == self.municipality))).scalars())
        months = [m for m in months_between(first, last) if m not in kept]
        final: list[MonthKpis] = []
        for start in range(0, len(months), MAX_MONTHS):
            chunk = months[start:start + MAX_MONTHS]
            final += [m for m in await self.kpis.monthly(chunk[0], chunk[-1])
                      if m.month in chunk and m.month < last and not m.cases_arriving]
        if not final:
            return 0
        now = self.clock.utcnow()
        async with self.db.write() as session:
            # (under the write lock: a second worker's run finds them kept)
            kept = set((await session.execute(select(KpiReport.month).where(
                KpiReport.municipality_id == self.municipality))).scalars())
            rows = [{"municipality_id": self.municipality, "month": m.month,
                     "figures": _figures(m), "reported_at": now}
                    for m in final if m.month not in kept]
            if rows:
                await session.execute(insert(_REPORTS), rows)
        return len(rows)

    async def changes(self, months: list[MonthKpis]) -> list[ReportedChange]:
        """Every figure of these months that differs from its report, month by month in the
        order of the figures."""
        if not months:
            return []
        async with self.db.read() as session:
            reports = {row.month: row for row in (await session.execute(select(
                KpiReport.month, KpiReport.figures, KpiReport.reported_at).where(
                KpiReport.municipality_id == self.municipality,
                KpiReport.month.in_([m.month for m in months])))).all()}
        out: list[ReportedChange] = []
        for month in months:
            report = reports.get(month.month)
            if report is None:
                continue
            now = _figures(month)
            for key, value in now.items():
                if key in report.figures and report.figures[key] != value:
                    out.append(ReportedChange(month.month, key, FIGURE_BY_KEY[key].label,
                                              report.figures[key], value,
                                              as_utc(report.reported_at)))
        return out


def _figures(month: MonthKpis) -> dict[str, int | float | None]:
    """A month's figures as kept: every figure of the dashboard, shares rounded."""
    out: dict[str, int | float | None] = {}
    for figure in FIGURES:
        value = month.value(figure.key)
        out[figure.key] = round(value, _SHARE_DIGITS) if isinstance(value, float) else value
    return out
