"""Planning endpoints: run the planner now, and see recent runs."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from service.keys import CONFIG, JOBS, PLANNER
from service.planning.service import PlanOutcome
from service.platform.http import json_response, require
from service.platform.jobqueue import PLAN
from service.platform.openapi import Operation, document


class PlanningRunOut(BaseModel):
    id: int
    started_at: datetime
    trigger: str
    solver: str
    status: str
    metrics: dict[str, object]
    error: str | None


class PlanningOutcomeOut(BaseModel):
    solver: str
    status: str
    metrics: dict[str, object]
    error: str | None


class PlanningRunList(BaseModel):
    runs: list[PlanningRunOut]


async def run_now(request: web.Request) -> web.Response:
    await require(request, "manager", "intake")
    # Through the job runner: never at the same time as a run it is doing.
    outcome = await request.app[JOBS].run_now(PLAN, request.app[CONFIG].municipality.id,
                                              "manual")
    if not isinstance(outcome, PlanOutcome):
        # Run by a worker of the job queue: its outcome is the run it recorded.
        last = (await request.app[PLANNER].recent_runs(1))[0]
        outcome = PlanOutcome(last["solver"], last["status"], last["metrics"] or {},
                              last["error"])
    return json_response({"solver": outcome.solver, "status": outcome.status,
                              "metrics": outcome.metrics, "error": outcome.fallback_error})


async def list_runs(request: web.Request) -> web.Response:
    await require(request, "manager", "intake")
    return json_response({"runs": await request.app[PLANNER].recent_runs()})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/planning/run", run_now, name="planning_run")
    app.router.add_get("/api/planning/runs", list_runs, name="planning_runs")


document(
    Operation("post", "/api/planning/run", "Plan now (assign owners, propose meetings)",
              roles=("manager", "intake"), responses={200: PlanningOutcomeOut}),
    Operation("get", "/api/planning/runs", "The last 50 planning runs",
              roles=("manager", "intake"), responses={200: PlanningRunList}),
)
