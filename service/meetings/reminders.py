"""Reminders to employers: no answer after N working days, and on the working day before a
confirmed meeting (`reminder_due`: Friday for a Monday meeting); and to consultants
(`ConsultantReminderScan`: in the app, Slack's `service.slack.reminders`, wired by the
composition). Run as the
`send_reminders` job: each is sent once (the outbox remembers what was sent), so a rerun
never sends one twice."""

from __future__ import annotations

import logging
from datetime import date
from typing import Protocol

from sqlalchemy import select

from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.notifications import MeetingNotifier
from service.meetings.signals import UnansweredRule, reminder_due
from service.platform.db.engine import Database
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.text.danish import coming_day, danish_slot

log = logging.getLogger("fasthold.reminders")

DAYTIME = (7, 18)  # reminders go out in the daytime (local time), not at night


class ConsultantReminderScan(Protocol):
    """The consultants' reminders due on a day, each sent once; returns how many were sent."""

    async def send_due(self, today: date) -> int: ...


class Reminders:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 notifier: MeetingNotifier, consultants: ConsultantReminderScan | None = None
                 ) -> None:
        self.db = db
        self.consultants = consultants
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.unanswered = UnansweredRule.configured(config, clock.tz)

    async def scan(self) -> int:
        """The job: in the daytime, send what is due today."""
        if not DAYTIME[0] <= self.clock.now().hour < DAYTIME[1]:
            return 0
        today = self.clock.today()
        count = await self.send_due(today)
        if self.consultants is not None:
            count += await self.consultants.send_due(today)
        return count

    async def send_due(self, today: date) -> int:
        """Queue every reminder due on `today`; returns how many.

        Which reminders are due is decided on a few columns of the open workplace meetings;
        only the meetings that get one are read whole (a day's handful of the hundreds
        open), in the order of their cases."""
        notifier = self.notifier
        count = 0
        async with self.db.write() as session:
            # A closed case, or one that left the target group, gets no reminder: its
            # meeting is being (or has been) cancelled.
            candidates = (await session.execute(select(
                Meeting.id, Meeting.kind, Meeting.status, Meeting.start, Meeting.invited_at,
                Meeting.employer_answer).join(
                Case, Case.id == Meeting.case_id).where(
                Meeting.municipality_id == self.config.municipality.id,
                Meeting.kind == "workplace_meeting",
                Meeting.status.in_(("proposed", "confirmed")),
                Case.closed_on.is_(None), Case.status == "target")
                .order_by(Meeting.case_id))).all()
            if not candidates:
                return 0
            sent = {(m_id, kind) for m_id, kind in (await session.execute(
                select(OutboxMessage.meeting_id, OutboxMessage.kind).where(
                    OutboxMessage.meeting_id.in_([m.id for m in candidates]),
                    OutboxMessage.kind.in_(("employer_reminder", "employer_day_before")))))}
            due: list[tuple[int, str]] = []
            for row in candidates:
                if row.status == "proposed" and (row.id, "employer_reminder") not in sent:
                    if self.unanswered.of(row, today):
                        due.append((row.id, "employer_reminder"))
                elif row.status == "confirmed" \
                        and reminder_due(row.start, today, self.unanswered.closed) \
                        and (row.id, "employer_day_before") not in sent:
                    due.append((row.id, "employer_day_before"))
            if not due:
                return 0
            meetings = {m.id: m for m in (await session.execute(select(Meeting).where(
                Meeting.id.in_([m_id for m_id, _ in due])))).unique().scalars()}
            for meeting_id, kind in due:
                meeting = meetings[meeting_id]
                recipient = notifier.employer_email(meeting)
                if not recipient:
                    continue
                if kind == "employer_reminder":
                    context = notifier.people(meeting) | {
                        "proposed": danish_slot(meeting.start, meeting.end),
                        "link": notifier.link(meeting)}
                    if await notifier.email(session, meeting, "employer_reminder",
                                            recipient, context):
                        count += 1
                elif await notifier.email(session, meeting, "employer_day_before", recipient,
                                          notifier.people(meeting) | {
                                              "day": coming_day(meeting.start.date(), today)}):
                    count += 1
        if count:
            log.info("%s reminder(s) queued", count)
        return count
