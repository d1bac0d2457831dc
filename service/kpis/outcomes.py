"""The outcome figures (issue 20 item 7): what became of the cases, for the dashboard and
`GET /api/kpis` — the model's evaluation question.

Which cases: the target cases whose first absence day lies in the months asked for (a cohort,
as the register's rows).

- **Duration by the place of the first meeting**: of the cohort's *closed* cases with a held
  first meeting, the median number of days from the first absence day to the end (both
  counted, as the register's duration), per place (workplace, jobcentre, phone).
- **Back at work by week 13 and week 26**: of the cohort's cases whose week has ended (up to
  yesterday; week N ends on first absence day + 7·N − 1): *fully* back = closed as recovered
  by the end of the week; *partly* back = open at the end of the week with an intervention of
  kind `partial_return` running then (started by then, its `ends_on` none or not before
  then), or closed as the old "partly recovered" by then. A case closed otherwise before the
  week ended (dismissed, another programme, …) is not back, whatever partial return it had.
  A case moved to another municipality before the week ended is left out (its outcome is not
  known here); every other case is in the denominator.
- **Per consultant** (managers only): the same, by the case's owner.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.platform.db.engine import Database
from service.platform.db.models import Case, Consultant, Intervention, Meeting

PLACES = ("workplace", "jobcentre", "phone")
WEEKS = (13, 26)
# Closed this way before the week ended: the outcome is not known here.
UNKNOWN_OUTCOMES = ("other_municipality", "moved")
PARTLY_OUTCOMES = ("partly_recovered",)
# A partial return's start and end (None: until full recovery).
Span = tuple[date, date | None]

DURATION_EXPLANATION = ("Afsluttede målgruppesager med en afholdt første samtale: medianen af "
                        "dage fra første fraværsdag til afslutningen, efter hvor den første "
                        "samtale blev holdt.")
BACK_EXPLANATION = ("Målgruppesager, hvis uge 13 (26) er slut: helt tilbage = afsluttet som "
                    "rask senest ved ugens udgang; delvist tilbage = sagen var stadig åben ved "
                    "ugens udgang, og en delvis raskmelding var i gang da (startet, ikke "
                    "slut). En sag afsluttet på anden vis forinden (fx opsagt) er ikke "
                    "tilbage. Sager flyttet til en anden kommune forinden tæller ikke med.")

_FIRST_ABSENCE = Case.facts["first_absence_day"].as_string()


@dataclass
class PlaceDuration:
    place: str
    cases: int = 0
    median_days: float | None = None


@dataclass
class BackAtWork:
    """Of `cases` whose week `week` ended: how many were partly and fully back by then."""

    week: int
    cases: int = 0
    partly: int = 0
    fully: int = 0

    @property
    def partly_share(self) -> float | None:
        return self.partly / self.cases if self.cases else None

    @property
    def fully_share(self) -> float | None:
        return self.fully / self.cases if self.cases else None

    @property
    def back_share(self) -> float | None:
        """Partly or fully back."""
        return (self.partly + self.fully) / self.cases if self.cases else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "partly_share": self.partly_share,
                "fully_share": self.fully_share, "back_share": self.back_share}


@dataclass
class OutcomeFigures:
    """The figures of a group of cases (all of them, or one consultant's)."""

    durations: list[PlaceDuration] = field(
        default_factory=lambda: [PlaceDuration(p) for p in PLACES])
    back: list[BackAtWork] = field(default_factory=lambda: [BackAtWork(w) for w in WEEKS])
    _days: dict[str, list[int]] = field(
        default_factory=lambda: {p: [] for p in PLACES}, repr=False)

    def finish(self) -> None:
        for duration in self.durations:
            days = self._days[duration.place]
            duration.cases = len(days)
            duration.median_days = float(statistics.median(days)) if days else None

    def to_dict(self) -> dict[str, Any]:
        return {"durations": [asdict(d) for d in self.durations],
                "back_at_work": [b.to_dict() for b in self.back]}


@dataclass
class ConsultantOutcomes:
    consultant_id: str
    name: str
    figures: OutcomeFigures

    def to_dict(self) -> dict[str, Any]:
        return {"consultant_id": self.consultant_id, "name": self.name,
                **self.figures.to_dict()}


@dataclass
class Outcomes:
    all: OutcomeFigures
    consultants: list[ConsultantOutcomes]

    def to_dict(self, per_consultant: bool = True) -> dict[str, Any]:
        return {**self.all.to_dict(), "duration_explanation": DURATION_EXPLANATION,
                "back_explanation": BACK_EXPLANATION,
                "consultants": [c.to_dict() for c in self.consultants]
                if per_consultant else None}


@dataclass(frozen=True)
class _Case:
    id: int
    first_absence: date
    closed_on: date | None
    outcome: str | None
    owner: tuple[str, str] | None  # (key, name)


class OutcomeService:
    def __init__(self, db: Database, clock: Clock, municipality: str) -> None:
        self.db = db
        self.clock = clock
        self.municipality = municipality

    async def outcomes(self, first: date, end: date) -> Outcomes:
        """The cohort of target cases whose first absence day is from `first` up to (not
        including) `end`."""
        async with self.db.snapshot() as session:
            cases = await self._cases(session, first, end)
            ids = [c.id for c in cases]
            places = await self._first_places(session, ids)
            partial = await self._partial_returns(session, ids)
        yesterday = self.clock.today() - timedelta(days=1)
        whole = OutcomeFigures()
        by_owner: dict[tuple[str, str], OutcomeFigures] = {}
        for case in cases:
            groups = [whole]
            if case.owner is not None:
                groups.append(by_owner.setdefault(case.owner, OutcomeFigures()))
            for group in groups:
                _add(group, case, places.get(case.id), partial.get(case.id), yesterday)
        for group in (whole, *by_owner.values()):
            group.finish()
        return Outcomes(whole, [ConsultantOutcomes(key, name, figures) for (key, name), figures
                                in sorted(by_owner.items(), key=lambda i: (i[0][1], i[0][0]))])

    async def _cases(self, session: AsyncSession, first: date, end: date) -> list[_Case]:
        rows = await session.execute(
            select(Case.id, _FIRST_ABSENCE, Case.closed_on, Case.close_outcome, Consultant.key,
                   Consultant.name)
            .outerjoin(Consultant, Consultant.id == Case.owner_id)
            .where(Case.municipality_id == self.municipality, Case.status == "target",
                   _FIRST_ABSENCE >= first.isoformat(), _FIRST_ABSENCE < end.isoformat())
            .order_by(Case.id))
        out = []
        for id_, absence, closed_on, outcome, key, name in rows.all():
            try:
                first_absence = date.fromisoformat(absence)
            except (TypeError, ValueError):
                continue
            out.append(_Case(id_, first_absence, closed_on, outcome,
                             (key, name) if key is not None else None))
        return out

    async def _first_places(self, session: AsyncSession, ids: list[int]) -> dict[int, str]:
        """Each case's first held meeting's place."""
        if not ids:
            return {}
        earliest = (select(Meeting.case_id, func.min(Meeting.start).label("start"))
                    .where(Meeting.case_id.in_(ids), Meeting.status == "held")
                    .group_by(Meeting.case_id).subquery())
        rows = await session.execute(
            select(Meeting.case_id, Meeting.place)
            .join(earliest, and_(earliest.c.case_id == Meeting.case_id,
                                 earliest.c.start == Meeting.start))
            .where(Meeting.status == "held").order_by(Meeting.case_id, Meeting.id))
        out: dict[int, str] = {}
        for case_id, place in rows.all():
            out.setdefault(case_id, place or "")
        return out

    async def _partial_returns(self, session: AsyncSession, ids: list[int]
                               ) -> dict[int, list[Span]]:
        """Each case's partial returns: (start, end or None)."""
        out: dict[int, list[Span]] = {}
        if not ids:
            return out
        rows = await session.execute(
            select(Intervention.case_id, Intervention.started_on, Intervention.ends_on)
            .where(Intervention.case_id.in_(ids), Intervention.kind == "partial_return")
            .order_by(Intervention.case_id, Intervention.started_on))
        for case_id, started, ends in rows.all():
            out.setdefault(case_id, []).append((started, ends))
        return out


def running_on(partial: list[Span], day: date) -> bool:
    """A partial return is running on `day`: started by then and not ended before it."""
    return any(started <= day and (ends is None or ends >= day) for started, ends in partial)


def _add(group: OutcomeFigures, case: _Case, place: str | None, partial: list[Span] | None,
         yesterday: date) -> None:
    if case.closed_on is not None and place in group._days:
        group._days[place].append((case.closed_on - case.first_absence).days + 1)
    for back in group.back:
        week_end = case.first_absence + timedelta(days=7 * back.week - 1)
        if week_end > yesterday:
            continue  # the week has not ended
        closed = case.closed_on is not None and case.closed_on <= week_end
        if closed and case.outcome in UNKNOWN_OUTCOMES:
            continue
        back.cases += 1
        if closed:
            # Ended by then: recovered is fully back, the old "partly recovered" partly;
            # dismissed, another programme, … is not back, whatever partial return it had.
            back.fully += case.outcome == "recovered"
            back.partly += case.outcome in PARTLY_OUTCOMES
        elif running_on(partial or [], week_end):
            back.partly += 1
