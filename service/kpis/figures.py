"""The model's figures per month, computed from the database (the dashboard, its CSV and
`GET /api/kpis`, and the simulation all read them here).

Which month a figure belongs to:

- target cases *start* in the month of their first absence day (not their intake date: cases
  reach intake up to absence week 7, and an import of old cases would otherwise all land in
  the month of the import). A recent month therefore still grows while its cases arrive;
- a *first meeting* belongs to the month it was held in (the case's earliest held meeting);
- the week-8 deadline and the week-13 intervention belong to the month that week ended in,
  counted once the week has ended (up to yesterday), so an open month is never judged early.
  The week-13 figures count a *workplace-oriented* intervention only (every kind but
  education: `service.followup.intervention_kinds`).
  Cases closed before the week ended (recovered, moved, …) are left out: they no longer
  needed the meeting or the intervention.

Milestones come from the configuration (`[[milestones]]`): a milestone holds from its month
until the next one.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import Milestone, MunicipalityConfig
from service.consultants.caseload import caseloads
from service.followup.follow_ups import FOLLOW_UP, follow_up_kind, overdue_condition
from service.followup.intervention_kinds import first_workplace_intervention
from service.intake.signals import (
    AT_RISK_WITHIN_DAYS,
    at_risk_condition,
    handed_over_late,
    may_still_be_handed_over,
)
from service.kpis.outcomes import Outcomes, OutcomeService
from service.meetings.talk_kinds import PRIVATE_TALK
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    ACTIVE_MEETING,
    INTERVENTION_KINDS,
    AuditEntry,
    Case,
    Consultant,
    Intervention,
    Meeting,
)
from service.platform.errors import Invalid

# The national project's goal: 70% of first meetings at the workplace.
WORKPLACE_GOAL = 0.70
# "Late by more than 3 weeks" after the end of absence week 8.
LATE_GRACE_DAYS = 21
PLACES = ("workplace", "jobcentre", "phone")
# A request may ask for at most this many months (ten years).
MAX_MONTHS = 120

_FIRST_ABSENCE = Case.facts["first_absence_day"].as_string()
_HANDED_OVER = Case.facts["handed_over_on"].as_string()


@dataclass(frozen=True)
class Figure:
    """One figure of the dashboard: its key in JSON/CSV, Danish label and how it is computed."""

    key: str
    label: str
    explanation: str
    kind: str  # count | share | days
    milestone: str | None = None  # the Milestone attribute it is measured against
    # Counted by the month of the cases' first absence day: it still grows while the month's
    # cases reach intake (`MonthKpis.cases_arriving`).
    by_first_absence: bool = False


FIGURES: tuple[Figure, ...] = (
    Figure("target_cases", "Nye målgruppesager",
           "Sager i målgruppen, hvis første fraværsdag ligger i måneden.", "count",
           by_first_absence=True),
    Figure("first_meetings", "Første samtaler holdt",
           "Sager i målgruppen, hvis første afholdte samtale blev holdt i måneden.", "count"),
    Figure("first_meetings_workplace", "Første samtaler på arbejdspladsen",
           "Første samtaler i måneden holdt på arbejdspladsen.", "count"),
    Figure("first_meetings_jobcentre", "Første samtaler i jobcentret",
           "Første samtaler i måneden holdt i jobcentret.", "count"),
    Figure("first_meetings_phone", "Første samtaler telefonisk",
           "Første samtaler i måneden holdt over telefonen.", "count"),
    Figure("model_first_meetings", "Første samtaler, modellens population",
           "Målgruppens første samtaler i måneden plus de udelukkede sagers (alvorlig "
           "sygdom, arbejdspladsen som årsag): en udelukket sag uden afholdt samtale tæller "
           "i den måned, dens uge 8 sluttede.", "count"),
    Figure("model_first_meetings_workplace", "Heraf på arbejdspladsen (modellen)",
           "Af dem: første samtaler holdt på arbejdspladsen.", "count"),
    Figure("model_workplace_share", "Andel på arbejdspladsen (modellens tal)",
           "Modellens 70 %: af sygedagpengemodtagere fra beskæftigelse i kategori 2 og 3 — "
           "udelukkede sager tæller med som ikke på arbejdspladsen, medmindre mødet blev "
           "holdt der.", "share", "workplace_first_meeting_share"),
    Figure("workplace_share", "Andel på arbejdspladsen",
           "Første samtaler på arbejdspladsen delt med alle første samtaler i måneden "
           "(mål 70 %) – kun målgruppen, uden de udelukkede sager.", "share",
           "workplace_first_meeting_share"),
    Figure("employer_took_part", "Arbejdsgiver deltog",
           "Første samtaler i måneden, hvor arbejdsgiveren deltog.", "count"),
    Figure("employer_share", "Andel med arbejdsgiver",
           "Første samtaler med arbejdsgiveren delt med alle første samtaler i måneden.",
           "share"),
    Figure("before_week8", "Holdt inden udgangen af uge 8",
           "Første samtaler i måneden holdt senest første fraværsdag + 55 dage (den sidste "
           "dag i uge 8).", "count"),
    Figure("before_week8_share", "Andel af månedens første samtaler holdt inden uge 8",
           "Første samtaler inden udgangen af uge 8 delt med alle første samtaler holdt i "
           "måneden. Sager, der ikke har fået en samtale, er ikke med – se »Andel af sager, "
           "hvis uge 8 sluttede, der nåede samtalen«.",
           "share", "first_meeting_before_week8_share"),
    Figure("late_over_3_weeks", "Mere end 3 uger for sent",
           "Første samtaler i måneden holdt mere end 21 dage efter udgangen af uge 8.",
           "count"),
    Figure("late_over_3_weeks_share", "Andel over 3 uger for sent",
           "Første samtaler mere end 3 uger for sent delt med alle første samtaler i måneden.",
           "share"),
    Figure("median_days_to_first_meeting", "Dage til første samtale (median)",
           "Medianen af dage fra første fraværsdag til den første samtale, for første "
           "samtaler holdt i måneden.", "days"),
    Figure("handed_over_known", "Sager med overdragelsesdato",
           "Nye målgruppesager i måneden, hvor det er registreret, hvornår ydelseskontoret "
           "overdrog sagen.", "count", by_first_absence=True),
    Figure("handed_over_late", "Overdraget efter uge 7",
           "Af dem: sager overdraget efter udgangen af fraværsuge 7 (modellen: senest i "
           "uge 7).", "count", by_first_absence=True),
    Figure("handed_over_late_share", "Andel overdraget efter uge 7",
           "Sager overdraget efter uge 7 delt med månedens målgruppesager med "
           "overdragelsesdato.", "share", by_first_absence=True),
    Figure("week8_ended", "Uge 8 sluttede",
           "Sager i målgruppen, hvis uge 8 sluttede i måneden (til og med i går); sager "
           "afsluttet forinden uden samtale tæller ikke med.", "count"),
    Figure("week8_missed", "Uge 8 overskredet",
           "Af dem: sager uden en afholdt første samtale inden udgangen af uge 8.", "count"),
    Figure("week8_met_share", "Andel af sager, hvis uge 8 sluttede, der nåede samtalen",
           "Sager i målgruppen med en afholdt første samtale senest ved udgangen af uge 8 "
           "delt med sager, hvis uge 8 sluttede i måneden – også dem, der aldrig fik en "
           "samtale. Ingen milepæl.", "share"),
    Figure("week13_ended", "Uge 13 sluttede",
           "Sager i målgruppen, hvis uge 13 sluttede i måneden (til og med i går), og som "
           "ikke var afsluttet forinden.", "count"),
    Figure("intervention_before_week13", "Virksomhedsrettet indsats inden uge 13",
           "Af dem: sager, hvor en virksomhedsrettet indsats startede senest ved udgangen "
           "af uge 13 (uddannelse eller opkvalificering tæller ikke med).", "count"),
    Figure("intervention_share", "Andel med indsats inden uge 13",
           "Sager med virksomhedsrettet indsats inden udgangen af uge 13 delt med sager, "
           "hvis uge 13 sluttede i måneden – kun målgruppen. Milepæl: landstallet + 10 "
           "procentpoint.", "share", "intervention_before_week13_share"),
    Figure("model_week13_ended", "Uge 13 sluttede (modellen)",
           "Målgruppens sager plus de udelukkede (alvorlig sygdom, arbejdspladsen som "
           "årsag), hvis uge 13 sluttede i måneden, og som ikke var afsluttet forinden.",
           "count"),
    Figure("model_intervention_before_week13", "Heraf med indsats inden uge 13 (modellen)",
           "Af dem: sager, hvor en virksomhedsrettet indsats startede senest ved udgangen "
           "af uge 13 (uddannelse eller opkvalificering tæller ikke med).", "count"),
    Figure("model_intervention_share", "Andel med indsats inden uge 13 (modellens tal)",
           "Modellens population (sygedagpengemodtagere fra beskæftigelse i kategori 2 og 3, "
           "også de udelukkede) som landstallet, det måles mod: milepælen er landstallet + 10 "
           "procentpoint.", "share", "intervention_before_week13_share"),
    Figure("employer_declines", "Arbejdsgivere der takkede nej",
           "Arbejdsgivere, der i måneden svarede, at mødet ikke kan holdes på "
           "arbejdspladsen.", "count"),
    Figure("declines_restored", "Heraf vendt af konsulenten",
           "Af dem: afslag, hvor konsulenten ringede, og mødet på arbejdspladsen blev "
           "genoprettet.", "count"),
)
FIGURE_BY_KEY = {f.key: f for f in FIGURES}

LOAD_EXPLANATION = ("Åbne sager i målgruppen, som konsulenten ejer, mod det antal sager, "
                    "konsulenten højst kan have (konsulentens kapacitet).")
OVERDUE_EXPLANATION = ("Åbne sager i målgruppen, hvor den første samtale er holdt, og hvor "
                       "næste opfølgning skulle have været holdt senest på en dag, der er "
                       "gået: et møde, der først ligger senere, gør den ikke rettidig.")
AT_RISK_EXPLANATION = ("Åbne sager i målgruppen uden bekræftet eller afholdt samtale, hvis "
                       "frist for første samtale (også en fast track-frist) er om højst "
                       f"{AT_RISK_WITHIN_DAYS} dage eller overskredet.")


@dataclass
class MonthKpis:
    """The figures of one month (`month` is its first day); shares are fractions 0..1, None
    when there is nothing to divide by."""

    month: date
    target_cases: int = 0
    first_meetings: int = 0
    first_meetings_workplace: int = 0
    first_meetings_jobcentre: int = 0
    first_meetings_phone: int = 0
    model_first_meetings: int = 0
    model_first_meetings_workplace: int = 0
    model_workplace_share: float | None = None
    workplace_share: float | None = None
    employer_took_part: int = 0
    employer_share: float | None = None
    before_week8: int = 0
    before_week8_share: float | None = None
    late_over_3_weeks: int = 0
    late_over_3_weeks_share: float | None = None
    median_days_to_first_meeting: float | None = None
    handed_over_known: int = 0
    handed_over_late: int = 0
    handed_over_late_share: float | None = None
    week8_ended: int = 0
    week8_missed: int = 0
    # Of the cases whose week 8 ended: those met in time (`week8_ended - week8_missed`).
    week8_met_share: float | None = None
    week13_ended: int = 0
    intervention_before_week13: int = 0
    intervention_share: float | None = None
    # The model's population (excluded cases in), as the national benchmark counts.
    model_week13_ended: int = 0
    model_intervention_before_week13: int = 0
    model_intervention_share: float | None = None
    # The national benchmark's share in force this month (`[benchmark]`), and the week-13
    # milestone: that share + its points above, else `[[milestones]]`' own.
    benchmark_intervention_share: float | None = None
    intervention_milestone: float | None = None
    employer_declines: int = 0
    declines_restored: int = 0
    # Of `week13_ended` (the target group's): the cases with an intervention of each kind
    # started by the end of week 13 (a case with two kinds counts under both). The
    # workplace-oriented kinds are those in `intervention_before_week13`; `education` is
    # listed but not counted there.
    intervention_kinds: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(INTERVENTION_KINDS, 0))
    milestone: Milestone | None = None
    # A month that has not begun: it has a milestone, no figures yet (they read None).
    future: bool = False
    # Cases whose absence began this month may still reach intake (their absence week 7 has
    # not ended): the figures counted by first absence day still grow.
    cases_arriving: bool = False
    # Days from first absence to first meeting, for the median (not shown).
    _days: list[int] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def value(self, key: str) -> int | float | None:
        if self.future:
            return None
        value: int | float | None = getattr(self, key)
        return value

    def target(self, key: str) -> float | None:
        """The milestone this figure is measured against this month, if any."""
        figure = FIGURE_BY_KEY[key]
        if figure.milestone == "intervention_before_week13_share":
            return self.intervention_milestone
        if figure.milestone is None or self.milestone is None:
            return None
        target: float | None = getattr(self.milestone, figure.milestone)
        return target

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        out.update({f.key: self.value(f.key) for f in FIGURES})
        out["month"] = self.label
        out["intervention_kinds"] = None if self.future else dict(self.intervention_kinds)
        out["milestone"] = None if self.milestone is None else {
            "month": self.milestone.month,
            "workplace_first_meeting_share": self.milestone.workplace_first_meeting_share,
            # The milestone the week-13 figures are measured against (from the benchmark
            # when one is configured).
            "intervention_before_week13_share": self.intervention_milestone,
            "first_meeting_before_week8_share":
                self.milestone.first_meeting_before_week8_share}
        return out


@dataclass(frozen=True)
class ConsultantLoad:
    consultant_id: str
    name: str
    team: str
    open_cases: int
    capacity: int

    @property
    def share(self) -> float | None:
        return self.open_cases / self.capacity if self.capacity else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


@dataclass(frozen=True)
class CaseAtRisk:
    case_id: str
    consultant_id: str | None
    consultant_name: str | None
    deadline: date
    days_left: int
    meeting: str | None  # "proposed", "confirmed" (for after the deadline), or None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deadline": self.deadline.isoformat()}


@dataclass(frozen=True)
class OverdueFollowUp:
    """An open target case whose follow-up is overdue (`service.followup.follow_ups`): its
    consultant, the due date, the follow-up's kind, and the meeting planned for it, if any."""

    case_id: str
    consultant_id: str | None
    consultant_name: str | None
    due: date
    days_over: int
    kind: str | None
    meeting_start: datetime | None  # local wall-clock time
    meeting_kind: str | None
    meeting_status: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "due": self.due.isoformat(),
                "meeting_start": self.meeting_start.isoformat(timespec="minutes")
                if self.meeting_start else None}


