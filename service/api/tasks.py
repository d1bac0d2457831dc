"""Consultants' tasks: what the email flow asks a person to do (call an employer without an
email address, look at an employer's wishes for other times, note a decline, …)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from service import audit
from service.api.openapi import Operation, document
from service.app import CONFIG
from service.db.models import Case, Consultant, ConsultantTask
from service.http import DB, ApiError, field_error_response, require
from service.outbox import as_utc
from service.timeutil import utcnow


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


def _out(task: ConsultantTask, consultant: str, case: str) -> dict[str, Any]:
    return {"id": task.id, "consultant_id": consultant, "case_id": case, "kind": task.kind,
            "text": task.text, "created_at": as_utc(task.created_at).isoformat(),
            "done_at": as_utc(task.done_at).isoformat() if task.done_at else None}


async def list_tasks(request: web.Request) -> web.Response:
    """A consultant sees their own tasks; intake, managers and admins see everyone's."""
    principal = await require(request, "consultant", "intake", "manager")
    state = request.query.get("state", "open")
    if state not in ("open", "done", "all"):
        raise field_error_response([{"field": "state", "message": "must be open, done or all"}])
    query = (select(ConsultantTask, Consultant.key, Case.case_ref)
             .join(Consultant, Consultant.id == ConsultantTask.consultant_id)
             .join(Case, Case.id == ConsultantTask.case_id)
             .where(ConsultantTask.municipality_id == request.app[CONFIG].municipality.id))
    if principal.role == "consultant":
        query = query.where(Consultant.key == principal.consultant_key)
    elif "consultant_id" in request.query:
        query = query.where(Consultant.key == request.query["consultant_id"])
    if state == "open":
        query = query.where(ConsultantTask.done_at.is_(None))
    elif state == "done":
        query = query.where(ConsultantTask.done_at.is_not(None))
    async with request.app[DB].read() as session:
        rows = (await session.execute(query.order_by(ConsultantTask.id.desc()).limit(500))).all()
    return web.json_response({"tasks": [_out(task, key, ref) for task, key, ref in rows]})


async def mark_done(request: web.Request) -> web.Response:
    principal = await require(request, "consultant", "intake", "manager")
    try:
        task_id = int(request.match_info["task_id"])
    except ValueError:
        raise ApiError(404, "no such task") from None
    async with request.app[DB].write() as session:
        row = (await session.execute(
            select(ConsultantTask, Consultant.key, Case.case_ref)
            .join(Consultant, Consultant.id == ConsultantTask.consultant_id)
            .join(Case, Case.id == ConsultantTask.case_id)
            .where(ConsultantTask.id == task_id,
                   ConsultantTask.municipality_id == request.app[CONFIG].municipality.id))
        ).first()
        if row is None:
            raise ApiError(404, "no such task")
        task, key, ref = row
        if principal.role == "consultant" and key != principal.consultant_key:
            raise ApiError(403, "this task belongs to another consultant")
        if task.done_at is None:
            task.done_at = utcnow()
            audit.record(session, principal, task.municipality_id, "task.done", task.case_id,
                         {"task_id": task.id, "kind": task.kind})
        out = _out(task, key, ref)
    return web.json_response(out)


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
