"""The employer's answers to a meeting proposal: confirm, other times, decline, cancel — each
in one transaction. Staff confirming after a phone call use the same `confirm`.

Of two racing confirmations that overlap, exactly one commits (the database refuses the
second booking of a minute); a double click finds the meeting already confirmed.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.intake.service import IntakeService
from service.meetings.availability import time_closed
from service.meetings.booking import (
    DECLINED,
    Slot,
    book,
    cancel,
    declined_times,
    free_slots,
    offered_slots,
)
from service.meetings.decline_reasons import DECLINE_REASONS
from service.meetings.declines import WITHDRAWN, move_to_jobcentre, settle_by_a_time
from service.meetings.notifications import MeetingNotifier
from service.meetings.signals import can_change
from service.meetings.tasks import add_task
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Case, Meeting, OutboxMessage
from service.platform.db.plain_writes import write_changes
from service.platform.jobqueue import PLAN, JobQueue

log = logging.getLogger("fasthold.meetings")



_MEETING = select(Meeting).where(Meeting.id == bindparam("meeting"))


class Outcome:
    CONFIRMED = "confirmed"
    ALREADY = "already_confirmed"
    TAKEN = "taken"
    UNKNOWN_SLOT = "unknown_slot"
    CLOSED = "closed"  # cancelled or moved meanwhile
    TOO_LATE = "too_late"
    DONE = "done"
    UNKNOWN_REASON = "unknown_reason"


class MeetingAnswers:
    """Applies an employer's answer; asks for re-planning where the answer needs it."""

    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService, jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.jobs = jobs

    # -- what the employer's page shows ------------------------------------------------------

    async def meeting(self, meeting_id: int) -> Meeting | None:
        async with self.db.read() as session:
            return (await session.execute(select(Meeting).where(Meeting.id == meeting_id))
                    ).unique().scalar_one_or_none()

    async def successor(self, meeting: Meeting) -> Meeting | None:
        """The meeting that replaced a cancelled one, which an old link leads to: the same
        case's active workplace meeting — only when the employer's mails about the old meeting
        went to the address that is told about the new one, so an old link never shows
        another employer's meeting."""
        if meeting.status != "cancelled":
            return None
        async with self.db.read() as session:
            current = (await session.execute(select(Meeting).where(
                Meeting.case_id == meeting.case_id, Meeting.status.in_(ACTIVE_MEETING)))
            ).unique().scalar_one_or_none()
            if current is None or current.kind != "workplace_meeting":
                return None
            address = current.case.contact_email
            if not address:
                return None
            told = (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.meeting_id == meeting.id, OutboxMessage.recipient == address)
                .limit(1))).first()
        return current if told is not None else None

    async def free_slots(self, meeting: Meeting) -> list[Slot]:
        """The times still offered to the employer now, in time order: not booked by another
        meeting, nor at a time the consultant can no longer take it (`time_closed`: away,
        busy in their calendar, the day full)."""
        own_uid = self.notifier.calendar_uid(meeting)
        async with self.db.read() as session:
            slots = [s for s in await free_slots(session, meeting, self.clock.local_now())
                     if await time_closed(session, meeting, s.start, s.end, s.travel_minutes,
                                          own_uid) is None]
        return sorted(slots, key=lambda s: s.start)

    def can_change(self, meeting: Meeting) -> bool:
        """Whether the employer may still move or cancel the confirmed meeting themselves."""
        return can_change(meeting.start, self.clock.local_now())

    async def calendar_file(self, meeting: Meeting) -> bytes:
        async with self.db.read() as session:
            return await self.notifier.calendar_file(session, meeting)

    # -- answers -----------------------------------------------------------------------------

    def _replan(self, meeting_municipality: str, reason: str) -> None:
        self.jobs.request(PLAN, meeting_municipality, reason)

    async def confirm(self, meeting_id: int, slot_key: str, *,
                      decline_outcome: str = WITHDRAWN) -> str:
        """One of the offered times, chosen: the employer's on their page (staff's after a
        call: `StaffMeetings.confirm`, whose `decline_outcome` says a decline within its grace
        was turned around by the consultant, not withdrawn by the employer)."""
        try:
            async with self.db.write() as session:
                meeting = await locked_meeting(session, meeting_id)
                if meeting is None or meeting.status not in ("proposed", "confirmed") \
                        or meeting.case.closed_on is not None:
                    return Outcome.CLOSED  # (a closed case's meeting is never confirmed)
                if meeting.status == "confirmed":
                    return Outcome.ALREADY  # a double click: the first one won
                chosen = next((s for s in offered_slots(meeting) if s.key == slot_key), None)
                if chosen is None:
                    return Outcome.UNKNOWN_SLOT
                if chosen.start <= self.clock.local_now():
                    return Outcome.TOO_LATE
                if await time_closed(session, meeting, chosen.start, chosen.end,
                                     chosen.travel_minutes,
                                     self.notifier.calendar_uid(meeting)) is not None:
                    return Outcome.TAKEN  # the page no longer offers that time
                await settle_by_a_time(session, meeting, decline_outcome, self.clock.utcnow())
                meeting.start, meeting.end = chosen.start, chosen.end
                meeting.travel_minutes = chosen.travel_minutes
                meeting.status = "confirmed"
                meeting.confirmed_at = self.clock.utcnow()
                meeting.employer_answer = "confirmed"
                # written now as a plain statement (the flush at commit is left the task
                # and the messages the notifier adds)
                await write_changes(session, meeting.confirmed_at, meeting)
                # the database decides who booked these minutes first
                await book(session, meeting, chosen)
                await self.notifier.confirmed(session, meeting)
                municipality = meeting.municipality_id
        except IntegrityError:
            log.info("meeting %s: slot %s was booked by another meeting first", meeting_id,
                     slot_key)
            return Outcome.TAKEN
        self._replan(municipality, "employer_confirmed")
        return Outcome.CONFIRMED

    async def other_times(self, meeting_id: int, preferences: dict[str, Any]) -> str:
        async with self.db.write() as session:
            meeting = await locked_meeting(session, meeting_id)
            if meeting is None or meeting.status not in ("proposed", "confirmed"):
                return Outcome.CLOSED
            if meeting.status == "confirmed" and \
                    not can_change(meeting.start, self.clock.local_now()):
                return Outcome.TOO_LATE
            was_confirmed = meeting.status == "confirmed"
            meeting.employer_answer = "other_times"
            # the times they were offered are the ones they turned down
            meeting.employer_preferences = preferences | {
                DECLINED: declined_times(meeting, self.clock.local_now())}
            await self._cancel(session, meeting, "arbejdsgiveren har bedt om andre tider")
            if was_confirmed:
                await self.notifier.cancelled(session, meeting, "arbejdsgiveren har bedt om "
                                              "andre tider", follows=True,
                                              cause="employer_other_times")
            wishes = ", ".join(preferences.get("weekdays_text") or []) or "alle hverdage"
            parts = ", ".join(preferences.get("parts_text") or []) or "hele dagen"
            note = f" Besked: {preferences['text']}" if preferences.get("text") else ""
            await add_task(session, meeting, "employer_other_times",
                           f"Arbejdsgiveren beder om andre tider ({wishes}; {parts}). "
                           f"Sagen planlægges igen med ønskerne.{note}", self.clock.utcnow())
            await self.notifier.other_times_asked(session, meeting, f"{wishes}; {parts}")
            municipality = meeting.municipality_id
        self._replan(municipality, "employer_other_times")
        return Outcome.DONE

    async def decline(self, meeting_id: int, reason: str, note: str = "") -> str:
        """The employer's "cannot be held at the workplace": `reason` one of
        `DECLINE_REASONS` (else `UNKNOWN_REASON`), `note` their own words (kept for staff).
        The owner is asked to call first; the case moves to a jobcentre meeting when the
        grace is over (`service.meetings.declines`), at once without one."""
        if reason not in DECLINE_REASONS:
            return Outcome.UNKNOWN_REASON
        grace = self.notifier.config.meetings.decline_grace_working_days
        changed: list[str] = []
        async with self.db.write() as session:
            meeting = await locked_meeting(session, meeting_id)
            if meeting is None or meeting.status not in ("proposed", "confirmed") \
                    or meeting.case.closed_on is not None:
                return Outcome.CLOSED
            if meeting.employer_answer == "declined":
                return Outcome.DONE  # a double submit: the first one counts
            meeting.employer_answer = "declined"
            meeting.declined_at = self.clock.utcnow()
            meeting.decline_reason, meeting.decline_note = reason, note or None
            # Declined again after a restore: a new grace (the last decline is what counts).
            meeting.decline_outcome = meeting.decline_settled_at = None
            await self.notifier.declined(session, meeting, note, reason=reason,
                                         grace=grace > 0)
            if grace == 0:
                changed = await move_to_jobcentre(session, meeting, self.notifier,
                                                  self.intake, self.clock)
        if changed:
            self.intake.notify_changed()
        return Outcome.DONE

    async def cancel(self, meeting_id: int) -> str:
        """Cancel a confirmed meeting (until 24 hours before); the case is planned again."""
        async with self.db.write() as session:
            meeting = await locked_meeting(session, meeting_id)
            if meeting is None or meeting.status != "confirmed":
                return Outcome.CLOSED
            if not can_change(meeting.start, self.clock.local_now()):
                return Outcome.TOO_LATE
            meeting.employer_answer = "cancelled"
            # the time they cancelled is not offered to them again
            meeting.employer_preferences = {DECLINED: declined_times(meeting)}
            await self._cancel(session, meeting, "aflyst af arbejdsgiveren")
            await self.notifier.cancelled(session, meeting, "arbejdsgiveren har aflyst mødet",
                                          follows=True, cause="employer_cancelled")
            await add_task(session, meeting, "employer_cancelled",
                           "Arbejdsgiveren har aflyst det bekræftede møde; sagen planlægges "
                           "igen.", self.clock.utcnow())
            municipality = meeting.municipality_id
        self._replan(municipality, "employer_cancelled")
        return Outcome.DONE

    async def _cancel(self, session: AsyncSession, meeting: Meeting, reason: str) -> None:
        await cancel(session, meeting, reason, self.clock.utcnow())


async def locked_meeting(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """The meeting, row-locked on PostgreSQL (SQLite serialises writers anyway), its case
    locked first: every writer locks a case before its meetings (planning, closing, owner
    changes, registrations), else an answer and a planning run deadlock — the answer holding
    the meeting and waiting for the case (it changes the case's facts), the run the reverse.
    The locks are FOR NO KEY UPDATE, so the key checks of rows that refer to them (outbox,
    tasks) never wait for them. SQLite has no row locks (its one writer holds the whole
    file): there the meeting is only read — the two statements that lock would read nothing
    the caller uses."""
    if session.get_bind().dialect.name == "sqlite":
        return (await session.execute(_MEETING, {"meeting": meeting_id})
                ).unique().scalar_one_or_none()
    case_id = (await session.execute(select(Meeting.case_id).where(Meeting.id == meeting_id))
               ).scalar_one_or_none()
    if case_id is None:
        return None
    await session.execute(select(Case.id).where(Case.id == case_id)
                          .with_for_update(key_share=True))
    return (await session.execute(select(Meeting).where(Meeting.id == meeting_id)
                                  .with_for_update(of=Meeting, key_share=True))
            ).unique().scalar_one_or_none()