@dataclass(frozen=True)
class UnassignedCase:
    """An open target case planning could give no owner, with the planner's reason in words."""

    case_id: str
    deadline: date
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deadline": self.deadline.isoformat()}


# How `service.planning.store` words an unassigned case's reason on the case.
UNASSIGNED_PREFIX = "ikke fordelt: "


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    out, month = [], month_start(first)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def milestone_for(milestones: list[Milestone], month: date) -> Milestone | None:
    """The milestone in force: the latest one whose month is this month or earlier."""
    label = f"{month:%Y-%m}"
    earlier = [m for m in milestones if m.month <= label]
    return max(earlier, key=lambda m: m.month) if earlier else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class KpiService:
    """The figures of one municipality: per month, consultants' load, cases at risk."""

    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.municipality = config.municipality.id
        self.week8_days = config.rules.first_meeting_deadline_days

    def check_range(self, first: date, last: date) -> None:
        """Months are given by their first day; `last` not before `first`; at most 120."""
        if first.day != 1:
            raise Invalid.field("from", "must be the first day of a month", "month_format")
        if last.day != 1:
            raise Invalid.field("to", "must be the first day of a month", "month_format")
        if last < first:
            raise Invalid.field("to", "must not be before from", "before_from")
        if len(months_between(first, last)) > MAX_MONTHS:
            raise Invalid.field("to", f"at most {MAX_MONTHS} months at a time",
                                    "too_many_months", {"max": MAX_MONTHS})

    async def first_month(self) -> date | None:
        """The month of the earliest first absence day among target cases (None: no case)."""
        async with self.db.read() as session:
            earliest = (await session.execute(select(func.min(_FIRST_ABSENCE)).where(
                self._target()))).scalar_one_or_none()
        day = _day(earliest)
        return month_start(day) if day is not None else None

    async def monthly(self, first: date, last: date) -> list[MonthKpis]:
        """The figures of every month from `first` to `last` (first days, inclusive)."""
        self.check_range(first, last)
        today = self.clock.today()
        current = month_start(today)
        months = {m: MonthKpis(m, milestone=milestone_for(self.config.milestones, m),
                               future=m > current,
                               cases_arriving=m <= current and may_still_be_handed_over(
                                   next_month(m) - timedelta(days=1), today))
                  for m in months_between(first, last)}
        for kpis in months.values():
            benchmark = self.config.benchmark
            kpis.benchmark_intervention_share = benchmark.share(kpis.label)
            kpis.intervention_milestone = benchmark.milestone(kpis.label)
            if kpis.intervention_milestone is None and kpis.milestone is not None:
                kpis.intervention_milestone = kpis.milestone.intervention_before_week13_share
        end = next_month(last)
        async with self.db.snapshot() as session:
            await self._target_cases(session, months, first, end)
            await self._first_meetings(session, months, first, end)
            await self._handed_over(session, months, first, end)
            await self._excluded_first_meetings(session, months, first, end)
            await self._week8(session, months, first, end)
            await self._week13(session, months, first, end)
            await self._declines(session, months)
        for kpis in months.values():
            self._finish(kpis)
        return list(months.values())

    # -- the figures, one query each --------------------------------------------------------

    def _target(self) -> Any:
        return and_(Case.municipality_id == self.municipality, Case.status == "target")

    async def _target_cases(self, session: AsyncSession, months: dict[date, MonthKpis],
                            first: date, end: date) -> None:
        month = func.substr(_FIRST_ABSENCE, 1, 7)
        rows = await session.execute(
            select(month, func.count(Case.id)).where(
                self._target(), _FIRST_ABSENCE >= first.isoformat(),
                _FIRST_ABSENCE < end.isoformat()).group_by(month))
        for label, count in rows.all():
            kpis = months.get(date.fromisoformat(f"{label}-01"))
            if kpis is not None:
                kpis.target_cases = count

    async def _first_meetings(self, session: AsyncSession, months: dict[date, MonthKpis],
                              first: date, end: date) -> None:
        # Each case's first held meeting: the earliest start among its held meetings.
        earliest = (select(Meeting.case_id, func.min(Meeting.start).label("start"))
                    .where(Meeting.municipality_id == self.municipality,
                           Meeting.status == "held")
                    .group_by(Meeting.case_id).subquery())
        rows = await session.execute(
            select(Case.id, _FIRST_ABSENCE, Meeting.start, Meeting.place,
                   Meeting.employer_took_part)
            .join(earliest, earliest.c.case_id == Case.id)
            .join(Meeting, and_(Meeting.case_id == Case.id, Meeting.status == "held",
                                Meeting.start == earliest.c.start))
            .where(self._target(),
                   earliest.c.start >= datetime.combine(first, time(0)),
                   earliest.c.start < datetime.combine(end, time(0)))
            .order_by(Case.id, Meeting.id))
        seen: set[int] = set()
        for case_id, absence, start, place, employer in rows.all():
            first_absence = _day(absence)
            kpis = months.get(month_start(start.date()))
            if case_id in seen or kpis is None or first_absence is None:
                continue
            seen.add(case_id)
            kpis.first_meetings += 1
            kpis.model_first_meetings += 1
            kpis.model_first_meetings_workplace += place == "workplace"
            if place in PLACES:
                setattr(kpis, f"first_meetings_{place}",
                        getattr(kpis, f"first_meetings_{place}") + 1)
            if employer:
                kpis.employer_took_part += 1
            days = (start.date() - first_absence).days
            kpis._days.append(days)
            if days <= self.week8_days:
                kpis.before_week8 += 1
            elif days > self.week8_days + LATE_GRACE_DAYS:
                kpis.late_over_3_weeks += 1

    async def _declines(self, session: AsyncSession, months: dict[date, MonthKpis]) -> None:
        """Employers' declines by the local month they declined in, and those the consultant
        turned around (`service.meetings.declines`)."""
        first, last = min(months), max(months)
        since = datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC)
        until = datetime.combine(next_month(last) + timedelta(days=1), time(0), tzinfo=UTC)
        rows = await session.execute(
            select(Meeting.declined_at, Meeting.decline_outcome).where(
                Meeting.municipality_id == self.municipality,
                Meeting.declined_at.is_not(None), Meeting.declined_at >= since,
                Meeting.declined_at < until))
        for declined, outcome in rows.all():
            kpis = months.get(month_start(as_utc(declined).astimezone(self.clock.tz).date()))
            if kpis is not None:
                kpis.employer_declines += 1
                kpis.declines_restored += outcome == "restored"

    async def _handed_over(self, session: AsyncSession, months: dict[date, MonthKpis],
                           first: date, end: date) -> None:
        """The month's target cases with a hand-over date, and those handed over late."""
        rows = await session.execute(
            select(_FIRST_ABSENCE, _HANDED_OVER).where(
                self._target(), _FIRST_ABSENCE >= first.isoformat(),
                _FIRST_ABSENCE < end.isoformat(), _HANDED_OVER.is_not(None)))
        for absence, handed in rows.all():
            first_absence, handed_over = _day(absence), _day(handed)
            kpis = months.get(month_start(first_absence)) if first_absence else None
            if kpis is None or first_absence is None or handed_over is None:
                continue
            kpis.handed_over_known += 1
            kpis.handed_over_late += handed_over_late(first_absence, handed_over)

    async def _excluded_first_meetings(self, session: AsyncSession,
                                       months: dict[date, MonthKpis], first: date, end: date
                                       ) -> None:
        """The model's population adds the excluded cases (in scope, excluded for serious
        illness or a workplace cause): a held first meeting counts in its month at its place;
        one without a held meeting counts as not at the workplace in the month its week 8
        ended (up to yesterday) — unless it was closed before that without a meeting."""
        excluded = and_(Case.municipality_id == self.municipality, Case.status == "excluded")
        held = (select(Meeting.case_id, func.min(Meeting.start).label("start"))
                .where(Meeting.municipality_id == self.municipality, Meeting.status == "held")
                .group_by(Meeting.case_id).subquery())
        rows = await session.execute(
            select(Case.id, held.c.start, Meeting.place)
            .join(held, held.c.case_id == Case.id)
            .join(Meeting, and_(Meeting.case_id == Case.id, Meeting.status == "held",
                                Meeting.start == held.c.start))
            .where(excluded, held.c.start >= datetime.combine(first, time(0)),
                   held.c.start < datetime.combine(end, time(0)))
            .order_by(Case.id, Meeting.id))
        seen: set[int] = set()
        for case_id, start, place in rows.all():
            kpis = months.get(month_start(start.date()))
            if case_id in seen or kpis is None:
                continue
            seen.add(case_id)
            kpis.model_first_meetings += 1
            kpis.model_first_meetings_workplace += place == "workplace"
        until = min(end, self.clock.today())
        since = (first - timedelta(days=self.week8_days)).isoformat()
        before = (until - timedelta(days=self.week8_days)).isoformat()
        unmet = await session.execute(
            select(_FIRST_ABSENCE, Case.closed_on)
            .outerjoin(held, held.c.case_id == Case.id)
            .where(excluded, held.c.start.is_(None), _FIRST_ABSENCE >= since,
                   _FIRST_ABSENCE < before))
        for absence, closed_on in unmet.all():
            first_absence = _day(absence)
            if first_absence is None:
                continue
            week8_end = first_absence + timedelta(days=self.week8_days)
            kpis = months.get(month_start(week8_end))
            if kpis is None or (closed_on is not None and closed_on <= week8_end):
                continue
            kpis.model_first_meetings += 1

    async def _week8(self, session: AsyncSession, months: dict[date, MonthKpis],
                     first: date, end: date) -> None:
        # Week 8 ends on first absence day + 55: look at the cases whose week 8 ended in the
        # range and up to yesterday (ISO dates compare as text on every database).
        until = min(end, self.clock.today())
        since = (first - timedelta(days=self.week8_days)).isoformat()
        before = (until - timedelta(days=self.week8_days)).isoformat()
        held = (select(Meeting.case_id, func.min(Meeting.start).label("start"))
                .where(Meeting.municipality_id == self.municipality, Meeting.status == "held")
                .group_by(Meeting.case_id).subquery())
        rows = await session.execute(
            select(_FIRST_ABSENCE, Case.closed_on, held.c.start)
            .outerjoin(held, held.c.case_id == Case.id)
            .where(self._target(), _FIRST_ABSENCE >= since, _FIRST_ABSENCE < before))
        for absence, closed_on, start in rows.all():
            first_absence = _day(absence)
            if first_absence is None:
                continue
            week8_end = first_absence + timedelta(days=self.week8_days)
            kpis = months.get(month_start(week8_end))
            if kpis is None:
                continue
            met = start is not None and start.date() <= week8_end
            if not met and closed_on is not None and closed_on <= week8_end:
                continue  # ended before its deadline without needing the meeting
            kpis.week8_ended += 1
            if not met:
                kpis.week8_missed += 1

    async def _week13(self, session: AsyncSession, months: dict[date, MonthKpis],
                      first: date, end: date) -> None:
        """Cases whose week 13 ended in the month (up to yesterday) and were not closed
        before it without a workplace-oriented intervention, and those with one started by
        then: the target group's, and the model's population (excluded cases in), as the
        national benchmark counts. Only a workplace-oriented kind counts
        (`service.followup.intervention_kinds`: every kind but education), read from the
        interventions themselves."""
        until = min(end, self.clock.today())
        workplace = first_workplace_intervention(self.municipality)
        rows = await session.execute(
            select(Case.id, Case.intervention_deadline, workplace.c.started_on, Case.status)
            .outerjoin(workplace, workplace.c.case_id == Case.id)
            .where(Case.municipality_id == self.municipality,
                   Case.status.in_(("target", "excluded")),
                   Case.intervention_deadline >= first,
                   Case.intervention_deadline < until,
                   or_(Case.closed_on.is_(None),
                       Case.closed_on > Case.intervention_deadline,
                       workplace.c.started_on <= Case.intervention_deadline)))
        ended: dict[int, MonthKpis] = {}
        for case_id, deadline, started, status in rows.all():
            kpis = months.get(month_start(deadline))
            if kpis is None:
                continue
            met = started is not None and started <= deadline
            kpis.model_week13_ended += 1
            kpis.model_intervention_before_week13 += met
            if status != "target":
                continue
            kpis.week13_ended += 1
            kpis.intervention_before_week13 += met
            ended[case_id] = kpis
        if not ended:
            return
        # The target group's cases by each kind started by the end of week 13: the
        # workplace-oriented kinds are those counted; education is listed, not counted.
        kinds = await session.execute(
            select(Intervention.case_id, Intervention.kind).distinct()
            .join(Case, Case.id == Intervention.case_id)
            .where(Intervention.case_id.in_(list(ended)),
                   Intervention.started_on <= Case.intervention_deadline))
        for case_id, kind in kinds.all():
            by_kind = ended[case_id].intervention_kinds
            by_kind[kind] = by_kind.get(kind, 0) + 1

    async def outcomes(self, first: date, last: date) -> Outcomes:
        """The outcome figures (`service.kpis.outcomes`) of the target cases whose first
        absence day lies in the months `first`..`last` (first days, inclusive)."""
        self.check_range(first, last)
        return await OutcomeService(self.db, self.clock, self.municipality).outcomes(
            first, next_month(last))

    async def corrections(self, limit: int = 200) -> list[dict[str, Any]]:
        """Registrations that changed a month that had ended (audit `kpi.correction`), the
        newest first: which month, what, when and by whom."""
        async with self.db.read() as session:
            rows = (await session.execute(
                select(AuditEntry, Case.case_ref).outerjoin(Case, Case.id == AuditEntry.case_id)
                .where(AuditEntry.municipality_id == self.municipality,
                       AuditEntry.action == "kpi.correction")
                .order_by(AuditEntry.id.desc()).limit(limit))).all()
        return [{"month": entry.details.get("month"), "what": entry.details.get("what"),
                 "case_id": ref, "at": entry.at, "actor": entry.actor,
                 "day": (entry.details.get("held_at") or entry.details.get("started_on")
                         or "")[:10]} for entry, ref in rows]

    def _finish(self, kpis: MonthKpis) -> None:
        n = kpis.first_meetings
        kpis.workplace_share = _share(kpis.first_meetings_workplace, n)
        kpis.model_workplace_share = _share(kpis.model_first_meetings_workplace,
                                            kpis.model_first_meetings)
        kpis.handed_over_late_share = _share(kpis.handed_over_late, kpis.handed_over_known)
        kpis.employer_share = _share(kpis.employer_took_part, n)
        kpis.before_week8_share = _share(kpis.before_week8, n)
        kpis.late_over_3_weeks_share = _share(kpis.late_over_3_weeks, n)
        kpis.week8_met_share = _share(kpis.week8_ended - kpis.week8_missed, kpis.week8_ended)
        kpis.intervention_share = _share(kpis.intervention_before_week13, kpis.week13_ended)
        kpis.model_intervention_share = _share(kpis.model_intervention_before_week13,
                                               kpis.model_week13_ended)
        kpis.median_days_to_first_meeting = (
            float(statistics.median(kpis._days)) if kpis._days else None)

    # -- now: consultants' load and cases at risk -------------------------------------------

    async def incomplete(self) -> tuple[int, int]:
        """The cases whose facts are incomplete (status `incomplete`): in no figure. All of
        them, and the open ones."""
        async with self.db.read() as session:
            row = (await session.execute(
                select(func.count(Case.id),
                       func.count(Case.id).filter(Case.closed_on.is_(None)))
                .where(Case.municipality_id == self.municipality,
                       Case.status == "incomplete"))).one()
        return int(row[0]), int(row[1])

    async def load(self) -> list[ConsultantLoad]:
        """Each active consultant's caseload (`service.consultants.caseload`) against their
        capacity."""
        async with self.db.read() as session:
            consultants = (await session.execute(
                select(Consultant.id, Consultant.key, Consultant.name, Consultant.team,
                       Consultant.max_active_cases)
                .where(Consultant.municipality_id == self.municipality,
                       Consultant.active.is_(True))
                .order_by(Consultant.name, Consultant.key))).all()
            loads = await caseloads(session, self.municipality)
        return [ConsultantLoad(key, name, team, loads.get(id_, 0), capacity)
                for id_, key, name, team, capacity in consultants]

    async def unassigned(self) -> list[UnassignedCase]:
        """Open target cases without an owner that planning has looked at (it left its reason
        on the case), the earliest deadline first."""
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Case.case_ref, Case.first_meeting_deadline, Case.owner_reasons)
                .where(Case.municipality_id == self.municipality, Case.owner_id.is_(None),
                       Case.status == "target", Case.closed_on.is_(None))
                .order_by(Case.first_meeting_deadline, Case.case_ref))).all()
        out = []
        for ref, deadline, reasons in rows:
            said = next((str(r) for r in reasons or [] if str(r).startswith(UNASSIGNED_PREFIX)),
                        None)
            if said is not None:
                out.append(UnassignedCase(ref, deadline, said[len(UNASSIGNED_PREFIX):]))
        return out

    async def overdue_follow_ups(self) -> list[OverdueFollowUp]:
        """The open target cases whose follow-up is overdue, the longest overdue first."""
        today = self.clock.today()
        active = (select(Meeting.case_id, Meeting.start, Meeting.kind, Meeting.status,
                         Meeting.purpose)
                  .where(Meeting.municipality_id == self.municipality,
                         Meeting.status.in_(ACTIVE_MEETING), Meeting.kind != PRIVATE_TALK)
                  .subquery())
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Case.case_ref, Consultant.key, Consultant.name, Case.next_follow_up_due,
                       Case.follow_up, active.c.start, active.c.kind, active.c.status,
                       active.c.purpose, Consultant.workplace_meetings,
                       Consultant.workplace_meetings_from)
                .outerjoin(Consultant, Consultant.id == Case.owner_id)
                .outerjoin(active, active.c.case_id == Case.id)
                .where(Case.municipality_id == self.municipality, overdue_condition(today))
                .order_by(Case.next_follow_up_due, Case.case_ref))).all()
        return [OverdueFollowUp(
            row.case_ref, row.key, row.name, row.next_follow_up_due,
            (today - row.next_follow_up_due).days,
            follow_up_kind(row.follow_up or "", row if row.key is not None else None, today,
                           row.kind if row.purpose == FOLLOW_UP else None),
            row.start, row.kind, row.status) for row in rows]

    async def at_risk(self, within_days: int = AT_RISK_WITHIN_DAYS) -> list[CaseAtRisk]:
        """The cases whose deadline is at risk (`service.intake.signals`), the most urgent
        first."""
        today = self.clock.today()
        # The case's active meeting: proposed, or confirmed for after the deadline (late).
        active = (select(Meeting.case_id.label("case_id"), Meeting.status.label("status"))
                  .where(Meeting.municipality_id == self.municipality,
                         Meeting.status.in_(("proposed", "confirmed"))).subquery())
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Case.case_ref, Consultant.key, Consultant.name,
                       Case.first_meeting_deadline, active.c.status)
                .outerjoin(Consultant, Consultant.id == Case.owner_id)
                .outerjoin(active, active.c.case_id == Case.id)
                .where(Case.municipality_id == self.municipality,
                       at_risk_condition(today, within_days))
                .order_by(Case.first_meeting_deadline, Case.case_ref))).all()
        return [CaseAtRisk(ref, key, name, deadline, (deadline - today).days, meeting)
                for ref, key, name, deadline, meeting in rows]
