"""A consultant's caseload, defined once: the open target cases they own.

Planning gives it to the solver (`active_cases` against `max_active_cases`); reopening a case
keeps its owner only if they have room; the Slack owner choice and the dashboard show it; the
simulation's caseworkers take the least loaded. All of them count here. It lives in its own
small area (imported by planning, followup, kpis, slack and the simulation alike, it imports
nothing but the platform) so that none of them imports another to count.

- **Active**: a target case (`status == "target"`) not closed (`closed_on` is null). A case
  that left the target group, or was closed, takes no room.
- **Room**: fewer active cases than the consultant's capacity (`max_active_cases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.db.models import Case


def active_case() -> ColumnElement[bool]:
    """A case that counts in its owner's caseload: open and in the target group."""
    return and_(Case.status == "target", Case.closed_on.is_(None))


def is_active(status: str, closed_on: date | None) -> bool:
    """`active_case` over plain values."""
    return status == "target" and closed_on is None


def has_room(active_cases: int, capacity: int) -> bool:
    """Room for one more case: fewer active cases than the capacity."""
    return active_cases < capacity


async def caseloads(session: AsyncSession, municipality_id: str, *,
                    owners: Iterable[int] | None = None, leaving_out: int | None = None
                    ) -> dict[int, int]:
    """Active cases per owner (consultant row id -> count; an owner with none is absent).
    `owners`: only these consultants; `leaving_out`: a case not to count (the one being
    reopened)."""
    conditions = [Case.municipality_id == municipality_id, Case.owner_id.is_not(None),
                  active_case()]
    if owners is not None:
        conditions.append(Case.owner_id.in_(list(owners)))
    if leaving_out is not None:
        conditions.append(Case.id != leaving_out)
    rows = await session.execute(select(Case.owner_id, func.count(Case.id))
                                 .where(*conditions).group_by(Case.owner_id))
    return {owner: int(count) for owner, count in rows.all()}
