"""When time disappears: a consultant's absence, an imported calendar event, or the consultant
made inactive, over meetings already planned. Run before every planning run (`scan`, called
by `service.planning.service.Planner`), so whatever made time disappear — a new absence, a
calendar import, a deactivation, or only time passing — is dealt with by the next plan:

- an **unconfirmed proposal** the consultant can no longer hold, or whose time has passed
  unanswered, is withdrawn (the employer told that a new proposal follows, as for any move)
  and the same run proposes a new time — the case's calendar UID stays the same;
- a **confirmed meeting** is never dropped silently: it is marked (`Meeting.conflict_at`,
  `conflict_reason` absence|calendar|inactive, or closed_day when the jobcentre closed that
  day after it was agreed and no colleague can take it) with a colleague free at the same time
  (`substitute_id`; travel, working hours, meetings per day, busy time, fixed employers and
  room respected, skills and team preferred), the consultant and the intake channel are told,
  and it is listed in "Møder der skal flyttes" until resolved: one click gives it to the
  colleague (the case's owner change moves the meeting: the employer's calendar updated,
  same UID, next SEQUENCE, the new consultant named) or asks the employer for new times.
  A conflict whose cause went away (the absence deleted) leaves the list by itself.

The same list offers, for an absence of at least `[planning] long_absence_working_days`
working days, to hand the consultant's open cases over one by one (the planner-like
suggestion and its reasons; the owner override does the rest).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.consultants.absences import long_absence_days
from service.consultants.caseload import caseloads
from service.intake.service import IntakeService
from service.intake.views import deadline_of
from service.meetings.answers import locked_meeting
from service.meetings.availability import CLOSED_DAY, Availability, travel_minutes
from service.meetings.booking import cancel
from service.meetings.notifications import MeetingNotifier
from service.meetings.staff_moves import MeetingMoves
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_PLANNED
from service.meetings.tasks import add_task_once
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantAbsence,
    Meeting,
)
from service.platform.errors import Conflict, NotFound
from service.platform.policies import RESOLVE_CONFLICT
from service.platform.workdays import is_working_day

log = logging.getLogger("fasthold.meetings")

REASON_WORDS = {"absence": "fraværende", "calendar": "optaget i sin kalender",
                "inactive": "ikke længere aktiv", "closed_day": "jobcentret har lukket den dag"}
PASSED = "tiden er passeret uden svar"
CONSULTANT_CANNOT = "konsulenten kan ikke komme på det tidspunkt"
SUBSTITUTE_NOTE = "mødet kunne ikke holdes af den tidligere konsulent"
HAND_OVER_NOTE = "konsulenten er fraværende i længere tid"


# A busy interval and its calendar UID.
Busy = tuple[datetime, datetime, str | None]


@dataclass(frozen=True)
class Suggestion:
    consultant: Consultant
    reasons: list[str]


@dataclass
class ToMove:
    """A confirmed meeting in "Møder der skal flyttes"."""

    case_ref: str
    start: datetime
    end: datetime
    kind: str
    consultant: str
    reason: str
    substitute: str | None
    substitute_key: str | None
    found_at: datetime


@dataclass
class LongAbsence:
    consultant: str
    consultant_key: str
    first_day: date
    last_day: date
    working_days: int
    reason: str
    cases: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Colleagues:
    """Who could take a case: the active consultants (by key), their active cases, and their
    absences not yet over (consultant row id, first day, last day)."""

    consultants: list[Consultant]
    load: dict[int, int]
    absences: list[tuple[int, date, date]]

    def away_on(self, day: date) -> set[int]:
        return {who for who, first, last in self.absences if first <= day <= last}


@dataclass
class ScanResult:
    withdrawn: list[str] = field(default_factory=list)  # case refs: proposals to re-plan
    conflicts: list[str] = field(default_factory=list)  # case refs newly listed
    resolved: list[str] = field(default_factory=list)  # case refs no longer listed
    talks_cancelled: list[str] = field(default_factory=list)  # case refs: talks not held


# What `MeetingConflicts.scan` reads of each active meeting (with its case's `closed_on` and
# `case_ref`).
_STANDING_COLUMNS = (Meeting.id, Meeting.status, Meeting.kind, Meeting.case_id,
                     Meeting.consultant_id, Meeting.start, Meeting.end, Meeting.travel_minutes,
                     Meeting.conflict_reason, Meeting.substitute_id, Meeting.series)


@dataclass(frozen=True, slots=True)
class _Standing:
    """An active meeting as the scan sees it (`_STANDING_COLUMNS`, the case's two)."""

    id: int
    status: str
    kind: str
    case_id: int
    consultant_id: int
    start: datetime
    end: datetime
    travel_minutes: int
    conflict_reason: str | None
    substitute_id: int | None
    series: int
    closed_on: date | None
    case_ref: str


class MeetingConflicts:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 notifier: MeetingNotifier, intake: IntakeService, moves: MeetingMoves
                 ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.moves = moves
        self.municipality = config.municipality.id

    # -- before planning ---------------------------------------------------------------------

    async def scan(self) -> ScanResult:
        """Withdraw proposals whose time has passed unanswered, list confirmed meetings that
        cannot be held (and unlist those that can again), cancel planned private talks their
        consultant can no longer hold. Idempotent: a second scan changes nothing."""
        result = ScanResult()
        now = self.clock.local_now()
        async with self.db.read() as session:
            # The columns the scan decides on (not whole meetings with their case, employer
            # and consultants: hundreds of them before every planning run); the few that
            # change are read whole, locked, by `_withdraw` and `_mark`.
            meetings = await self._standing(session, Meeting.status.in_(ACTIVE_MEETING))
            talks = await self._standing(session, Meeting.kind == PRIVATE_TALK,
                                         Meeting.status == TALK_PLANNED, Meeting.start > now)
            calendars, busy = await self._calendars(session, now.date())
        for meeting in meetings:
            if meeting.closed_on is not None:
                continue  # planning cancels it (and tells those told)
            if meeting.status == "proposed":
                # A proposal whose consultant became busy is the planner's to move (contract
                # rule 11: kept while possible, moved when not, the employer and consultant
                # told); one whose time has passed unanswered is withdrawn here, so the same
                # run proposes anew.
                if meeting.start <= now and await self._withdraw(meeting.id, PASSED):
                    result.withdrawn.append(meeting.case_ref)
                continue
            why = self._why(calendars, busy, meeting)
            if meeting.start > now and (why != meeting.conflict_reason or (
                    why is not None and meeting.substitute_id is None)):
                changed = await self._mark(meeting.id, why)
                if changed == "listed":
                    result.conflicts.append(meeting.case_ref)
                elif changed == "resolved":
                    result.resolved.append(meeting.case_ref)
        for talk in talks:
            # A planned private talk (rule 10) its consultant can no longer hold — away that
            # day, or busy in their calendar — is cancelled and the citizen told; planning
            # finds a new one when the meeting is still to be proposed, else the owner
            # agrees one (a task). Before, it stayed planned with nobody there to hold it.
            if talk.closed_on is None and self._why(calendars, busy, talk) is not None \
                    and await self._cancel_talk(talk.id):
                result.talks_cancelled.append(talk.case_ref)
        return result

    async def _standing(self, session: AsyncSession, *where: Any) -> list[_Standing]:
        """The municipality's meetings (or talks) matching `where`, as the scan reads them."""
        return [_Standing(*row) for row in (await session.execute(select(
            *_STANDING_COLUMNS, Case.closed_on, Case.case_ref).join(
            Case, Case.id == Meeting.case_id).where(
            Meeting.municipality_id == self.municipality, *where).order_by(Meeting.id)))]

    async def _cancel_talk(self, talk_id: int) -> bool:
        async with self.db.write() as session:
            talk = await locked_meeting(session, talk_id)
            if talk is None or talk.status != TALK_PLANNED:
                return False
            talk.status, talk.cancelled_at = TALK_CANCELLED, self.clock.utcnow()
            talk.cancel_reason = "konsulenten er forhindret"
            await self.notifier.talk_cancelled(session, talk, "consultant_away")
            meeting = (await session.execute(select(Meeting.id).where(
                Meeting.case_id == talk.case_id, Meeting.status.in_(ACTIVE_MEETING),
                Meeting.kind == "workplace_meeting"))).first()
            if meeting is not None:  # kept as it is: the planner adds no talk to it
                await add_task_once(
                    session, talk, "talk_to_agree",
                    "Samtalen uden arbejdsgiver blev aflyst, fordi du var forhindret. Aftal "
                    "en ny tid med borgeren før mødet på arbejdspladsen.", self.clock.utcnow())
            log.info("private talk %s cancelled before planning: its consultant is away",
                     talk_id)
            return True

    async def _calendars(self, session: AsyncSession, today: date
                         ) -> tuple[dict[int, Availability], dict[int, list[Busy]]]:
        """Every consultant with their absences, and their busy time with its UIDs, from
        today on (read at once for all the meetings)."""
        out = {c.id: Availability(self.config, c) for c in (await session.execute(
            select(Consultant).where(Consultant.municipality_id == self.municipality)
        )).scalars()}
        for a in (await session.execute(select(ConsultantAbsence).where(
                ConsultantAbsence.municipality_id == self.municipality,
                ConsultantAbsence.deleted_at.is_(None),
                ConsultantAbsence.last_day >= today))).scalars():
            if a.consultant_id in out:
                out[a.consultant_id].absences.append((a.first_day, a.last_day))
        busy: dict[int, list[Busy]] = defaultdict(list)
        for e in (await session.execute(select(CalendarEntry).where(
                CalendarEntry.municipality_id == self.municipality,
                CalendarEntry.end > datetime.combine(today, datetime.min.time())))).scalars():
            busy[e.consultant_id].append((e.start, e.end, e.uid))
        return out, busy

    def _why(self, calendars: dict[int, Availability], busy: dict[int, list[Busy]],
             meeting: _Standing) -> str | None:
        """absence | calendar | inactive when the meeting's consultant cannot hold it;
        closed_day when nobody can: the jobcentre closed that day after it was agreed."""
        base = calendars.get(meeting.consultant_id)
        if base is None:
            return None
        if not is_working_day(meeting.start.date(), self.config.planning.closed()):
            return CLOSED_DAY
        own = self.notifier.calendar_uid(meeting)
        times = [(s, e) for s, e, uid in busy.get(meeting.consultant_id, []) if uid != own]
        availability = Availability(self.config, base.consultant, absences=base.absences,
                                    busy=times)
        travel = timedelta(minutes=meeting.travel_minutes
                           if meeting.kind == "workplace_meeting" else 0)
        return availability.away(meeting.start - travel, meeting.end + travel)

    async def _withdraw(self, meeting_id: int, reason: str) -> bool:
        async with self.db.write() as session:
            meeting = await locked_meeting(session, meeting_id)
            if meeting is None or meeting.status != "proposed":
                return False
            await self.notifier.cancelled(session, meeting, reason, follows=True,
                                          cause="moved")
            await cancel(session, meeting, reason, self.clock.utcnow())
            log.info("meeting %s withdrawn before planning: %s", meeting_id, reason)
            return True

    async def _mark(self, meeting_id: int, why: str | None) -> str:
        """Mark (or unmark) a confirmed meeting's conflict; returns listed | updated |
        resolved | none."""
        async with self.db.write() as session:
            meeting = await locked_meeting(session, meeting_id)
            if meeting is None or meeting.status != "confirmed":
                return "none"
            if why is None:
                meeting.conflict_at = meeting.conflict_reason = meeting.substitute_id = None
                return "resolved"
            first = meeting.conflict_reason != why
            # The jobcentre closed that day: nobody can hold it then, no colleague to look for.
            suggestion = None if why == "closed_day" else await self.substitute(session, meeting)
            meeting.conflict_reason = why
            if first or meeting.conflict_at is None:
                meeting.conflict_at = self.clock.utcnow()
            meeting.substitute_id = suggestion.consultant.id if suggestion else None
            if first:
                await self.notifier.conflict_found(
                    session, meeting, why, suggestion.consultant.name if suggestion else None)
            return "listed" if first else "updated"

    # -- who could take it --------------------------------------------------------------------

    async def substitute(self, session: AsyncSession, meeting: Meeting) -> Suggestion | None:
        """The colleague best placed to hold `meeting` at its time (see the module's doc)."""
        return await self.suggest(session, meeting.case, meeting)

    async def colleagues(self, session: AsyncSession) -> Colleagues:
        """The active consultants, their caseloads and the absences not yet over: read once
        for a list of many suggestions (`long_absences`), each `suggest` reads them itself
        otherwise."""
        consultants = list((await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality, Consultant.active.is_(True))
            .order_by(Consultant.key))).scalars())
        load = await caseloads(session, self.municipality, owners=[c.id for c in consultants])
        absences = [tuple(row) for row in await session.execute(select(
            ConsultantAbsence.consultant_id, ConsultantAbsence.first_day,
            ConsultantAbsence.last_day).where(
            ConsultantAbsence.municipality_id == self.municipality,
            ConsultantAbsence.deleted_at.is_(None),
            ConsultantAbsence.last_day >= self.clock.today()))]
        return Colleagues(consultants, load, absences)

    async def suggest(self, session: AsyncSession, case: Case, meeting: Meeting | None,
                      at_work_on: date | None = None, colleagues: Colleagues | None = None
                      ) -> Suggestion | None:
        """A colleague for the case (and, when given, free for its meeting at its time; or
        not away on `at_work_on`, the case's deadline — one away then would hand the case on
        again): the fixed consultant of the employer first (only them under
        `fixed_employers = "hard"`), then skills, the same team, the lower load and the
        shorter travel."""
        current = case.owner_id if meeting is None else meeting.consultant_id
        if colleagues is None:
            colleagues = await self.colleagues(session)
        away = colleagues.away_on(at_work_on) if at_work_on is not None else set()
        consultants = [c for c in colleagues.consultants
                       if c.id != current and c.id not in away]
        owner = await session.get(Consultant, current) if current is not None else None
        cvr = case.employer.cvr if case.employer is not None else None
        fixed = [c for c in consultants if cvr and cvr in (c.fixed_employers or [])]
        if fixed and self.config.planning.fixed_employers == "hard":
            consultants = fixed
        load = colleagues.load
        group = case.facts.get("diagnosis_group")
        ranked: list[tuple[tuple[Any, ...], Suggestion]] = []
        for c in consultants:
            if load.get(c.id, 0) >= c.max_active_cases:
                continue
            kind = meeting.kind if meeting is not None else (case.follow_up or "")
            travel = travel_minutes(self.config, case, c, kind)
            if meeting is not None:
                day = meeting.start.date()
                availability = await Availability.load(
                    session, self.config, c, day, day, leaving_out=meeting,
                    own_uid=self.notifier.calendar_uid(meeting))
                if availability.why_not(meeting.start, meeting.end, travel,
                                        meeting.kind) is not None:
                    continue
            elif kind == "workplace_meeting" and not c.workplace_meetings:
                continue
            reasons = []
            if c in fixed:
                reasons.append("fast konsulent for virksomheden")
            skilled = bool(group) and group in (c.skills or [])
            if skilled:
                reasons.append("har det relevante speciale")
            same_team = owner is not None and c.team == owner.team
            if same_team:
                reasons.append("samme team")
            if meeting is not None:
                reasons.append("ledig på mødets tidspunkt")
            if at_work_on is not None:
                reasons.append("ikke fraværende ved fristen")
            reasons.append(f"{load.get(c.id, 0)} af {c.max_active_cases} sager")
            if travel:
                reasons.append(f"{travel} min. transport hver vej")
            ranked.append(((c not in fixed, not skilled, not same_team,
                            load.get(c.id, 0) / max(1, c.max_active_cases), travel, c.key),
                           Suggestion(c, reasons)))
        if not ranked:
            return None
        return min(ranked, key=lambda item: item[0])[1]

    # -- the list ----------------------------------------------------------------------------

    async def to_move(self, principal: Principal) -> list[ToMove]:
        """The confirmed meetings whose consultant cannot hold them, soonest first."""
        RESOLVE_CONFLICT.require_role(principal)
        async with self.db.read() as session:
            rows = (await session.execute(select(Meeting).where(
                Meeting.municipality_id == self.municipality, Meeting.status == "confirmed",
                Meeting.conflict_at.is_not(None)).order_by(Meeting.start))).unique().scalars()
            out = []
            for m in rows:
                substitute = await session.get(Consultant, m.substitute_id) \
                    if m.substitute_id is not None else None
                out.append(ToMove(
                    case_ref=m.case.case_ref, start=m.start, end=m.end, kind=m.kind,
                    consultant=m.consultant.name,
                    reason=REASON_WORDS.get(m.conflict_reason or "", "forhindret"),
                    substitute=substitute.name if substitute else None,
                    substitute_key=substitute.key if substitute else None,
                    found_at=m.conflict_at or self.clock.utcnow()))
        return out

    async def long_absences(self, principal: Principal, beginning_by: date | None = None
                            ) -> list[LongAbsence]:
        """Absences of at least `long_absence_working_days` working days, now or ahead (those
        beginning by `beginning_by`, when given), with the consultant's open cases and a
        suggested colleague for each: one not away on the case's deadline."""
        RESOLVE_CONFLICT.require_role(principal)
        today = self.clock.today()
        out: list[LongAbsence] = []
        async with self.db.read() as session:
            absences = (await session.execute(select(ConsultantAbsence).where(
                ConsultantAbsence.municipality_id == self.municipality,
                ConsultantAbsence.deleted_at.is_(None), ConsultantAbsence.last_day >= today,
                ConsultantAbsence.first_day <= (beginning_by or date.max))
                .order_by(ConsultantAbsence.first_day))).scalars().all()
            colleagues = await self.colleagues(session) if absences else None
            for absence in absences:
                days = long_absence_days(self.config, absence.first_day, absence.last_day)
                consultant = await session.get(Consultant, absence.consultant_id)
                if days is None or consultant is None:
                    continue
                item = LongAbsence(consultant.name, consultant.key, absence.first_day,
                                   absence.last_day, days, absence.reason)
                cases = (await session.execute(select(Case).where(
                    Case.owner_id == consultant.id, Case.closed_on.is_(None),
                    Case.status == "target"))).unique().scalars().all()
                # a meeting the consultant holds before the absence keeps its deadline
                before = {case_id: start.date() for case_id, start in (await session.execute(
                    select(Meeting.case_id, Meeting.start).where(
                        Meeting.case_id.in_([c.id for c in cases]),
                        Meeting.consultant_id == consultant.id,
                        Meeting.status == "confirmed",
                        Meeting.start < datetime.combine(absence.first_day, time())))).all()}
                # the case's next deadline: a follow-up's due date after the first meeting
                for case in sorted(cases, key=lambda c: (deadline_of(c), c.id)):
                    deadline = deadline_of(case)
                    suggestion = await self.suggest(session, case, None, deadline, colleagues)
                    deadline_in_absence = absence.first_day <= deadline <= absence.last_day
                    meeting_before = before.get(case.id)
                    item.cases.append({
                        "case_ref": case.case_ref, "deadline": deadline,
                        "deadline_in_absence": deadline_in_absence,
                        "meeting_before_absence": meeting_before,
                        # what the list is for: the deadline falls in the absence, and no
                        # meeting before it keeps the deadline
                        "needs_hand_over": deadline_in_absence and meeting_before is None,
                        # the week-8 deadline of the first meeting, or a follow-up's due date
                        "deadline_kind": "first_meeting" if case.next_follow_up_due is None
                        else "follow_up",
                        "suggested": suggestion.consultant.name if suggestion else None,
                        "suggested_key": suggestion.consultant.key if suggestion else None,
                        "reasons": suggestion.reasons if suggestion else []})
                out.append(item)
        return out

    # -- resolving ------------------------------------------------------------------------------

    async def accept_substitute(self, case_ref: str, principal: Principal) -> str:
        """Give the case and its confirmed meeting to the proposed colleague; returns the
        colleague's key. Conflict when the colleague is no longer free (the list is updated
        with another, if any)."""
        case = await self.intake.allowed(RESOLVE_CONFLICT, case_ref, principal)
        async with self.db.read() as session:
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status == "confirmed",
                Meeting.conflict_at.is_not(None)))).unique().scalar_one_or_none()
            if meeting is None:
                raise NotFound(f"case {case_ref!r} has no meeting to move",
                               "meeting_not_found")
            substitute = await session.get(Consultant, meeting.substitute_id) \
                if meeting.substitute_id is not None else None
            still = substitute is not None and await self._still_free(session, meeting,
                                                                      substitute)
        if substitute is None or not still:
            await self._mark(meeting.id, meeting.conflict_reason)  # look again
            raise Conflict("no colleague is free at the meeting's time any more; the list "
                           "shows who is now, or ask the employer for new times",
                           "substitute_not_free")
        await self.intake.override_owner(case_ref, substitute.key, SUBSTITUTE_NOTE, principal,
                                         category="other", policy=RESOLVE_CONFLICT)
        return substitute.key

    async def _still_free(self, session: AsyncSession, meeting: Meeting,
                          substitute: Consultant) -> bool:
        if not substitute.active:
            return False
        day = meeting.start.date()
        availability = await Availability.load(session, self.config, substitute, day, day,
                                               leaving_out=meeting,
                                               own_uid=self.notifier.calendar_uid(meeting))
        travel = travel_minutes(self.config, meeting.case, substitute, meeting.kind)
        return availability.why_not(meeting.start, meeting.end, travel, meeting.kind) is None

    async def ask_new_times(self, case_ref: str, principal: Principal) -> None:
        """The employer is asked for new times: the meeting is withdrawn (they are told the
        consultant cannot come) and planning proposes again."""
        await self.moves.new_proposals(case_ref, principal, policy=RESOLVE_CONFLICT,
                                       reason=CONSULTANT_CANNOT, employer_cannot=False)

    async def hand_over(self, case_ref: str, consultant_key: str, principal: Principal
                        ) -> None:
        """One of a long-absent consultant's cases to a colleague (the owner override)."""
        await self.intake.override_owner(case_ref, consultant_key, HAND_OVER_NOTE, principal,
                                         category="capacity", policy=RESOLVE_CONFLICT)

