"""Planning endpoints: run the planner now, and see recent runs."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from service.api.openapi import Operation, document
from service.app import CONFIG
from service.db.models import PlanningRun
from service.http import DB, require
from service.planning import PLANNER


class PlanningRunOut(BaseModel):
    id: int
    started_at: str
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


def _run_out(run: PlanningRun) -> dict[str, object]:
    return {"id": run.id, "started_at": run.started_at.isoformat(), "trigger": run.trigger,
            "solver": run.solver, "status": run.status, "metrics": run.metrics,
            "error": run.error}


async def run_now(request: web.Request) -> web.Response:
    await require(request, "manager", "intake")
    planner = request.app[PLANNER]
    await planner.wait_idle(timeout=600)
    outcome = await planner.run_once("manual")
    return web.json_response({"solver": outcome.solver, "status": outcome.status,
                              "metrics": outcome.metrics, "error": outcome.fallback_error})


async def list_runs(request: web.Request) -> web.Response:
    await require(request, "manager", "intake")
    async with request.app[DB].read() as session:
        runs = (await session.execute(select(PlanningRun).where(
            PlanningRun.municipality_id == request.app[CONFIG].municipality.id)
            .order_by(PlanningRun.id.desc()).limit(50))).scalars().all()
    return web.json_response({"runs": [_run_out(r) for r in runs]})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/planning/run", run_now, name="planning_run")
    app.router.add_get("/api/planning/runs", list_runs, name="planning_runs")


document(
    Operation("post", "/api/planning/run", "Plan now (assign owners, propose meetings)",
              roles=("manager", "intake"), responses={200: PlanningOutcomeOut}),
    Operation("get", "/api/planning/runs", "The last 50 planning runs",
              roles=("manager", "intake"), responses={200: PlanningRunList}),
)
