"""What the dashboard, its CSV and `GET /api/kpis` show, as plain data, and the month range
of a request (`from`/`to` as YYYY-MM)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from service.config import Milestone
from service.kpis.figures import (
    AT_RISK_EXPLANATION,
    FIGURES,
    LOAD_EXPLANATION,
    MAX_MONTHS,
    OVERDUE_EXPLANATION,
    WORKPLACE_GOAL,
    KpiService,
    month_start,
)
from service.platform.errors import Invalid

_MONTH = re.compile(r"(?P<year>20[0-9]{2})-(?P<month>0[1-9]|1[0-2])")
# Without `from`: this many months up to `to`.
DEFAULT_MONTHS = 12
# A milestone this many months ahead extends the default range to it.
UPCOMING_MONTHS = 3


def parse_month(raw: str, field: str) -> date:
    """'2026-11' -> 2026-11-01; anything else is a 422 naming the field."""
    match = _MONTH.fullmatch(raw)
    if match is None:
        raise Invalid.field(field, "must be a month as YYYY-MM from 2000-01 to 2099-12 "
                                   "(e.g. 2026-11)", "month_format")
    return date(int(match["year"]), int(match["month"]), 1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def default_range(today: date, earliest: date | None, milestones: list[Milestone]
                  ) -> tuple[date, date]:
    """The months shown when none are asked for: up to this month — or to the next milestone
    if one comes within 3 months, so the target ahead is in sight — and from 11 months
    before this month, or from the first month with a case if that is later."""
    current = month_start(today)
    ahead = [parse_month(m.month, "milestones") for m in milestones]
    last = max([m for m in ahead if current < m <= add_months(current, UPCOMING_MONTHS)]
               + [current])
    first = add_months(current, 1 - DEFAULT_MONTHS)
    if earliest is not None and first < earliest <= current:
        first = earliest
    return first, last


def month_range(query: Mapping[str, str], default: tuple[date, date]) -> tuple[date, date]:
    """`from` and `to` of the query (YYYY-MM). Without either, `default`; with `to` only,
    the 12 months up to it; with `from` only, up to the default end (or `from` itself)."""
    first_default, last_default = default
    first = parse_month(query["from"], "from") if "from" in query else None
    last = parse_month(query["to"], "to") if "to" in query else None
    if last is None:
        last = max(last_default, first) if first is not None else last_default
    if first is None:
        first = add_months(last, 1 - DEFAULT_MONTHS) if "to" in query else first_default
    if first > last:
        raise Invalid.field("to", "must not be before from", "before_from")
    if add_months(first, MAX_MONTHS - 1) < last:
        raise Invalid.field("to", f"at most {MAX_MONTHS} months at a time", "too_many_months",
                            {"max": MAX_MONTHS})
    return first, last


async def requested_range(kpis: KpiService, query: Mapping[str, str], today: date
                          ) -> tuple[date, date]:
    """The months a request asks for (query `from`/`to`), defaults from the data."""
    default = default_range(today, await kpis.first_month(), kpis.config.milestones)
    return month_range(query, default)


async def report(kpis: KpiService, first: date, last: date, per_consultant: bool = True
                 ) -> dict[str, Any]:
    """Everything the dashboard shows, as plain data (JSON and the page share it);
    `per_consultant`: the outcome figures per consultant too (managers only)."""
    months = await kpis.monthly(first, last)
    outcomes = await kpis.outcomes(first, last)
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
        "overdue_follow_ups": [case.to_dict() for case in await kpis.overdue_follow_ups()],
        "overdue_follow_ups_explanation": OVERDUE_EXPLANATION,
        "outcomes": outcomes.to_dict(per_consultant),
    }
