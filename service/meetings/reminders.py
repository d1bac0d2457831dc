"""Reminders to employers: no answer after N working days, and on the working day before a
confirmed meeting (`reminder_due`: Friday for a Monday meeting); to citizens on that day, of
their meeting or private talk (SMS, else e-mail, else Digital Post); and to consultants
(`ConsultantReminderScan`: in the app, Slack's `service.slack.reminders`, wired by the
composition). Run as the
`send_reminders` job: each is sent once (the outbox remembers what was sent), so a rerun
never sends one twice."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.sms import mobile_number
from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.notifications import MeetingNotifier
from service.meetings.signals import UnansweredRule, reminder_due
from service.meetings.talk_kinds import TALK_PLANNED
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.text.danish import coming_day, danish_slot

log = logging.getLogger("fasthold.reminders")

# The citizen's reminder on the working day before a meeting or private talk (`[mail]
# citizen_day_before`) — not when the citizen was told of it that same day (`CITIZEN_TOLD`:
# the letter or mail with its time, which they have just read).
CITIZEN_DAY_BEFORE = "citizen_day_before"
CITIZEN_TOLD = "citizen_told"
CITIZEN_TOLD_KINDS = ("citizen_meeting", "citizen_private_talk")
REMINDER_KINDS = ("employer_reminder", "employer_day_before", CITIZEN_DAY_BEFORE)

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

        Which reminders are due is decided on a few columns of the open meetings and talks;
        only the meetings that get one are read whole (a day's handful of the hundreds
        open), in the order of their cases."""
        count = 0
        async with self.db.write() as session:
            # A closed case, or one that left the target group, gets no reminder: its
            # meeting is being (or has been) cancelled.
            candidates = (await session.execute(select(
                Meeting.id, Meeting.kind, Meeting.status, Meeting.start, Meeting.invited_at,
                Meeting.employer_answer, Meeting.conflict_at,
                Case.citizen_email, Case.citizen_phone).join(
                Case, Case.id == Meeting.case_id).where(
                Meeting.municipality_id == self.config.municipality.id,
                Meeting.status.in_(("proposed", "confirmed", TALK_PLANNED)),
                Case.closed_on.is_(None), Case.status == "target")
                .order_by(Meeting.case_id))).all()
            if not candidates:
                return 0
            reachable = {row.id for row in candidates if self.config.mail.citizen_day_before
                         and self._citizen_channel(row.citizen_email, row.citizen_phone)}
            told = await self._told(session, [m.id for m in candidates], bool(reachable))
            due: list[tuple[int, str]] = []
            for row in candidates:
                sent = told.get(row.id, {})
                if row.kind == "workplace_meeting" and row.status == "proposed":
                    if "employer_reminder" not in sent and self.unanswered.of(row, today):
                        due.append((row.id, "employer_reminder"))
                    continue
                if row.status == "proposed" or row.conflict_at is not None or \
                        not reminder_due(row.start, today, self.unanswered.closed):
                    # (not yet agreed; or its consultant can no longer hold it and it is
                    # being moved: nobody is told "see you tomorrow")
                    continue
                if row.kind == "workplace_meeting" and "employer_day_before" not in sent:
                    due.append((row.id, "employer_day_before"))
                if row.id in reachable and CITIZEN_DAY_BEFORE not in sent \
                        and today not in sent.get(CITIZEN_TOLD, ()):
                    due.append((row.id, CITIZEN_DAY_BEFORE))
            if not due:
                return 0
            meetings = {m.id: m for m in (await session.execute(select(Meeting).where(
                Meeting.id.in_([m_id for m_id, _ in due])))).unique().scalars()}
            for meeting_id, kind in due:
                if await self._send(session, meetings[meeting_id], kind, today):
                    count += 1
        if count:
            log.info("%s reminder(s) queued", count)
        return count

    def _citizen_channel(self, email: str | None, phone: str | None
                         ) -> tuple[str, str] | None:
        """How the citizen's reminder reaches them — ("sms", number) where the municipality
        texts and the phone is a number a text can go to, else ("email", address), else
        ("letter", "") by Digital Post — or None: a printed letter would come after the
        meeting. The one rule for which citizens are due one and for sending it."""
        number = mobile_number(phone) if self.config.sms.enabled else None
        if number:
            return "sms", number
        if email:
            return "email", email
        return ("letter", "") if self.notifier.outbox.digital_post else None

    async def _told(self, session: AsyncSession, meeting_ids: list[int], citizen: bool
                    ) -> dict[int, dict[str, set[date]]]:
        """Per meeting, the reminders it has had and (with `citizen`) the local days its
        citizen was told of it (`CITIZEN_TOLD`), from the outbox: each kind with the days
        it was queued."""
        told: dict[int, dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
        kinds = REMINDER_KINDS + CITIZEN_TOLD_KINDS if citizen else REMINDER_KINDS
        for meeting_id, kind, created_at in (await session.execute(
                select(OutboxMessage.meeting_id, OutboxMessage.kind, OutboxMessage.created_at)
                .where(OutboxMessage.meeting_id.in_(meeting_ids),
                       OutboxMessage.kind.in_(kinds)))).all():
            day = as_utc(created_at).astimezone(self.clock.tz).date()
            told[meeting_id][CITIZEN_TOLD if kind in CITIZEN_TOLD_KINDS else kind].add(day)
        return told

    async def _send(self, session: AsyncSession, meeting: Meeting, kind: str, today: date
                    ) -> bool:
        """Queue one reminder; False where it has nowhere to go."""
        notifier = self.notifier
        words = notifier.people(meeting) | {"day": coming_day(meeting.start.date(), today)}
        if kind == CITIZEN_DAY_BEFORE:
            case = meeting.case
            channel = self._citizen_channel(case.citizen_email, case.citizen_phone)
            if channel is None:
                return False
            how, to = channel
            if how == "sms":
                return await notifier.sms(session, meeting, kind, to, words)
            if how == "email":
                return await notifier.email(session, meeting, kind, to, words)
            return await notifier.email(session, meeting, kind, case.citizen_name or "borger",
                                        words, channel="letter",
                                        payload={"case_ref": case.case_ref})
        recipient = notifier.employer_email(meeting)
        if not recipient:
            return False
        if kind == "employer_reminder":
            words |= {"proposed": danish_slot(meeting.start, meeting.end),
                      "link": notifier.link(meeting)}
        return await notifier.email(session, meeting, kind, recipient, words)
