"""Consultants' tasks over HTTP."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from service.keys import TASKS
from service.platform.errors import NotFound
from service.platform.http import json_response, require
from service.platform.openapi import Operation, document


class TaskOut(BaseModel):
    id: int
    consultant_id: str
    case_id: str
    kind: str
    text: str
    created_at: str
    done_at: str | None


class TaskList(BaseModel):
    tasks: list[TaskOut]


async def list_tasks(request: web.Request) -> web.Response:
    """A consultant sees their own tasks; intake, managers and admins see everyone's."""
    principal = await require(request, "consultant", "intake", "manager")
    tasks = await request.app[TASKS].list(principal, request.query.get("state", "open"),
                                          request.query.get("consultant_id"))
    return json_response({"tasks": tasks})


async def mark_done(request: web.Request) -> web.Response:
    principal = await require(request, "consultant", "intake", "manager")
    raw = request.match_info["task_id"]
    if not raw.isdigit():
        raise NotFound("no such task")
    return json_response(await request.app[TASKS].mark_done(int(raw), principal))


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
