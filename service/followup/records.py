"""What was registered on a case after its first meeting, as staff see it: each held meeting
with its minutes (when it was held, agreements, the plan back to work, whether a retention
plan was asked for, the staff-only note) and the case's interventions with their kind.
Added to the case's `progress` in the API (`IntakeService.records`) and shown on the
consultant's case page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.models import Intervention, Meeting


@dataclass(frozen=True)
class HeldMeeting:
    held_at: Any  # datetime (local)
    place: str | None
    employer_took_part: bool | None
    on_time: bool
    agreements: list[dict[str, Any]]
    return_plan: dict[str, Any] | None
    retention_plan_requested: bool
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"held_at": self.held_at.isoformat(timespec="minutes"), "place": self.place,
                "employer_took_part": self.employer_took_part, "on_time": self.on_time,
                "agreements": self.agreements, "return_plan": self.return_plan,
                "retention_plan_requested": self.retention_plan_requested, "note": self.note}


@dataclass(frozen=True)
class InterventionRow:
    kind: str
    started_on: date
    ends_on: date | None
    hours_per_week: float | None

    def running(self, today: date) -> bool:
        return self.started_on <= today and (self.ends_on is None or self.ends_on >= today)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "started_on": self.started_on.isoformat(),
                "ends_on": self.ends_on.isoformat() if self.ends_on else None,
                "hours_per_week": self.hours_per_week}


# Plain Core statements, built once: the columns shown, no ORM entities (and none of the
# meeting's eagerly joined case, employer and owner rows).
_M = Meeting.__table__.c
_I = Intervention.__table__.c
_HELD = (select(_M.held_at, _M.start, _M.place, _M.employer_took_part, _M.on_time,
                _M.agreements, _M.return_plan, _M.retention_plan_requested, _M.minutes_note)
         .where(_M.case_id == bindparam("case"), _M.status == "held").order_by(_M.start))
_INTERVENTIONS = (select(_I.kind, _I.started_on, _I.ends_on, _I.hours_per_week)
                  .where(_I.case_id == bindparam("case"))
                  .order_by(_I.started_on, _I.id))


def _held(rows: Any) -> list[HeldMeeting]:
    return [HeldMeeting(m.held_at or m.start, m.place, m.employer_took_part, m.on_time,
                        list(m.agreements or []), m.return_plan,
                        bool(m.retention_plan_requested), m.minutes_note) for m in rows]


def _interventions(rows: Any) -> list[InterventionRow]:
    return [InterventionRow(i.kind, i.started_on, i.ends_on, i.hours_per_week) for i in rows]


async def held_meetings(session: AsyncSession, case_id: int) -> list[HeldMeeting]:
    return _held(await session.execute(_HELD, {"case": case_id}))


async def interventions(session: AsyncSession, case_id: int) -> list[InterventionRow]:
    return _interventions(await session.execute(_INTERVENTIONS, {"case": case_id}))


def progress(held: list[HeldMeeting], rows: list[InterventionRow], today: date
             ) -> dict[str, Any]:
    return {"held_meetings": [h.to_dict() for h in held],
            "interventions": [r.to_dict() for r in rows],
            "partial_return": any(r.kind == "partial_return" and r.running(today)
                                  for r in rows)}


class FollowupRecords:
    """`IntakeService.records`: the held meetings and interventions of one case."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def of_case(self, connection: Connection, case_id: int) -> dict[str, Any]:
        """On a plain connection: part of the case's one read (`Database.run_read`, which
        may run it off the event loop)."""
        held = _held(connection.execute(_HELD, {"case": case_id}))
        rows = _interventions(connection.execute(_INTERVENTIONS, {"case": case_id}))
        return progress(held, rows, self.clock.today())
