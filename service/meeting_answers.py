"""The employer's answers to a meeting proposal: confirm, other times, decline, cancel.

Confirming books the consultant's minutes (travel included) in `booked_minutes`, whose primary
key makes the database refuse a second booking of the same minute: of two racing confirmations
that overlap, exactly one commits; a double click finds the meeting already confirmed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.apikeys import system_principal
from service.db.engine import Database
from service.db.models import BookedMinute, Meeting
from service.invitations import EmailFlow
from service.timeutil import COPENHAGEN, utcnow

log = logging.getLogger("fasthold.meetings")

CHANGE_UNTIL = timedelta(hours=24)  # reschedule / cancel allowed until 24 hours before


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    travel_minutes: int

    @property
    def key(self) -> str:
        return self.start.isoformat(timespec="minutes")


def offered_slots(meeting: Meeting) -> list[Slot]:
    """The proposal and its alternatives, in the order the employer sees them."""
    slots = [Slot(meeting.start, meeting.end, meeting.travel_minutes)]
    for alt in meeting.alternatives or []:
        try:
            slots.append(Slot(datetime.fromisoformat(alt["start"]),
                              datetime.fromisoformat(alt["end"]),
                              int(alt.get("travel_minutes") or 0)))
        except (KeyError, TypeError, ValueError):
            log.warning("meeting %s has a malformed alternative; skipped", meeting.id)
    return slots


def occupied_minutes(slot: Slot, kind: str) -> list[datetime]:
    """Every minute the consultant is taken: travel out, the meeting, travel back."""
    travel = slot.travel_minutes if kind == "workplace_meeting" else 0
    first = slot.start - timedelta(minutes=travel)
    last = slot.end + timedelta(minutes=travel)
    count = int((last - first).total_seconds() // 60)
    return [first + timedelta(minutes=i) for i in range(count)]


def local_now() -> datetime:
    return datetime.now(COPENHAGEN).replace(tzinfo=None)


async def free_slots(session: AsyncSession, meeting: Meeting, now: datetime | None = None
                     ) -> list[Slot]:
    """The offered slots that are still in the future and not booked by another meeting."""
    now = now or local_now()
    result = []
    for slot in offered_slots(meeting):
        if slot.start <= now:
            continue
        minutes = occupied_minutes(slot, meeting.kind)
        taken = (await session.execute(select(BookedMinute.minute).where(
            BookedMinute.consultant_id == meeting.consultant_id,
            BookedMinute.minute >= minutes[0], BookedMinute.minute <= minutes[-1],
            BookedMinute.meeting_id != meeting.id).limit(1))).first()
        if taken is None:
            result.append(slot)
    return result


class Outcome:
    CONFIRMED = "confirmed"
    ALREADY = "already_confirmed"
    TAKEN = "taken"
    UNKNOWN_SLOT = "unknown_slot"
    CLOSED = "closed"  # cancelled or moved meanwhile
    TOO_LATE = "too_late"
    DONE = "done"


class MeetingAnswers:
    """Applies an employer's answer in one transaction each."""

    def __init__(self, db: Database, flow: EmailFlow, intake: Any, planner: Any) -> None:
        self.db = db
        self.flow = flow
        self.intake = intake
        self.planner = planner

    async def confirm(self, meeting_id: int, slot_key: str) -> str:
        try:
            async with self.db.write() as session:
                meeting = await _locked(session, meeting_id)
                if meeting is None or meeting.status not in ("proposed", "confirmed"):
                    return Outcome.CLOSED
                if meeting.status == "confirmed":
                    return Outcome.ALREADY  # a double click: the first one won
                chosen = next((s for s in offered_slots(meeting) if s.key == slot_key), None)
                if chosen is None:
                    return Outcome.UNKNOWN_SLOT
                if chosen.start <= local_now():
                    return Outcome.TOO_LATE
                meeting.start, meeting.end = chosen.start, chosen.end
                meeting.travel_minutes = chosen.travel_minutes
                meeting.status = "confirmed"
                meeting.confirmed_at = utcnow()
                meeting.employer_answer = "confirmed"
                session.add_all(BookedMinute(consultant_id=meeting.consultant_id, minute=minute,
                                             meeting_id=meeting.id)
                                for minute in occupied_minutes(chosen, meeting.kind))
                await session.flush()  # the database decides who booked these minutes first
                await self.flow.confirmed(session, meeting)
        except IntegrityError:
            log.info("meeting %s: slot %s was booked by another meeting first", meeting_id,
                     slot_key)
            return Outcome.TAKEN
        self.planner.request("employer_confirmed")
        return Outcome.CONFIRMED

    async def other_times(self, meeting_id: int, preferences: dict[str, Any]) -> str:
        async with self.db.write() as session:
            meeting = await _locked(session, meeting_id)
            if meeting is None or meeting.status not in ("proposed", "confirmed"):
                return Outcome.CLOSED
            if meeting.status == "confirmed" and meeting.start - CHANGE_UNTIL <= local_now():
                return Outcome.TOO_LATE
            was_confirmed = meeting.status == "confirmed"
            meeting.employer_answer = "other_times"
            meeting.employer_preferences = preferences
            await self._cancel(session, meeting, "arbejdsgiveren har bedt om andre tider")
            if was_confirmed:
                await self.flow.cancelled(session, meeting, "arbejdsgiveren har bedt om andre "
                                          "tider", follows=True)
            wishes = ", ".join(preferences.get("weekdays_text") or []) or "alle hverdage"
            parts = ", ".join(preferences.get("parts_text") or []) or "hele dagen"
            note = f" Besked: {preferences['text']}" if preferences.get("text") else ""
            self.flow.add_task(session, meeting, "employer_other_times",
                            f"Arbejdsgiveren beder om andre tider ({wishes}; {parts}). "
                            f"Sagen planlægges igen med ønskerne.{note}")
        self.planner.request("employer_other_times")
        return Outcome.DONE

    async def decline(self, meeting_id: int, reason: str) -> str:
        async with self.db.write() as session:
            meeting = await _locked(session, meeting_id)
            if meeting is None or meeting.status not in ("proposed", "confirmed"):
                return Outcome.CLOSED
            meeting.employer_answer = "declined"
            await self._cancel(session, meeting, "arbejdsgiveren har takket nej til mødet på "
                               "arbejdspladsen")
            await self.flow.declined(session, meeting, reason)
            if meeting.confirmed_at is not None:
                await self.flow.cancelled(session, meeting, "mødet holdes i stedet i jobcentret",
                                          follows=True)
            principal = system_principal(meeting.municipality_id, "arbejdsgiver via link",
                                         "employer")
            changed = await self.intake.patch_case(
                session, meeting.case, {"employer_declines_workplace_meeting": True},
                principal, trigger="employer_declined")
        if changed:
            self.intake.notify_changed()
        return Outcome.DONE

    async def cancel(self, meeting_id: int) -> str:
        """Cancel a confirmed meeting (until 24 hours before); the case is planned again."""
        async with self.db.write() as session:
            meeting = await _locked(session, meeting_id)
            if meeting is None or meeting.status != "confirmed":
                return Outcome.CLOSED
            if meeting.start - CHANGE_UNTIL <= local_now():
                return Outcome.TOO_LATE
            meeting.employer_answer = "cancelled"
            await self._cancel(session, meeting, "aflyst af arbejdsgiveren")
            await self.flow.cancelled(session, meeting, "arbejdsgiveren har aflyst mødet",
                                      follows=True)
            self.flow.add_task(session, meeting, "employer_cancelled",
                            "Arbejdsgiveren har aflyst det bekræftede møde; sagen planlægges "
                            "igen.")
        self.planner.request("employer_cancelled")
        return Outcome.DONE

    async def _cancel(self, session: AsyncSession, meeting: Meeting, reason: str) -> None:
        meeting.status = "cancelled"
        meeting.cancelled_at = utcnow()
        meeting.cancel_reason = reason
        await session.execute(delete(BookedMinute).where(BookedMinute.meeting_id == meeting.id))


async def _locked(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """The meeting, row-locked on PostgreSQL (SQLite serialises writers anyway)."""
    return (await session.execute(select(Meeting).where(Meeting.id == meeting_id)
                                  .with_for_update(of=Meeting))).unique().scalar_one_or_none()
