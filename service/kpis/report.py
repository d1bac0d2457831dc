"""What the dashboard, its CSV and `GET /api/kpis` show, as plain data, and the month range
of a request (`from`/`to` as YYYY-MM)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from service.kpis.figures import (
    AT_RISK_EXPLANATION,
    FIGURES,
    LOAD_EXPLANATION,
    MAX_MONTHS,
    WORKPLACE_GOAL,
    KpiService,
    month_start,
)
from service.platform.errors import Invalid

_MONTH = re.compile(r"(?P<year>20[0-9]{2})-(?P<month>0[1-9]|1[0-2])")
# Without `from`: this many months up to `to`.
DEFAULT_MONTHS = 12


def parse_month(raw: str, field: str) -> date:
    """'2026-11' -> 2026-11-01; anything else is a 422 naming the field."""
    match = _MONTH.fullmatch(raw)
    if match is None:
        raise Invalid.field(field, "must be a month as YYYY-MM from 2000-01 to 2099-12 "
                                   "(e.g. 2026-11)")
    return date(int(match["year"]), int(match["month"]), 1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_range(query: Mapping[str, str], today: date) -> tuple[date, date]:
    """`from` and `to` of the query (YYYY-MM); `to` defaults to this month, `from` to 11
    months before `to`."""
    to = parse_month(query["to"], "to") if "to" in query else month_start(today)
    first = (parse_month(query["from"], "from") if "from" in query
             else add_months(to, 1 - DEFAULT_MONTHS))
    if first > to:
        raise Invalid.field("to", "must not be before from")
    if add_months(first, MAX_MONTHS - 1) < to:
        raise Invalid.field("to", f"at most {MAX_MONTHS} months at a time")
    return first, to


async def report(kpis: KpiService, first: date, last: date) -> dict[str, Any]:
    """Everything the dashboard shows, as plain data (JSON and the page share it)."""
    months = await kpis.monthly(first, last)
    return {
        "from_month": f"{first:%Y-%m}", "to_month": f"{last:%Y-%m}",
        "workplace_goal": WORKPLACE_GOAL,
        "figures": [{"key": f.key, "label": f.label, "explanation": f.explanation}
                    for f in FIGURES],
        "months": [m.to_dict() for m in months],
        "consultants": [load.to_dict() for load in await kpis.load()],
        "consultants_explanation": LOAD_EXPLANATION,
        "at_risk": [case.to_dict() for case in await kpis.at_risk()],
        "at_risk_explanation": AT_RISK_EXPLANATION,
    }
