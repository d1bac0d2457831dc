"""Staff move or cancel a case's meeting — the employer usually phones.

- **Move to a time** the consultant has free (`free_times` offers them, as the employer's page
  offers its slots; any time that passes the same check is taken): the meeting is confirmed
  there — agreed on the phone — and the employer gets the calendar request (the case's UID,
  the next SEQUENCE) and the citizen the new time.
- **New proposals**: the meeting is withdrawn (the employer and, for a confirmed meeting, the
  citizen told that new times follow) and planning proposes again; the times the employer
  could not make are kept as their unavailable times, so the new proposal is another one.
- **Cancel** (a reason is required): the employer's calendar gets a METHOD:CANCEL (same UID,
  higher SEQUENCE), the citizen is told with the reason, and planning proposes a new time
  while the case still needs its first meeting.

Who may: `MOVE_MEETING` and `CANCEL_MEETING` (the owner, intake, managers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.service import IntakeService
from service.intake.views import deadline_of
from service.meetings.answers import locked_meeting
from service.meetings.availability import Availability, travel_minutes
from service.meetings.booking import (
    DECLINED,
    Slot,
    book,
    cancel,
    declined_times,
    free_minutes,
    offered_slots,
)
from service.meetings.declines import RESTORED, settle_by_a_time
from service.meetings.notifications import MeetingNotifier
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Case, Meeting
from service.platform.errors import Conflict, Invalid, NotFound
from service.platform.http import text_problem
from service.platform.inputs import local_minute
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import CANCEL_MEETING, MOVE_MEETING, READ_CASE, Policy

# How far ahead free times are offered, and how many a day at most.
FREE_DAYS = 14
FREE_PER_DAY = 3
MAX_REASON = 300

WHY_NOT = {
    "inactive": "konsulenten er ikke længere aktiv",
    "absence": "konsulenten er fraværende den dag",
    "calendar": "konsulenten er optaget i sin kalender",
    "no_workplace_meetings": "konsulenten holder ikke møder på arbejdspladser den dag",
    "closed_day": "det er ikke en arbejdsdag",
    "outside_hours": "tidspunktet (med transport) ligger uden for konsulentens arbejdstid",
    "booked": "konsulenten har et andet møde på det tidspunkt",
    "day_full": "konsulenten har allerede det største antal møder den dag",
}


@dataclass(frozen=True)
class MoveResult:
    case_ref: str
    outcome: str  # moved | reproposed | cancelled


class MeetingMoves:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 notifier: MeetingNotifier, intake: IntakeService, jobs: JobQueue) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.jobs = jobs
        self.municipality = config.municipality.id

    # -- reading ---------------------------------------------------------------------------

    async def current(self, case_ref: str, principal: Principal,
                      policy: Policy = READ_CASE) -> tuple[Case, Meeting | None]:
        """The case (if `principal` may act on it under `policy`) and its active meeting."""
        case = await self.intake.allowed(policy, case_ref, principal)
        async with self.db.read() as session:
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING)))
            ).unique().scalar_one_or_none()
        return case, meeting

    async def free_times(self, case_ref: str, principal: Principal,
                         days: int = FREE_DAYS) -> list[Slot]:
        """Times the meeting's consultant has free for it, from tomorrow, on the planning
        grid (at most `FREE_PER_DAY` a day, spread over the day)."""
        _, meeting = await self.current(case_ref, principal, MOVE_MEETING)
        if meeting is None:
            raise NotFound(f"case {case_ref!r} has no meeting to move", "meeting_not_found")
        first = self.clock.today() + timedelta(days=1)
        last = first + timedelta(days=days - 1)
        async with self.db.read() as session:
            availability = await Availability.load(
                session, self.config, meeting.consultant, first, last, leaving_out=meeting,
                own_uid=self.notifier.calendar_uid(meeting))
        return [s for s in free_slots(availability, meeting, first, last,
                                      self.config.planning.slot_minutes)
                if s.start != meeting.start]  # where it is now is no move

    # -- changing --------------------------------------------------------------------------

    async def move(self, case_ref: str, start: str, principal: Principal) -> MoveResult:
        """Confirm the case's meeting at `start` (local `YYYY-MM-DDTHH:MM`), a time its
        consultant has free."""
        when = local_minute(start)
        if when <= self.clock.local_now():
            raise Invalid.field("start", "is in the past", "time_in_past")
        horizon = self.config.planning.horizon_days
        if when.date() > self.clock.today() + timedelta(days=horizon):
            # beyond what is planned at all (a year 3000 was taken, and 9999-12-31 a 500)
            raise Invalid.field("start", f"is more than {horizon} days ahead (the planning "
                                "horizon)", "time_too_far", {"days": horizon})
        if (when.hour * 60 + when.minute) % self.config.planning.slot_minutes:
            raise Invalid.field("start", f"must be on the {self.config.planning.slot_minutes}"
                                "-minute grid", "off_grid")
        try:
            async with self.intake.acting_on(MOVE_MEETING, case_ref, principal) as (
                    session, case):
                meeting = await self._active(session, case, case_ref)
                end = when + (meeting.end - meeting.start)
                travel = travel_minutes(self.config, case, meeting.consultant, meeting.kind)
                availability = await Availability.load(
                    session, self.config, meeting.consultant, when.date(), when.date(),
                    leaving_out=meeting, own_uid=self.notifier.calendar_uid(meeting))
                why = availability.why_not(when, end, travel, meeting.kind)
                if why is not None:
                    raise Invalid.field("start", f"the consultant is not free then: "
                                        f"{WHY_NOT[why]}", "consultant_not_free",
                                        {"why": why})
                before = meeting.start.isoformat(timespec="minutes")
                # the time the employer and the citizen were told, which no longer holds
                told = (meeting.start, meeting.end) if meeting.status == "confirmed" else None
                # agreed with the employer: a decline within its grace is turned around
                await settle_by_a_time(session, meeting, RESTORED, self.clock.utcnow())
                await free_minutes(session, meeting.id)
                meeting.start, meeting.end, meeting.travel_minutes = when, end, travel
                meeting.status = "confirmed"
                meeting.confirmed_at = self.clock.utcnow()
                meeting.alternatives = []
                # a follow-up meeting is on time by its due date (issue 20 item 4)
                meeting.on_time = when.date() <= deadline_of(case, meeting)
                meeting.conflict_at = meeting.conflict_reason = meeting.substitute_id = None
                # the database refuses minutes booked meanwhile
                await book(session, meeting, Slot(when, end, travel))
                await self.notifier.moved(session, meeting, moved_from=told)
                audit.record(session, principal, self.municipality, "meeting.move_by_staff",
                             case.id, {"from": before, "to": start})
        except IntegrityError:
            raise Conflict("the consultant was booked at that time meanwhile; choose another",
                           "slot_taken") from None
        self.jobs.request(PLAN, self.municipality, "meeting_moved")
        return MoveResult(case_ref, "moved")

    async def new_proposals(self, case_ref: str, principal: Principal, *,
                            policy: Policy = MOVE_MEETING,
                            reason: str = "arbejdsgiveren har bedt om nye forslag",
                            employer_cannot: bool = True) -> MoveResult:
        """Withdraw the meeting and let planning propose again; `employer_cannot`: the
        offered times are the employer's unavailable times from now on (they said so)."""
        async with self.intake.acting_on(policy, case_ref, principal) as (session, case):
            meeting = await self._active(session, case, case_ref)
            if employer_cannot and case.employer is not None:
                now = self.clock.local_now()
                gone = [{"start": s.start.isoformat(timespec="minutes"),
                         "end": s.end.isoformat(timespec="minutes")}
                        for s in offered_slots(meeting) if s.start > now]
                case.employer.unavailable = [*(case.employer.unavailable or []), *gone]
            await self.notifier.cancelled(session, meeting, reason, follows=True)
            await cancel(session, meeting, reason, self.clock.utcnow())
            audit.record(session, principal, self.municipality, "meeting.new_proposals",
                         case.id, {"start": meeting.start.isoformat(timespec="minutes"),
                                   "reason": reason})
        self.jobs.request(PLAN, self.municipality, "meeting_new_proposals")
        return MoveResult(case_ref, "reproposed")

    async def cancel(self, case_ref: str, reason: str, principal: Principal) -> MoveResult:
        """Cancel the meeting with `reason` (told to employer and citizen)."""
        reason = " ".join(reason.split())
        if not reason:
            raise Invalid.field("reason", "is required", "missing")
        if len(reason) > MAX_REASON:
            raise Invalid.field("reason", f"must be at most {MAX_REASON} characters",
                                "string_too_long", {"max_length": MAX_REASON})
        problem = text_problem(reason)
        if problem:
            raise Invalid.field("reason", problem, "not_storable")
        async with self.intake.acting_on(CANCEL_MEETING, case_ref, principal) as (
                session, case):
            meeting = await self._active(session, case, case_ref)
            # whatever the reason, the time it had is not proposed to the case again
            meeting.employer_preferences = {**(meeting.employer_preferences or {}),
                                            DECLINED: declined_times(meeting)}
            await self.notifier.cancelled(session, meeting, reason, follows=True)
            await cancel(session, meeting, f"aflyst: {reason}"[:300], self.clock.utcnow())
            audit.record(session, principal, self.municipality, "meeting.cancel_by_staff",
                         case.id, {"start": meeting.start.isoformat(timespec="minutes")})
        self.jobs.request(PLAN, self.municipality, "meeting_cancelled")
        return MoveResult(case_ref, "cancelled")

    @staticmethod
    async def _active(session: AsyncSession, case: Case, case_ref: str) -> Meeting:
        meeting_id = (await session.execute(select(Meeting.id).where(
            Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING)))
        ).scalar_one_or_none()
        meeting = await locked_meeting(session, meeting_id) if meeting_id is not None \
            else None
        if meeting is None:
            raise NotFound(f"case {case_ref!r} has no meeting to move or cancel",
                           "meeting_not_found")
        return meeting


def free_slots(availability: Availability, meeting: Meeting, first: date, last: date,
               step: int) -> list[Slot]:
    """The grid times from `first` to `last` the consultant can hold `meeting` at, at most
    `FREE_PER_DAY` a day, spread over the day."""
    duration = meeting.end - meeting.start
    travel = travel_minutes(availability.config, meeting.case, availability.consultant,
                            meeting.kind)
    out: list[Slot] = []
    day = first
    while day <= last:
        hours = availability.hours(day)
        if hours is not None:
            found: list[Slot] = []
            at = hours[0]
            while at + duration <= hours[1]:
                if availability.why_not(at, at + duration, travel, meeting.kind) is None:
                    found.append(Slot(at, at + duration, travel))
                at += timedelta(minutes=step)
            if len(found) > FREE_PER_DAY:
                gap = len(found) / FREE_PER_DAY
                found = [found[int(i * gap)] for i in range(FREE_PER_DAY)]
            out += found
        day += timedelta(days=1)
    return out
