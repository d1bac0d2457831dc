"""Whom intake may choose as a case's owner, defined once: the Slack modal and the case
page offer the same list, in the same order, with the same load.

- Active consultants only, the case's current owner left out.
- A workplace-meeting case only to a consultant who holds workplace meetings on that day
  (`workplace_meetings`, from `workplace_meetings_from`).
- Each with their caseload (`service.consultants.caseload`) and whether they are full: a full
  consultant may still be chosen (the choice is intake's), the list says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.consultants.caseload import caseloads, has_room
from service.platform.db.models import Case, Consultant


@dataclass(frozen=True)
class OwnerChoice:
    key: str
    name: str
    cases: int
    capacity: int
    team: str = ""

    @property
    def full(self) -> bool:
        return not has_room(self.cases, self.capacity)


class WorkplaceRole(Protocol):
    """Whether a consultant holds workplace meetings: a `Consultant`, or a row of these
    columns of one."""

    @property
    def workplace_meetings(self) -> bool: ...

    @property
    def workplace_meetings_from(self) -> date | None: ...


def holds_workplace_meetings(consultant: WorkplaceRole, day: date) -> bool:
    """The consultant holds workplace meetings on `day` (the role is rolled out over months)."""
    return bool(consultant.workplace_meetings) and (
        consultant.workplace_meetings_from is None or consultant.workplace_meetings_from <= day)


async def owner_choices(session: AsyncSession, municipality_id: str, case: Case | None,
                        today: date) -> list[OwnerChoice]:
    """The consultants intake may give `case` to (None: any case), by name."""
    load = await caseloads(session, municipality_id)
    consultants = (await session.execute(select(Consultant).where(
        Consultant.municipality_id == municipality_id, Consultant.active.is_(True))
        .order_by(Consultant.name, Consultant.key))).scalars().all()
    choices = []
    for consultant in consultants:
        if case is not None and consultant.id == case.owner_id:
            continue
        if case is not None and case.follow_up == "workplace_meeting" and \
                not holds_workplace_meetings(consultant, today):
            continue
        choices.append(OwnerChoice(consultant.key, consultant.name,
                                   load.get(consultant.id, 0), consultant.max_active_cases,
                                   consultant.team))
    return choices
