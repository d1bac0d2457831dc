"""Consultants' tasks: what the service asks a person to do (call an employer without an
email address, look at an employer's wishes for other times, note a decline, …), listed and
marked done by people. The meetings write them (`service.meetings.tasks`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.clock import Clock
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, ConsultantTask
from service.platform.errors import Forbidden, Invalid, NotFound

STATES = ("open", "done", "all")


def task_out(task: ConsultantTask, consultant: str, case: str) -> dict[str, Any]:
    return {"id": task.id, "consultant_id": consultant, "case_id": case, "kind": task.kind,
            "text": task.text, "created_at": as_utc(task.created_at).isoformat(),
            "done_at": as_utc(task.done_at).isoformat() if task.done_at else None,
            "due_on": task.due_on.isoformat() if task.due_on else None}


class TaskService:
    """A consultant sees and closes their own tasks; intake and managers everyone's."""

    def __init__(self, db: Database, clock: Clock, municipality_id: str) -> None:
        self.db = db
        self.clock = clock
        self.municipality_id = municipality_id

    def _query(self) -> Any:
        return (select(ConsultantTask, Consultant.key, Case.case_ref)
                .join(Consultant, Consultant.id == ConsultantTask.consultant_id)
                .join(Case, Case.id == ConsultantTask.case_id)
                .where(ConsultantTask.municipality_id == self.municipality_id))

    async def list(self, principal: Principal, state: str = "open",
                   consultant_key: str | None = None) -> list[dict[str, Any]]:
        if state not in STATES:
            raise Invalid.field("state", "must be open, done or all", "not_one_of",
                                {"allowed": ", ".join(STATES)})
        query = self._query()
        if principal.role == "consultant":
            query = query.where(Consultant.key == principal.consultant_key)
        elif consultant_key is not None:
            query = query.where(Consultant.key == consultant_key)
        if state == "open":
            query = query.where(ConsultantTask.done_at.is_(None))
        elif state == "done":
            query = query.where(ConsultantTask.done_at.is_not(None))
        async with self.db.read() as session:
            rows = (await session.execute(query.order_by(ConsultantTask.id.desc()).limit(500))
                    ).all()
        return [task_out(task, key, ref) for task, key, ref in rows]

    async def mark_done(self, task_id: int, principal: Principal,
                        case_ref: str | None = None) -> dict[str, Any]:
        """Mark the task done (again: nothing changes); `case_ref`: it must be that case's."""
        async with self.db.write() as session:
            row = (await session.execute(self._query().where(ConsultantTask.id == task_id))
                   ).first()
            if row is None or (case_ref is not None and row[2] != case_ref):
                raise NotFound("no such task", "task_not_found")
            task, key, ref = row
            if principal.role == "consultant" and key != principal.consultant_key:
                raise Forbidden("this task belongs to another consultant", "task_of_another")
            if task.done_at is None:
                task.done_at = self.clock.utcnow()
                audit.record(session, principal, task.municipality_id, "task.done",
                             task.case_id, {"task_id": task.id, "kind": task.kind})
            return task_out(task, key, ref)
