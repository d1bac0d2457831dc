"""Consultants' tasks over HTTP."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel

from service.keys import TASKS
from service.platform.errors import Invalid
from service.platform.http import json_response, require, row_id, text_problem
from service.platform.openapi import Operation, document


class TaskOut(BaseModel):
    id: int
    consultant_id: str
    case_id: str
    kind: str
    text: str
    created_at: datetime
    done_at: datetime | None
    due_on: date | None = None


class TaskList(BaseModel):
    tasks: list[TaskOut]


async def list_tasks(request: web.Request) -> web.Response:
    """A consultant sees their own tasks; intake, managers and admins see everyone's."""
    principal = await require(request, "consultant", "intake", "manager")
    consultant_id = request.query.get("consultant_id")
    problem = text_problem(consultant_id) if consultant_id is not None else None
    if problem:
        raise Invalid.field("consultant_id", problem, "not_storable")
    tasks = await request.app[TASKS].list(principal, request.query.get("state", "open"),
                                          consultant_id)
    return json_response({"tasks": tasks})


async def mark_done(request: web.Request) -> web.Response:
    principal = await require(request, "consultant", "intake", "manager")
    task_id = row_id(request.match_info["task_id"], "task")
    return json_response(await request.app[TASKS].mark_done(task_id, principal))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/tasks", list_tasks, name="tasks_list")
    app.router.add_post("/api/tasks/{task_id}/done", mark_done, name="task_done")


document(
    Operation("get", "/api/tasks", "Consultants' tasks (a consultant sees their own)",
              roles=("consultant", "intake", "manager"), responses={200: TaskList},
              query={"state": ("string", ("open", "done", "all")),
                     "consultant_id": ("string", None)}),
    Operation("post", "/api/tasks/{task_id}/done", "Mark a task done",
              roles=("consultant", "intake", "manager"), responses={200: TaskOut}),
)
