"""Reminders to consultants in Slack, run with the `send_reminders` job: the meeting
tomorrow and the employer has not answered the invitation in N working days (call them)
(`service.meetings.signals`); the deadline at risk (`service.intake.signals`); telephone
follow-up due (every 4 weeks while it applies); week 13 reached without a workplace-oriented
intervention registered; an agreement of a meeting's minutes (the consultant's task) due
today ("Aftale forfalder i dag", once per task); the private talk without the employer
tomorrow (once per talk, with its buttons held / not held / no longer wanted).

Each reminder has a deterministic message id (what it is about, e.g. the meeting, the case,
the 4-week period), so a rerun, or a run after a restart, never sends one twice — the
database refuses a second row with the same id — and one not yet sent is sent by the next
run."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import select

from service.config import MunicipalityConfig
from service.intake.signals import deadline_at_risk, first_meeting_settled
from service.meetings.signals import UnansweredRule, invited_on, reminder_due
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_PLANNED
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    Case,
    ConsultantTask,
    Meeting,
    OutboxMessage,
)
from service.slack.notices import SlackNotices
from service.text.danish import short_date

log = logging.getLogger("fasthold.reminders")

WEEK_13 = timedelta(weeks=12)  # absence week 13 begins twelve weeks after the first day
TELEPHONE_EVERY_DAYS = 28
AGREEMENT_DUE = "agreement_due"  # an agreement task of the minutes due today
# the private talk without the employer is on the next working day (`reminder_due`)
TALK_TOMORROW = "talk_tomorrow"
# The reminder of a task due today, by the task's kind.
_TASK_REMINDER = {"agreement": AGREEMENT_DUE, "follow_up_call": "telephone_due"}


class ConsultantReminders:
    def __init__(self, db: Database, config: MunicipalityConfig, notices: SlackNotices
                 ) -> None:
        self.db = db
        self.config = config
        self.notices = notices
        self.municipality = config.municipality.id
        self.unanswered = UnansweredRule.configured(config)

    def due(self, case: Case, meeting: Meeting | None, held: bool, today: date
            ) -> list[tuple[str, str]]:
        """The reminders due for a case today: (kind, deterministic key)."""
        out: list[tuple[str, str]] = []
        first_absence = date.fromisoformat(case.facts["first_absence_day"])
        if meeting is not None and meeting.status == "confirmed" and \
                reminder_due(meeting.start, today, self.unanswered.closed):
            out.append(("meeting_tomorrow", f"meeting_tomorrow-{meeting.id}"))
        if self.unanswered.of(meeting, today):
            out.append(("employer_no_answer", f"employer_no_answer-{meeting.id}"))
        if case.status != "target":
            return out
        if deadline_at_risk(status=case.status, closed_on=case.closed_on,
                            deadline=case.first_meeting_deadline,
                            settled=first_meeting_settled(
                                held=held, meeting_status=meeting.status if meeting else None,
                                meeting_start=meeting.start if meeting else None,
                                deadline=case.first_meeting_deadline),
                            today=today):
            out.append(("deadline_at_risk", f"deadline_at_risk-{case.id}"))
        if case.follow_up == "telephone" and case.next_follow_up_due is None:
            # (after the first meeting the call is a task due on the follow-up's day, below)
            period = (today - first_absence).days // TELEPHONE_EVERY_DAYS
            if period >= 1:
                out.append(("telephone_due", f"telephone_due-{case.id}-{period}"))
        if case.intervention_started_on is None and today >= first_absence + WEEK_13:
            out.append(("intervention_missing", f"intervention_missing-{case.id}"))
        return out

    async def send_due(self, today: date) -> int:
        """Queue every consultant reminder due on `today` not sent before; returns how many."""
        users = self.notices.people.consultants()
        if not users:
            return 0
        count = 0
        async with self.db.write() as session:
            cases = (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality, Case.closed_on.is_(None),
                Case.owner_id.is_not(None)))).unique().scalars().all()
            cases = [c for c in cases if c.owner is not None and c.owner.key in users]
            if not cases:
                return 0
            ids = [c.id for c in cases]
            meetings = {m.case_id: m for m in (await session.execute(select(Meeting).where(
                Meeting.case_id.in_(ids), Meeting.status.in_(ACTIVE_MEETING))
            )).unique().scalars()}
            held = set((await session.execute(select(Meeting.case_id).where(
                Meeting.case_id.in_(ids), Meeting.status == "held"))).scalars())
            wanted = [(case, kind, self.notices.once(key)) for case in cases
                      for kind, key in self.due(case, meetings.get(case.id), case.id in held,
                                                today)]
            # An agreement of a meeting's minutes (a task) due today: once per task. The
            # message says what is due where, never the agreement's typed words.
            by_id = {c.id: c for c in cases}
            # A telephone follow-up's call (service.followup.follow_ups) due today likewise.
            wanted += [(by_id[case_id], _TASK_REMINDER[kind], self.notices.once(
                f"{_TASK_REMINDER[kind]}-{task_id}")) for task_id, case_id, kind in (
                    await session.execute(select(
                        ConsultantTask.id, ConsultantTask.case_id, ConsultantTask.kind).where(
                        ConsultantTask.case_id.in_(ids),
                        ConsultantTask.kind.in_(list(_TASK_REMINDER)),
                        ConsultantTask.due_on == today, ConsultantTask.done_at.is_(None))
                        .order_by(ConsultantTask.id))).all()]
            # The private talk tomorrow: once per talk (a moved talk is a new row).
            talks: dict[int, Meeting] = {}
            for talk in (await session.execute(select(Meeting).where(
                    Meeting.case_id.in_(ids), Meeting.kind == PRIVATE_TALK,
                    Meeting.status == TALK_PLANNED).order_by(Meeting.id))).unique().scalars():
                if reminder_due(talk.start, today, self.unanswered.closed):
                    talks[talk.case_id] = talk
                    wanted.append((by_id[talk.case_id], TALK_TOMORROW,
                                   self.notices.once(f"{TALK_TOMORROW}-{talk.id}")))
            if not wanted:
                return 0
            sent = set((await session.execute(select(OutboxMessage.message_id).where(
                OutboxMessage.message_id.in_([m for _, _, m in wanted])))).scalars())
            for case, kind, message_id in wanted:
                if message_id in sent:
                    continue
                meeting = talks.get(case.id) if kind == TALK_TOMORROW else meetings.get(case.id)
                note = ""
                if kind == "employer_no_answer" and meeting is not None and meeting.invited_at:
                    sent_on = invited_on(meeting.invited_at, self.unanswered.tz)
                    note = (f"Invitationen blev sendt {short_date(sent_on)}; "
                            f"der er gået {self.config.mail.reminder_after_working_days} "
                            "arbejdsdage uden svar.")
                elif kind == AGREEMENT_DUE:
                    note = "Se aftalen under sagens opgaver."
                if await self.notices.to_owner(session, kind, case, meeting, note=note,
                                               message_id=message_id):
                    count += 1
        if count:
            log.info("%s Slack reminder(s) to consultants queued", count)
        return count
