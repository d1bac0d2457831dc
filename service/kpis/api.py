"""The model's figures as JSON: `GET /api/kpis?from=YYYY-MM&to=YYYY-MM` (managers, admins)."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel

from service.keys import CLOCK, KPIS
from service.kpis.report import month_range, report
from service.platform.http import json_response, require
from service.platform.openapi import Operation, document


class MilestoneOut(BaseModel):
    month: str
    workplace_first_meeting_share: float
    intervention_before_week13_share: float | None
    first_meeting_before_week8_share: float | None


class MonthOut(BaseModel):
    month: str
    target_cases: int
    first_meetings: int
    first_meetings_workplace: int
    first_meetings_jobcentre: int
    first_meetings_phone: int
    workplace_share: float | None
    employer_took_part: int
    employer_share: float | None
    before_week8: int
    before_week8_share: float | None
    late_over_3_weeks: int
    late_over_3_weeks_share: float | None
    median_days_to_first_meeting: float | None
    week8_ended: int
    week8_missed: int
    week13_ended: int
    intervention_before_week13: int
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
    first, last = month_range(request.query, request.app[CLOCK].today())
    return json_response(await report(request.app[KPIS], first, last))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/kpis", get_kpis, name="kpis")


document(
    Operation("get", "/api/kpis", "The model's figures per month against the milestones, "
              "consultants' load and cases at risk (from, to: YYYY-MM; default the last 12 "
              "months)",
              roles=("manager",), responses={200: KpiReport},
              query={"from": ("string", None), "to": ("string", None)}),
)
