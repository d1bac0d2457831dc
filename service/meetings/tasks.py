"""The tasks the meetings give a consultant (call an employer without an e-mail address, note
a decline, look at an employer's wishes for other times, …), written in the caller's
transaction. People list them and mark them done in `service.followup.tasks`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.platform.db.engine import flushed_connection
from service.platform.db.models import ConsultantTask, Meeting

# Tasks about the case's current meeting (its time, its invitation, its letter): done by
# themselves when that meeting is cancelled, moved or registered (a case has one active
# meeting at a time). Tasks about what happened (the employer cancelled, asked for other
# times, declined) stay until it is settled.
ABOUT_THE_MEETING = ("meeting_confirmed", "invitation_failed", "employer_contact_missing",
                     # "call the citizen, the letter does not arrive before <the meeting>"
                     "letter_too_late",
                     # "agree a new private talk before <the meeting>" (its talk cancelled)
                     "talk_to_agree")

# Tasks that asked for a time to be agreed: done once the meeting has a time that stands —
# the employer's or staff's confirmation, staff moving it to an agreed time, the citizen's
# letter setting a jobcentre meeting — or once a meeting is held.
SETTLED_BY_A_TIME = ("employer_contact_missing", "invitation_failed",
                     # "the employer asks for other times"
                     "employer_other_times")

# The plain statements of `close_tasks` (the same SQL as the ORM's below) and
# `close_all_tasks`, made once.
_TASKS = ConsultantTask.__table__
_CASE_OPEN = (_TASKS.c.case_id == bindparam("case"), _TASKS.c.done_at.is_(None))
_CLOSE_TASKS = update(_TASKS).where(
    *_CASE_OPEN, _TASKS.c.kind.in_(bindparam("kinds", expanding=True))).values(
    done_at=bindparam("done"))
_CLOSE_ALL_TASKS = update(_TASKS).where(*_CASE_OPEN).values(done_at=bindparam("done"))
_ADD_TASK = insert(_TASKS)
_OPEN_TASK = select(_TASKS.c.id).where(*_CASE_OPEN, _TASKS.c.kind == bindparam("kind")).limit(1)


async def add_task(session: AsyncSession, meeting: Meeting, kind: str, text: str,
                   now: datetime) -> None:
    """A task for the meeting's consultant about its case, created `now`, in the caller's
    transaction: a plain INSERT on its connection (rows the session added are written
    first, the meeting among them when it is new) — not an object for the commit's flush,
    whose unit of work cost several times the statement on the paths that add one (a
    confirmation: the one object left to flush)."""
    await _insert_task(await flushed_connection(session), meeting, kind, text, now)


async def add_task_once(session: AsyncSession, meeting: Meeting, kind: str, text: str,
                        now: datetime) -> None:
    """A task that re-planning must not repeat while the same one is still open."""
    connection = await flushed_connection(session)
    open_task = (await connection.execute(_OPEN_TASK, {
        "case": meeting.case_id, "kind": kind})).first()
    if open_task is None:
        await _insert_task(connection, meeting, kind, text, now)


async def _insert_task(connection: AsyncConnection, meeting: Meeting, kind: str, text: str,
                       now: datetime) -> None:
    await connection.execute(_ADD_TASK, {
        "municipality_id": meeting.municipality_id, "consultant_id": meeting.consultant_id,
        "case_id": meeting.case_id, "kind": kind, "text": text, "created_at": now})


async def close_tasks(session: AsyncSession, case_id: int, kinds: tuple[str, ...],
                      done_at: datetime) -> None:
    """The case's open tasks of these kinds are done: what they asked for has happened.

    A plain statement on the transaction's connection when the session holds no task (the
    usual case: a confirmation, a cancellation, a registered meeting); the ORM's statement
    when it does — a task added or read in this transaction is then flushed first and kept
    in step with the row, which the ORM's bookkeeping does (at several times the cost)."""
    if _holds_tasks(session):
        await session.execute(update(ConsultantTask).where(
            ConsultantTask.case_id == case_id, ConsultantTask.kind.in_(kinds),
            ConsultantTask.done_at.is_(None)).values(done_at=done_at))
    else:
        await (await session.connection()).execute(
            _CLOSE_TASKS, {"case": case_id, "kinds": list(kinds), "done": done_at})


async def close_all_tasks(connection: AsyncConnection, case_id: int, done_at: datetime
                          ) -> None:
    """Every open task of the case is done (it was closed), as a plain statement on the
    transaction's connection: the caller has flushed the tasks its session added."""
    await connection.execute(_CLOSE_ALL_TASKS, {"case": case_id, "done": done_at})


def _holds_tasks(session: AsyncSession) -> bool:
    """Whether a task is an object of the session (new, or read in this transaction)."""
    return any(isinstance(row, ConsultantTask) for row in session.new) or any(
        key[0] is ConsultantTask for key in session.identity_map.keys())
