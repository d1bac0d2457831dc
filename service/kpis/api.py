"""The model's figures as JSON: `GET /api/kpis?from=YYYY-MM&to=YYYY-MM` (managers, admins)."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel

from service.keys import CLOCK, KPIS
from service.kpis.figures import MAX_MONTHS
from service.kpis.report import report, requested_range
from service.platform.http import json_response, require
from service.platform.openapi import Operation, document

# A month as `from`/`to` take it (service.kpis.report.parse_month): 2000-01 to 2099-12.
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


class MilestoneOut(BaseModel):
    month: str
    workplace_first_meeting_share: float
    intervention_before_week13_share: float | None
    first_meeting_before_week8_share: float | None


class MonthOut(BaseModel):
    """One month's figures; a month that has not begun (`future`) has its milestone and null
    figures."""

    month: str
    future: bool
    target_cases: int | None
    first_meetings: int | None
    first_meetings_workplace: int | None
    first_meetings_jobcentre: int | None
    first_meetings_phone: int | None
    workplace_share: float | None
    employer_took_part: int | None
    employer_share: float | None
    before_week8: int | None
    before_week8_share: float | None
    late_over_3_weeks: int | None
    late_over_3_weeks_share: float | None
    median_days_to_first_meeting: float | None
    week8_ended: int | None
    week8_missed: int | None
    week13_ended: int | None
    intervention_before_week13: int | None
    intervention_share: float | None
    milestone: MilestoneOut | None


class FigureOut(BaseModel):
    key: str
    label: str
    explanation: str


class LoadOut(BaseModel):
    consultant_id: str
    name: str
    team: str
    open_cases: int
    capacity: int
    share: float | None


class AtRiskOut(BaseModel):
    case_id: str
    consultant_id: str | None
    consultant_name: str | None
    deadline: date
    days_left: int
    meeting: str | None


class KpiReport(BaseModel):
    from_month: str
    to_month: str
    workplace_goal: float
    figures: list[FigureOut]
    months: list[MonthOut]
    consultants: list[LoadOut]
    consultants_explanation: str
    at_risk: list[AtRiskOut]
    at_risk_explanation: str


async def get_kpis(request: web.Request) -> web.Response:
    await require(request, "manager")
    first, last = await requested_range(request.app[KPIS], request.query,
                                        request.app[CLOCK].today())
    return json_response(await report(request.app[KPIS], first, last))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/kpis", get_kpis, name="kpis")


document(
    Operation("get", "/api/kpis", "The model's figures per month against the milestones, "
              "consultants' load and cases at risk (from, to: YYYY-MM; default up to this "
              "month, or the next milestone within 3 months, from 11 months back or the first "
              "month with a case)",
              roles=("manager",), responses={200: KpiReport},
              query={"from": ("string", None), "to": ("string", None)},
              patterns={"from": MONTH_PATTERN, "to": MONTH_PATTERN},
              rules={"to": f"not before from, at most {MAX_MONTHS} months from it"}),
)
