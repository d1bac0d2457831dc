"""The model's figures as JSON: `GET /api/kpis?from=YYYY-MM&to=YYYY-MM` (managers, admins),
and the register, one row per case: `GET /api/register.csv?from=YYYY-MM&to=YYYY-MM`."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel, Field

from service.keys import CLOCK, KPIS, READ_AUDIT
from service.kpis.figures import MAX_MONTHS
from service.kpis.register import MAX_REGISTER_MONTHS, Register, register_csv
from service.kpis.report import add_months, report, requested_range
from service.platform.auth import Principal
from service.platform.errors import Invalid
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
    cases_arriving: bool = Field(
        default=False, description="cases whose absence began in the month may still reach "
        "intake (their absence week 7 has not ended): the figures counted by the month of "
        "the first absence day (target_cases, handed_over_*) still grow")
    target_cases: int | None
    first_meetings: int | None
    first_meetings_workplace: int | None
    first_meetings_jobcentre: int | None
    first_meetings_phone: int | None
    model_first_meetings: int | None = Field(
        default=None, description="the model's population: target first meetings plus the "
        "excluded cases' (one without a held meeting counts, not at the workplace, in the "
        "month its week 8 ended)")
    model_first_meetings_workplace: int | None = None
    model_workplace_share: float | None = Field(
        default=None, description="the model's 70 % figure (of sickness-benefit recipients "
        "from employment in visitation categories 2 and 3, excluded cases included); "
        "workplace_share is the target group's only")
    workplace_share: float | None
    employer_took_part: int | None
    employer_share: float | None
    before_week8: int | None
    before_week8_share: float | None
    late_over_3_weeks: int | None
    late_over_3_weeks_share: float | None
    median_days_to_first_meeting: float | None
    handed_over_known: int | None = Field(
        default=None, description="the month's target cases with a hand-over date")
    handed_over_late: int | None = Field(
        default=None, description="of them: handed over after absence week 7")
    handed_over_late_share: float | None = None
    week8_ended: int | None
    week8_missed: int | None
    week8_met_share: float | None = Field(
        default=None, description="of the target cases whose week 8 ended in the month: those "
        "with a held first meeting by then ((week8_ended - week8_missed) / week8_ended; cases "
        "never met are in it). before_week8_share is of the month's first meetings instead")
    week13_ended: int | None
    intervention_before_week13: int | None = Field(
        description="of week13_ended: with a workplace-oriented intervention (every kind but "
        "education) started by the end of week 13")
    intervention_share: float | None = Field(description="the target group's only")
    model_week13_ended: int | None = Field(
        default=None, description="the model's population (excluded cases in, as the national "
        "benchmark counts): cases whose week 13 ended in the month, not closed before it")
    model_intervention_before_week13: int | None = Field(
        default=None, description="of them: with a workplace-oriented intervention started by "
        "the end of week 13")
    model_intervention_share: float | None = Field(
        default=None, description="the model's week-13 figure, measured against the national "
        "benchmark + 10 points (intervention_milestone)")
    benchmark_intervention_share: float | None = Field(
        default=None, description="the national benchmark population's share in force this "
        "month (configuration `[benchmark]`; an assumption until the municipality sets STAR's "
        "figure)")
    intervention_milestone: float | None = Field(
        default=None, description="the week-13 figures' milestone: the benchmark share + its "
        "points above (0.10), else the configured milestone's")
    employer_declines: int | None = Field(
        default=None, description="employers' \"cannot be held at the workplace\" in the "
        "month (by the day they declined)")
    declines_restored: int | None = Field(
        default=None, description="of them: turned around by the consultant (the workplace "
        "meeting restored within the grace)")
    intervention_kinds: dict[str, int] | None = Field(
        default=None, description="of week13_ended (the target group's): cases by the kind "
        "of intervention started by the end of week 13 (a case with two kinds under both); "
        "every kind but education is workplace-oriented and counted in "
        "intervention_before_week13, education is listed but not counted")
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


class OverdueFollowUpOut(BaseModel):
    case_id: str
    consultant_id: str | None
    consultant_name: str | None
    due: date
    days_over: int
    kind: str | None
    meeting_start: str | None = Field(description="local wall-clock time of the meeting "
                                      "planned for it (YYYY-MM-DDTHH:MM), if any")
    meeting_kind: str | None
    meeting_status: str | None


class PlaceDurationOut(BaseModel):
    place: str
    cases: int
    median_days: float | None


class BackAtWorkOut(BaseModel):
    week: int = Field(description="13 or 26")
    cases: int = Field(description="the cohort's cases whose week has ended")
    partly: int = Field(description="partly back: a partial return running at the week's end "
                        "(started by then, not ended before it) in a case not closed by then")
    fully: int = Field(description="fully back: closed as recovered by the week's end")
    partly_share: float | None
    fully_share: float | None
    back_share: float | None = Field(description="partly or fully")


class ConsultantOutcomesOut(BaseModel):
    consultant_id: str
    name: str
    durations: list[PlaceDurationOut]
    back_at_work: list[BackAtWorkOut]


class OutcomesOut(BaseModel):
    """What became of the target cases whose first absence day lies in the months (README,
    "Dashboard"): median duration by the place of the first meeting, share back at work by
    week 13 and 26, and the same per consultant."""

    durations: list[PlaceDurationOut]
    back_at_work: list[BackAtWorkOut]
    duration_explanation: str
    back_explanation: str
    consultants: list[ConsultantOutcomesOut] | None


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
    overdue_follow_ups: list[OverdueFollowUpOut]
    overdue_follow_ups_explanation: str
    outcomes: OutcomesOut


async def get_kpis(request: web.Request) -> web.Response:
    await require(request, "manager")
    first, last = await requested_range(request.app[KPIS], request.query,
                                        request.app[CLOCK].today())
    return json_response(await report(request.app[KPIS], first, last))


async def get_register(request: web.Request) -> web.Response:
    """The register as CSV (a read of the cases it lists: in the audit log)."""
    return await register_response(request, await require(request, "manager"))


async def register_response(request: web.Request, principal: Principal) -> web.Response:
    """The register of the months the query asks for, as a CSV download, audited: the API's
    and the dashboard's "Hent registeret" (`/dashboard/register.csv`). Raises `Invalid`
    naming `from` or `to`."""
    kpis = request.app[KPIS]
    first, last = await requested_range(kpis, request.query, request.app[CLOCK].today())
    if add_months(first, MAX_REGISTER_MONTHS - 1) < last:
        raise Invalid.field("to", f"at most {MAX_REGISTER_MONTHS} months at a time",
                            "too_many_months", {"max": MAX_REGISTER_MONTHS})
    rows = await Register(kpis.db, kpis.clock, kpis.municipality).rows(first, last)
    await request.app[READ_AUDIT].record(principal, kpis.municipality, "case.list", None, {
        "page": "register", "from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}",
        "count": len(rows)})
    name = f"register-{first:%Y-%m}-{last:%Y-%m}.csv"
    return web.Response(body=register_csv(rows).encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/kpis", get_kpis, name="kpis")
    app.router.add_get("/api/register.csv", get_register, name="register_csv")


document(
    Operation("get", "/api/kpis", "The model's figures per month against the milestones, "
              "consultants' load and cases at risk (from, to: YYYY-MM; default up to this "
              "month, or the next milestone within 3 months, from 11 months back or the first "
              "month with a case)",
              roles=("manager",), responses={200: KpiReport},
              query={"from": ("string", None), "to": ("string", None)},
              patterns={"from": MONTH_PATTERN, "to": MONTH_PATTERN},
              rules={"to": f"not before from, at most {MAX_MONTHS} months from it"}),
    Operation("get", "/api/register.csv", "The register: one row per case whose first "
              "absence day lies in the months (from, to: YYYY-MM; defaults as /api/kpis), "
              "`;`-separated with a decimal comma; no CPR, names or health data; a cell a "
              "spreadsheet would read as a formula starts with '. Columns: README, 'The "
              "register'",
              roles=("manager",), files={200: ("text/csv", "the register (UTF-8 with BOM)")},
              query={"from": ("string", None), "to": ("string", None)},
              patterns={"from": MONTH_PATTERN, "to": MONTH_PATTERN},
              rules={"to": f"not before from, at most {MAX_REGISTER_MONTHS} months from it"}),
)
