"""A consultant's work as the staff pages show it: their open cases with deadlines and the next
thing to do, one case with what was registered, and their week (meetings with travel time,
busy entries). Read-only; every read of cases is in the audit log.

Need to know: a consultant sees only the cases they own; managers and admins may look at any
consultant's cases and week (`consultant_key` chosen by them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.followup.follow_ups import next_follow_up, planned_follow_up_kind
from service.followup.records import HeldMeeting, InterventionRow, held_meetings, interventions
from service.followup.signals import NextAction, case_work, next_action
from service.intake.signals import deadline_at_risk, first_meeting_settled
from service.meetings.decline_reasons import DECLINE_REASONS
from service.meetings.declines import DeclineGrace, pending_decline
from service.meetings.signals import UnansweredRule
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_HELD, TALK_NOT_HELD, TALK_PLANNED
from service.platform.audit import ReadAudit
from service.platform.auth import Principal, may_see, need_to_know
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantAbsence,
    ConsultantTask,
    Meeting,
)
from service.platform.errors import Invalid, NotFound

# Meetings shown in a week: the active ones and those already registered (the private
# talks too: planned, held, not held).
WEEK_STATUSES = ("proposed", "confirmed", "held", "not_held", TALK_PLANNED, TALK_HELD,
                 TALK_NOT_HELD)


@dataclass
class MeetingView:
    id: int
    case_ref: str
    kind: str
    status: str
    start: datetime
    end: datetime
    travel_minutes: int
    place: str | None
    employer_took_part: bool | None
    employer_name: str | None
    address: str | None
    invited_at: datetime | None
    employer_answer: str | None
    # `after_calls`: the employer's invitation waits for the consultant's calls.
    invitation_held: bool = False
    # The employer declined; within the grace (the reason's words, their own words: staff).
    decline_pending: bool = False
    decline_reason: str = ""
    decline_note: str = ""
    decline_ends: date | None = None  # the day the grace ends (the case moves, unless restored)


@dataclass(frozen=True)
class TaskView:
    """An open task of the case (its id, for marking it done)."""

    id: int
    text: str
    due_on: date | None = None  # an agreement's date

    def __str__(self) -> str:
        return self.text


@dataclass
class CaseView:
    case_ref: str
    citizen_name: str | None
    citizen_phone: str | None
    employer_name: str | None
    employer_contact: str | None
    employer_phone: str | None
    follow_up: str | None
    first_absence_day: date | None
    first_meeting_deadline: date
    intervention_deadline: date
    citizen_called_at: datetime | None
    employer_called_at: datetime | None
    intervention_started_on: date | None
    closed_on: date | None
    owner_key: str | None
    owner_name: str | None
    meeting: MeetingView | None = None  # the active (proposed / confirmed) meeting
    held: MeetingView | None = None  # the first meeting held
    talk: MeetingView | None = None  # the citizen's private talk (planned or held)
    private_talk_first: bool = False
    tasks: list[TaskView] = field(default_factory=list)
    next_action: NextAction | None = None
    days_left: int = 0
    at_risk: bool = False  # `service.intake.signals.deadline_at_risk`
    status: str = "target"
    # One case's page only: its held meetings with their minutes, and its interventions.
    held_meetings: list[HeldMeeting] = field(default_factory=list)
    interventions: list[InterventionRow] = field(default_factory=list)
    # `{"due", "kind"}` after the first meeting was held (service.followup.follow_ups)
    next_follow_up: dict[str, Any] | None = None
    next_follow_up_due: date | None = None  # the case's row, as `next_action` reads it
    erased_at: datetime | None = None  # its personal data erased (`service.retention`)


@dataclass
class BusyView:
    start: datetime
    end: datetime
    title: str


@dataclass
class AbsenceView:
    """Whole days the consultant is away (registered in fasthold), `reason` its code."""

    first_day: date
    last_day: date
    reason: str


@dataclass
class WeekView:
    consultant_key: str
    consultant_name: str
    monday: date
    meetings: list[MeetingView]
    busy: list[BusyView]
    absences: list[AbsenceView] = field(default_factory=list)


def meeting_view(meeting: Meeting, case_ref: str, grace: DeclineGrace) -> MeetingView:
    """A meeting row as the staff pages and Slack show it (what `next_action` reads)."""
    pending = pending_decline(meeting)
    employer = meeting.case.employer if meeting.case is not None else None
    return MeetingView(
        id=meeting.id, case_ref=case_ref, kind=meeting.kind, status=meeting.status,
        start=meeting.start, end=meeting.end,
        travel_minutes=meeting.travel_minutes if meeting.kind == "workplace_meeting" else 0,
        place=meeting.place, employer_took_part=meeting.employer_took_part,
        employer_name=employer.name if employer else None,
        address=meeting.case.workplace_address if meeting.case is not None else None,
        invited_at=as_utc(meeting.invited_at) if meeting.invited_at else None,
        employer_answer=meeting.employer_answer,
        invitation_held=meeting.invitation_held_at is not None and meeting.invited_at is None
        and meeting.status == "proposed",
        decline_pending=pending,
        decline_reason=DECLINE_REASONS.get(meeting.decline_reason or "", ""),
        decline_note=meeting.decline_note or "",
        decline_ends=grace.ends_on(meeting) if pending else None)


class ConsultantWork:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 reads: ReadAudit) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.reads = reads
        self.municipality = config.municipality.id
        self.unanswered = UnansweredRule.configured(config, clock.tz)
        self.grace = DeclineGrace.configured(config, clock)

    def _view(self, meeting: Meeting, case_ref: str) -> MeetingView:
        return meeting_view(meeting, case_ref, self.grace)

    async def consultant_for(self, principal: Principal, chosen: str | None) -> str:
        """Whose cases and week: a consultant always their own; a manager or admin the one
        they chose (default the first active consultant, as the database has them)."""
        if principal.role == "consultant":
            return principal.consultant_key or ""
        async with self.db.read() as session:
            rows = (await session.execute(select(Consultant.key, Consultant.active).where(
                Consultant.municipality_id == self.municipality).order_by(Consultant.id))
            ).all()
        if chosen is None or chosen == "":
            return next((key for key, active in rows if active), rows[0][0] if rows else "")
        if chosen not in {key for key, _ in rows}:
            raise Invalid.field("konsulent", "unknown consultant", "unknown_consultant")
        return chosen

    # -- next action ----------------------------------------------------------------------------

    def at_risk(self, case: CaseView) -> bool:
        """The deadline-at-risk signal for a case as listed (open target cases)."""
        meeting = case.meeting
        settled = first_meeting_settled(
            held=case.held is not None, meeting_status=meeting.status if meeting else None,
            meeting_start=meeting.start if meeting else None,
            deadline=case.first_meeting_deadline)
        return deadline_at_risk(status=case.status, closed_on=case.closed_on,
                                deadline=case.first_meeting_deadline, settled=settled,
                                today=self.clock.today())

    def next_action(self, case: CaseView) -> NextAction:
        """The one thing to do next (`service.followup.signals.next_action`)."""
        today, meeting = self.clock.today(), case.meeting
        return next_action(case_work(
            case, meeting, held=case.held is not None,
            unanswered=meeting is not None and self.unanswered.due(
                kind=meeting.kind, status=meeting.status, invited_at=meeting.invited_at,
                employer_answer=meeting.employer_answer, today=today),
            at_risk=self.at_risk(case),
            follow_up_kind=case.next_follow_up["kind"] if case.next_follow_up else None),
            today=today, now=self.clock.local_now())

    # -- reads ----------------------------------------------------------------------------------

    def _case_query(self) -> Any:
        return (select(Case, Consultant.key, Consultant.name)
                .outerjoin(Consultant, Consultant.id == Case.owner_id)
                .where(Case.municipality_id == self.municipality))

    async def _views(self, session: Any, rows: list[Any]) -> list[CaseView]:
        cases = {case.id: CaseView(
            case_ref=case.case_ref, citizen_name=case.citizen_name,
            citizen_phone=case.citizen_phone,
            employer_name=case.employer.name if case.employer else None,
            employer_contact=case.contact_name,  # the case's own contact (nearest manager)
            employer_phone=case.contact_phone,
            follow_up=case.follow_up,
            first_absence_day=_day(case.facts.get("first_absence_day")),
            first_meeting_deadline=case.first_meeting_deadline,
            intervention_deadline=case.intervention_deadline,
            citizen_called_at=as_utc(case.citizen_called_at) if case.citizen_called_at
            else None,
            employer_called_at=as_utc(case.employer_called_at) if case.employer_called_at
            else None,
            intervention_started_on=case.intervention_started_on, closed_on=case.closed_on,
            owner_key=key, owner_name=name, status=case.status,
            private_talk_first=case.private_talk_first,
            next_follow_up_due=case.next_follow_up_due,
            erased_at=as_utc(case.erased_at) if case.erased_at else None)
            for case, key, name in rows}
        if not cases:
            return []
        refs = {case_id: view.case_ref for case_id, view in cases.items()}
        meetings = (await session.execute(
            select(Meeting).where(Meeting.case_id.in_(list(cases)),
                                  Meeting.status.in_((*ACTIVE_MEETING, "held")))
            .order_by(Meeting.start, Meeting.id))).unique().scalars().all()
        for talk in (await session.execute(
                select(Meeting).where(Meeting.case_id.in_(list(cases)),
                                      Meeting.kind == PRIVATE_TALK,
                                      Meeting.status.in_((TALK_PLANNED, TALK_HELD)))
                .order_by(Meeting.id))).unique().scalars():
            cases[talk.case_id].talk = self._view(talk, refs[talk.case_id])
        planned: dict[int, str | None] = {}
        for meeting in meetings:
            view = cases[meeting.case_id]
            if meeting.status == "held":
                if view.held is None:
                    view.held = self._view(meeting, refs[meeting.case_id])
            else:
                view.meeting = self._view(meeting, refs[meeting.case_id])
                planned[meeting.case_id] = planned_follow_up_kind(meeting)
        today = self.clock.today()
        for case, _, _ in rows:
            cases[case.id].next_follow_up = next_follow_up(
                case, owner=case.owner, today=today, planned_kind=planned.get(case.id))
        for case_id, task_id, text, due_on in (await session.execute(
                select(ConsultantTask.case_id, ConsultantTask.id, ConsultantTask.text,
                       ConsultantTask.due_on).where(
                    ConsultantTask.case_id.in_(list(cases)), ConsultantTask.done_at.is_(None))
                .order_by(ConsultantTask.id))).all():
            cases[case_id].tasks.append(TaskView(task_id, text, due_on))
        for view in cases.values():
            view.at_risk = self.at_risk(view)
            view.next_action = self.next_action(view)
            view.days_left = (view.first_meeting_deadline - today).days
        return list(cases.values())

    async def my_cases(self, principal: Principal, consultant_key: str) -> list[CaseView]:
        """The consultant's open cases, the nearest first-meeting deadline first (those with a
        held first meeting after them, by intervention deadline)."""
        async with self.db.read() as session:
            rows = (await session.execute(self._case_query().where(
                Consultant.key == consultant_key, Case.closed_on.is_(None),
                Case.status == "target"))).unique().all()
            views = await self._views(session, list(rows))
        views.sort(key=lambda v: (v.held is not None, v.intervention_deadline
                                  if v.held is not None else v.first_meeting_deadline,
                                  v.case_ref))
        await self.reads.record(principal, self.municipality, "case.list", None, {
            "page": "my-cases", "consultant": consultant_key, "count": len(views)})
        return views

    async def case(self, case_ref: str, principal: Principal) -> CaseView:
        """One case as its owner sees it; another consultant's case does not exist for them
        (and the attempt is audited)."""
        async with self.db.read() as session:
            row = (await session.execute(self._case_query().where(
                Case.case_ref == case_ref))).unique().first()
            if row is None:
                raise NotFound(f"no case with case_id {case_ref!r}", "case_not_found")
            case, key, _ = row
            if not may_see(principal, key):
                await self.reads.record(principal, self.municipality, "case.read_refused",
                                        case.id, {"page": "my-cases"})
                raise NotFound(f"no case with case_id {case_ref!r}", "case_not_found")
            (view,) = await self._views(session, [row])
            view.held_meetings = await held_meetings(session, case.id)
            view.interventions = await interventions(session, case.id)
        await self.reads.record(principal, self.municipality, "case.read", case.id,
                                {"page": "my-cases"})
        return view

    async def week(self, principal: Principal, consultant_key: str, monday: date
                   ) -> WeekView:
        """The consultant's meetings and busy entries from `monday` for seven days."""
        start = datetime.combine(monday, time(0))
        end = start + timedelta(days=7)
        async with self.db.read() as session:
            consultant = (await session.execute(select(Consultant).where(
                Consultant.municipality_id == self.municipality,
                Consultant.key == consultant_key))).scalar_one_or_none()
            if consultant is None:
                raise NotFound("no such consultant", "consultant_not_found")
            query = (select(Meeting, Case.case_ref).join(Case, Case.id == Meeting.case_id)
                     .where(Meeting.consultant_id == consultant.id,
                            Meeting.status.in_(WEEK_STATUSES),
                            Meeting.start < end, Meeting.end > start))
            only = need_to_know(principal)
            if only is not None:
                # Need to know: a consultant's week is their own, and shows only meetings of
                # cases they own (not one held before a case was handed on).
                if only != consultant.key:
                    raise NotFound("no such consultant", "consultant_not_found")
                query = query.where(Case.owner_id == consultant.id)
            meetings = (await session.execute(query.order_by(Meeting.start))).unique().all()
            busy = (await session.execute(select(CalendarEntry).where(
                CalendarEntry.consultant_id == consultant.id,
                CalendarEntry.start < end, CalendarEntry.end > start)
                .order_by(CalendarEntry.start))).scalars().all()
            away = (await session.execute(select(ConsultantAbsence).where(
                ConsultantAbsence.municipality_id == self.municipality,
                ConsultantAbsence.consultant_id == consultant.id,
                ConsultantAbsence.deleted_at.is_(None),
                ConsultantAbsence.first_day <= monday + timedelta(days=6),
                ConsultantAbsence.last_day >= monday)
                .order_by(ConsultantAbsence.first_day))).scalars().all()
        await self.reads.record(principal, self.municipality, "case.list", None, {
            "page": "week", "consultant": consultant_key, "week": monday.isoformat(),
            "count": len(meetings)})
        return WeekView(consultant_key, consultant.name, monday,
                        [self._view(m, ref) for m, ref in meetings],
                        [BusyView(b.start, b.end, b.title) for b in busy],
                        [AbsenceView(a.first_day, a.last_day, a.reason) for a in away])


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
