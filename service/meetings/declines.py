"""A decline reaches the consultant first (issue 19 item 5).

The employer's "kan ikke holdes på arbejdspladsen" (the link page) gives one of the fixed
reasons (`DECLINE_REASONS`) and, if they like, their own words. The meeting keeps its place
(proposed or confirmed, `employer_answer` "declined") for `[meetings]
decline_grace_working_days` Danish working days, and the owner gets a task "Ring til
arbejdsgiveren" and a Slack message naming the reason's words — never the employer's own
words, which stay in fasthold for staff.

Within the grace the consultant (the owner) or a manager can restore the workplace meeting
(`restore`: the case page, the Slack button, `POST /api/cases/{id}/decline/restore`): the
employer is told that the proposal (or the confirmed time) stands, with their link. After
it, the `end_decline_grace` job (`scan`) moves the case to a jobcentre meeting exactly as a
decline did at once before (`move_to_jobcentre`). With a grace of 0 that happens at once.

The fixed reasons: `service.meetings.decline_reasons`. The KPI counts declines
(`declined_at`) and how many were turned around (`decline_outcome == "restored"`) per month.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.service import IntakeService
from service.meetings.booking import cancel
from service.meetings.notifications import MeetingNotifier
from service.meetings.signals import invited_on, working_days_between
from service.meetings.tasks import close_tasks
from service.platform import audit
from service.platform.auth import Principal, system_principal
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Case, Meeting
from service.platform.errors import Conflict
from service.platform.policies import CANCEL_MEETING, REGISTER_MEETING
from service.platform.workdays import add_working_days

log = logging.getLogger("fasthold.meetings")

MOVED, RESTORED = "moved", "restored"
# The employer took the decline back by choosing a time on their page within the grace.
WITHDRAWN = "withdrawn"
# The owner's task while a decline waits for their call (done when it is settled).
CALL_TASK = "employer_declined"


def pending_decline(meeting: Meeting | None) -> bool:
    """The meeting's employer declined it and the grace has not ended (nor was it
    restored)."""
    return meeting is not None and meeting.status in ACTIVE_MEETING \
        and meeting.employer_answer == "declined" and meeting.decline_outcome is None


async def settle_by_a_time(session: AsyncSession, meeting: Meeting, outcome: str,
                           now: datetime) -> None:
    """A time agreed within a decline's grace settles it: the workplace meeting stands —
    `RESTORED` when staff agreed it with the employer (a confirmation or a move after the
    call), `WITHDRAWN` when the employer chose a time on their page after all; the answer
    is a confirmation now, and the owner's call task is done. (Before, the decline stayed
    pending under a confirmed meeting: its call task open for good, and a move by staff was
    moved again to the jobcentre when the grace ended.)"""
    if not pending_decline(meeting):
        return
    meeting.decline_outcome, meeting.decline_settled_at = outcome, now
    meeting.employer_answer = "confirmed"
    await close_tasks(session, meeting.case_id, (CALL_TASK,), now)


class DeclineGrace:
    """When the grace ends for a decline, and whether it is over on a day."""

    def __init__(self, working_days: int, closed: frozenset[date], clock: Clock) -> None:
        self.working_days = working_days
        self.closed = closed
        self.clock = clock

    @classmethod
    def configured(cls, config: MunicipalityConfig, clock: Clock) -> DeclineGrace:
        """`[meetings] decline_grace_working_days` on the municipality's working days."""
        return cls(config.meetings.decline_grace_working_days,
                   config.planning.closed(), clock)

    def ends_on(self, meeting: Meeting) -> date:
        """The day the case moves to the jobcentre (unless restored first)."""
        declined = meeting.declined_at or self.clock.utcnow()
        return add_working_days(invited_on(declined, self.clock.tz), self.working_days,
                                self.closed)

    def over(self, meeting: Meeting, today: date) -> bool:
        return self.over_since(meeting.declined_at, today)

    def over_since(self, declined_at: datetime | None, today: date) -> bool:
        """`over` for a decline made at `declined_at` (UTC; None: now)."""
        declined = declined_at or self.clock.utcnow()
        return working_days_between(invited_on(declined, self.clock.tz), today,
                                    self.closed) >= self.working_days


