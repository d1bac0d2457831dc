"""What was registered on a case after its first meeting, as staff see it: each held meeting
with its minutes (when it was held, agreements, the plan back to work, whether a retention
plan was asked for, the staff-only note) and the case's interventions with their kind.
Added to the case's `progress` in the API (`IntakeService.records`) and shown on the
consultant's case page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.models import Case, Intervention, Meeting


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


async def held_meetings(session: AsyncSession, case_id: int) -> list[HeldMeeting]:
    rows = (await session.execute(select(Meeting).where(
        Meeting.case_id == case_id, Meeting.status == "held").order_by(Meeting.start)
    )).unique().scalars().all()
    return [HeldMeeting(m.held_at or m.start, m.place, m.employer_took_part, m.on_time,
                        list(m.agreements or []), m.return_plan,
                        bool(m.retention_plan_requested), m.minutes_note) for m in rows]


async def interventions(session: AsyncSession, case_id: int) -> list[InterventionRow]:
    rows = (await session.execute(select(Intervention).where(
        Intervention.case_id == case_id).order_by(Intervention.started_on, Intervention.id)
    )).scalars().all()
    return [InterventionRow(i.kind, i.started_on, i.ends_on, i.hours_per_week) for i in rows]


class FollowupRecords:
    """`IntakeService.records`: the held meetings and interventions of one case."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def of_case(self, session: AsyncSession, case: Case) -> dict[str, Any]:
        held = await held_meetings(session, case.id)
        rows = await interventions(session, case.id)
        today = self.clock.today()
        return {"held_meetings": [h.to_dict() for h in held],
                "interventions": [r.to_dict() for r in rows],
                "partial_return": any(r.kind == "partial_return" and r.running(today)
                                      for r in rows)}
