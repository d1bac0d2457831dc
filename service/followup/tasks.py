"""Consultants' tasks: what the service asks a person to do (call an employer without an
email address, look at an employer's wishes for other times, note a decline, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Consultant, ConsultantTask, Meeting
from service.platform.errors import Forbidden, Invalid, NotFound

STATES = ("open", "done", "all")
# Tasks about the case's current meeting (its time, its invitation): done by themselves when
# that meeting is cancelled or moved (a case has one active meeting at a time). Tasks about
# what happened (the employer cancelled, asked for other times, declined) stay.
ABOUT_THE_MEETING = ("meeting_confirmed", "invitation_failed", "employer_contact_missing")


def add_task(session: AsyncSession, meeting: Meeting, kind: str, text: str) -> None:
    """A task for the meeting's consultant about its case, in the caller's transaction."""
    session.add(ConsultantTask(municipality_id=meeting.municipality_id,
                               consultant_id=meeting.consultant_id, case_id=meeting.case_id,
                               kind=kind, text=text))


async def add_task_once(session: AsyncSession, meeting: Meeting, kind: str, text: str) -> None:
    """A task that re-planning must not repeat while the same one is still open."""
    open_task = (await session.execute(select(ConsultantTask.id).where(
        ConsultantTask.case_id == meeting.case_id, ConsultantTask.kind == kind,
        ConsultantTask.done_at.is_(None)).limit(1))).first()
    if open_task is None:
        add_task(session, meeting, kind, text)


async def close_tasks(session: AsyncSession, case_id: int, kinds: tuple[str, ...],
                      done_at: datetime) -> None:
    """The case's open tasks of these kinds are done: what they asked for has happened."""
    await session.execute(update(ConsultantTask).where(
        ConsultantTask.case_id == case_id, ConsultantTask.kind.in_(kinds),
        ConsultantTask.done_at.is_(None)).values(done_at=done_at))


def task_out(task: ConsultantTask, consultant: str, case: str) -> dict[str, Any]:
    return {"id": task.id, "consultant_id": consultant, "case_id": case, "kind": task.kind,
            "text": task.text, "created_at": as_utc(task.created_at).isoformat(),
            "done_at": as_utc(task.done_at).isoformat() if task.done_at else None}


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