async def move_to_jobcentre(session: AsyncSession, meeting: Meeting, notifier: MeetingNotifier,
                            intake: IntakeService, clock: Clock) -> list[str]:
    """What a decline does once the grace is over (or at once without one): the workplace
    meeting is cancelled (the employer's calendar told, when it held it) and the case's facts
    say the employer declines — planning then proposes a jobcentre meeting. Returns what
    changed on the case (the caller asks for planning after the commit when not empty)."""
    meeting.decline_outcome, meeting.decline_settled_at = MOVED, clock.utcnow()
    await cancel(session, meeting, "arbejdsgiveren har takket nej til mødet på "
                 "arbejdspladsen", clock.utcnow())
    if meeting.confirmed_at is not None:
        await notifier.cancelled(session, meeting, "mødet holdes i stedet i jobcentret",
                                 follows=True, cause="employer_declined")
    principal = system_principal(meeting.municipality_id, "arbejdsgiver via link", "employer")
    return await intake.patch_case(
        session, meeting.case, {"employer_declines_workplace_meeting": True}, principal,
        trigger="employer_declined")


class EmployerDeclines:
    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        config = notifier.config
        self.municipality = config.municipality.id
        self.grace = DeclineGrace.configured(config, clock)

    async def restore(self, case_ref: str, principal: Principal) -> None:
        """After the call: the workplace meeting stands. The employer is told (the proposal
        with their link, or the confirmed time); the call task is done. `Conflict` when the
        case has no decline waiting (none, or the grace is over)."""
        async with self.intake.acting_on(REGISTER_MEETING, case_ref, principal) as (
                session, case):
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING))
                .with_for_update(of=Meeting, key_share=True))).unique().scalar_one_or_none()
            if case.closed_on is not None or not pending_decline(meeting):
                raise Conflict("the case has no employer decline to restore",
                               "no_pending_decline")
            assert meeting is not None
            meeting.employer_answer = "confirmed" if meeting.status == "confirmed" else None
            meeting.decline_outcome = RESTORED
            meeting.decline_settled_at = self.clock.utcnow()
            case.employer_called_at = case.employer_called_at or self.clock.utcnow()
            await close_tasks(session, case.id, (CALL_TASK,), self.clock.utcnow())
            await self.notifier.decline_restored(session, meeting)
            audit.record(session, principal, self.municipality, "meeting.decline_restored",
                         case.id, {"reason": meeting.decline_reason})

    async def declined_by_phone(self, case_ref: str, principal: Principal) -> int:
        """Staff register a decline the employer phoned in: the case's workplace meeting
        (its id, for `MeetingAnswers.decline`), audited. `Conflict` without one."""
        async with self.intake.acting_on(CANCEL_MEETING, case_ref, principal) as (
                session, case):
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING),
                Meeting.kind == "workplace_meeting"))).unique().scalar_one_or_none()
            if case.closed_on is not None or meeting is None:
                raise Conflict("the case has no workplace meeting to decline",
                               "no_workplace_meeting")
            audit.record(session, principal, self.municipality, "meeting.decline_registered",
                         case.id, {})
            return meeting.id

    async def scan(self) -> int:
        """The job: every decline whose grace is over moves its case to a jobcentre meeting.
        Idempotent (a settled decline is not pending). Returns how many moved."""
        today = self.clock.today()
        async with self.db.read() as session:
            waiting = (await session.execute(select(Meeting.id, Meeting.declined_at).join(
                Case, Case.id == Meeting.case_id).where(
                Meeting.municipality_id == self.municipality,
                Meeting.status.in_(ACTIVE_MEETING), Meeting.employer_answer == "declined",
                Meeting.decline_outcome.is_(None)).order_by(Meeting.id))).all()
        moved = 0
        for meeting_id, declined_at in waiting:
            if not self.grace.over_since(declined_at, today):
                # Still in its grace as read (a decline made again meanwhile only moves the
                # grace later): no transaction for it; each one over is checked again in its
                # own, locked.
                continue
            async with self.db.write() as session:
                # The meeting's case, locked first (as `acting_on` locks a case before its
                # meeting): one statement.
                case_id = (await session.execute(select(Case.id).join(
                    Meeting, Meeting.case_id == Case.id).where(Meeting.id == meeting_id)
                    .with_for_update(of=Case, key_share=True))).scalar_one()
                meeting = (await session.execute(select(Meeting).where(
                    Meeting.id == meeting_id).with_for_update(of=Meeting, key_share=True))
                ).unique().scalar_one()
                if not pending_decline(meeting) or not self.grace.over(meeting, today):
                    continue
                changed = await move_to_jobcentre(session, meeting, self.notifier,
                                                  self.intake, self.clock)
                # The call the grace asked for can no longer keep the meeting: done (it
                # stayed open in "Mine opgaver" until the case closed).
                await close_tasks(session, case_id, (CALL_TASK,), self.clock.utcnow())
                audit.record(session, None, self.municipality, "meeting.decline_moved",
                             case_id, {"reason": meeting.decline_reason})
            moved += 1
            if changed:
                self.intake.notify_changed()
        return moved
