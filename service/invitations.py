"""What the email flow sends, and when: invitations, confirmations, cancellations, citizen
letters and reminders. Every message goes through the outbox in the caller's transaction.

Privacy: employers are told who is coming, when, where and why (the first follow-up meeting
about the named employee) — never a diagnosis, illness details, exclusion reasons or CPR.
The templates get only the fields listed in `_people`; nothing else about the case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.email.render import danish_date, danish_slot, render
from service.config import MunicipalityConfig
from service.db.engine import Database
from service.db.models import Case, Consultant, ConsultantTask, Meeting, OutboxMessage
from service.ics import meeting_request
from service.links import MeetingLinks, link_expiry
from service.outbox import OutboxDeliverer, enqueue
from service.timeutil import today_local, utcnow
from service.workdays import add_working_days

log = logging.getLogger("fasthold.invitations")


def _slot_text(slot: dict[str, Any]) -> str:
    return danish_slot(datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"]))


@dataclass
class EmailFlow:
    """The email side of meetings for one municipality."""

    db: Database
    config: MunicipalityConfig
    links: MeetingLinks
    deliverer: OutboxDeliverer | None = None
    link_days_after_deadline: int = 7
    reminder_after_working_days: int = 2

    # -- helpers ---------------------------------------------------------------------------

    @property
    def _domain(self) -> str:
        return self.config.mail.from_address.rpartition("@")[2] or "fasthold.local"

    def link(self, meeting: Meeting) -> str:
        token = self.links.token(meeting.id, self.link_expires(meeting))
        return f"{self.config.mail.link_base_url.rstrip('/')}/m/{token}"

    def link_expires(self, meeting: Meeting) -> date:
        return link_expiry(meeting.case.first_meeting_deadline, meeting.start,
                           self.link_days_after_deadline)

    def people(self, meeting: Meeting) -> dict[str, Any]:
        """The only facts about a case that the templates see."""
        case: Case = meeting.case
        consultant: Consultant = meeting.consultant
        employer = case.employer
        return {
            "jobcentre": self.config.jobcentre,
            "consultant": {"name": consultant.name, "phone": consultant.phone,
                           "email": consultant.email},
            "employee": case.citizen_name or "jeres medarbejder",
            "citizen": case.citizen_name or "borger",
            "contact": (employer.contact_name if employer and employer.contact_name
                        else "arbejdsgiver"),
            "employer_name": employer.name if employer else None,
            "address": employer.address if employer else None,
            "kind": meeting.kind,
            "when": danish_slot(meeting.start, meeting.end),
            "time": f"{meeting.start.hour:02d}.{meeting.start.minute:02d}",
            "minutes": int((meeting.end - meeting.start).total_seconds() // 60),
        }

    def _after_commit(self, session: AsyncSession) -> None:
        deliverer = self.deliverer
        if deliverer is not None:
            event.listen(session.sync_session, "after_commit",
                         lambda _s: deliverer.wake(), once=True)

    def _enqueue(self, session: AsyncSession, meeting: Meeting, kind: str, recipient: str,
                 template: str, context: dict[str, Any], channel: str = "email",
                 payload: dict[str, Any] | None = None) -> OutboxMessage:
        rendered = render(template, **context)
        message = enqueue(
            session, municipality_id=meeting.municipality_id, channel=channel, kind=kind,
            recipient=recipient, subject=rendered.subject, body_text=rendered.text,
            body_html=rendered.html, sender_domain=self._domain, case_id=meeting.case_id,
            meeting_id=meeting.id, payload=payload)
        self._after_commit(session)
        return message

    def add_task(self, session: AsyncSession, meeting: Meeting, kind: str, text: str) -> None:
        session.add(ConsultantTask(municipality_id=meeting.municipality_id,
                                   consultant_id=meeting.consultant_id, case_id=meeting.case_id,
                                   kind=kind, text=text))

    async def add_task_once(self, session: AsyncSession, meeting: Meeting, kind: str,
                            text: str) -> None:
        """A task that re-planning must not repeat while the same one is still open."""
        open_task = (await session.execute(select(ConsultantTask.id).where(
            ConsultantTask.case_id == meeting.case_id, ConsultantTask.kind == kind,
            ConsultantTask.done_at.is_(None)).limit(1))).first()
        if open_task is None:
            self.add_task(session, meeting, kind, text)

    def _employer_email(self, meeting: Meeting) -> str | None:
        employer = meeting.case.employer
        return employer.contact_email if employer is not None else None

    def _to_citizen(self, session: AsyncSession, meeting: Meeting, kind: str, template: str,
                    context: dict[str, Any]) -> None:
        """Email when the citizen's address is known, otherwise a letter for staff to send."""
        email = meeting.case.citizen_email
        if email:
            self._enqueue(session, meeting, kind, email, template, context)
        else:
            self._enqueue(session, meeting, kind, meeting.case.citizen_name or "borger",
                          template, context, channel="letter")

    # -- events ----------------------------------------------------------------------------

    async def invite(self, session: AsyncSession, meeting: Meeting) -> None:
        """A new proposal: workplace → the employer chooses via the link; jobcenter → the
        citizen gets the time by letter/email."""
        context = self.people(meeting)
        if meeting.kind == "jobcenter_meeting":
            self._to_citizen(session, meeting, "citizen_meeting", "citizen_meeting", context)
            meeting.invited_at = utcnow()
            return
        recipient = self._employer_email(meeting)
        if not recipient:
            await self.add_task_once(
                session, meeting, "employer_contact_missing",
                "Arbejdsgiveren har ingen e-mailadresse: ring og aftal mødetidspunkt "
                f"(forslag: {context['when']}); bekræft det aftalte tidspunkt i fasthold.")
            return
        slots = [{"start": meeting.start.isoformat(timespec="minutes"),
                  "end": meeting.end.isoformat(timespec="minutes")}, *meeting.alternatives]
        context.update(proposed=_slot_text(slots[0]),
                       alternatives=[_slot_text(s) for s in slots[1:]],
                       link=self.link(meeting),
                       expires=danish_date(self.link_expires(meeting)))
        self._enqueue(session, meeting, "employer_invitation", recipient,
                      "employer_invitation", context)
        meeting.invited_at = utcnow()

    async def cancelled(self, session: AsyncSession, meeting: Meeting, reason: str,
                        follows: bool = True) -> None:
        """Tell those who were told about the meeting that it will not happen as planned."""
        context = self.people(meeting) | {"reason": reason, "follows": follows}
        recipient = self._employer_email(meeting)
        if meeting.kind == "workplace_meeting" and meeting.invited_at is not None and recipient:
            self._enqueue(session, meeting, "employer_cancelled", recipient,
                          "employer_cancelled", context)
        citizen_told = meeting.status == "confirmed" or meeting.kind == "jobcenter_meeting" \
            or meeting.confirmed_at is not None
        if citizen_told:
            self._to_citizen(session, meeting, "citizen_cancelled", "citizen_cancelled", context)

    async def confirmed(self, session: AsyncSession, meeting: Meeting, sequence: int = 0
                        ) -> None:
        """The employer confirmed: calendar request to the employer, the citizen informed."""
        context = self.people(meeting) | {"link": self.link(meeting)}
        recipient = self._employer_email(meeting)
        if recipient:
            ics = self.ics(meeting, sequence, recipient)
            self._enqueue(session, meeting, "employer_confirmed", recipient,
                          "employer_confirmed", context, payload={"ics": ics.decode("utf-8")})
        self._to_citizen(session, meeting, "citizen_meeting", "citizen_meeting", context)
        self.add_task(session, meeting, "meeting_confirmed",
                   f"Arbejdsgiveren har bekræftet mødet {context['when']}.")

    async def declined(self, session: AsyncSession, meeting: Meeting, reason: str) -> None:
        context = self.people(meeting)
        recipient = self._employer_email(meeting)
        if recipient:
            self._enqueue(session, meeting, "employer_decline_received", recipient,
                          "employer_decline_received", context)
        note = f" Begrundelse: {reason}" if reason else ""
        self.add_task(session, meeting, "employer_declined",
                   "Arbejdsgiveren ønsker ikke mødet på arbejdspladsen; der planlægges et "
                   f"møde i jobcentret.{note}")

    def ics(self, meeting: Meeting, sequence: int, attendee: str | None) -> bytes:
        people = self.people(meeting)
        return meeting_request(
            uid=f"meeting-{meeting.id}@{self._domain}", sequence=sequence, start=meeting.start,
            end=meeting.end, summary=f"Opfølgningsmøde om {people['employee']} (jobcenter)",
            location=people["address"] or "Arbejdspladsen",
            description=(f"Første opfølgningsmøde med {people['consultant']['name']} fra "
                         f"{self.config.jobcentre.name}, tlf. "
                         f"{people['consultant']['phone'] or self.config.jobcentre.phone}."),
            organizer_email=meeting.consultant.email, organizer_name=meeting.consultant.name,
            attendee_email=attendee)

    # -- reminders -------------------------------------------------------------------------

    async def send_due_reminders(self, today: date | None = None) -> int:
        """No answer after N working days → a reminder; the day before a meeting → another.

        Each is sent once per meeting (the outbox remembers what was sent).
        """
        today = today or today_local()
        closed = frozenset(self.config.planning.closed_dates)
        count = 0
        async with self.db.write() as session:
            meetings = (await session.execute(select(Meeting).where(
                Meeting.municipality_id == self.config.municipality.id,
                Meeting.kind == "workplace_meeting",
                Meeting.status.in_(("proposed", "confirmed"))))).unique().scalars().all()
            if not meetings:
                return 0
            sent = {(m_id, kind) for m_id, kind in (await session.execute(
                select(OutboxMessage.meeting_id, OutboxMessage.kind).where(
                    OutboxMessage.meeting_id.in_([m.id for m in meetings]),
                    OutboxMessage.kind.in_(("employer_reminder", "employer_day_before")))))}
            for meeting in meetings:
                recipient = self._employer_email(meeting)
                if not recipient:
                    continue
                if meeting.status == "proposed" and meeting.invited_at is not None \
                        and meeting.employer_answer is None \
                        and (meeting.id, "employer_reminder") not in sent:
                    invited = meeting.invited_at.date()
                    if add_working_days(invited, self.reminder_after_working_days,
                                        closed) <= today:
                        context = self.people(meeting) | {
                            "proposed": danish_slot(meeting.start, meeting.end),
                            "link": self.link(meeting)}
                        self._enqueue(session, meeting, "employer_reminder", recipient,
                                      "employer_reminder", context)
                        count += 1
                elif meeting.status == "confirmed" \
                        and meeting.start.date() == today + timedelta(days=1) \
                        and (meeting.id, "employer_day_before") not in sent:
                    self._enqueue(session, meeting, "employer_day_before", recipient,
                                  "employer_day_before", self.people(meeting))
                    count += 1
        if count:
            log.info("%s reminder(s) queued", count)
        return count


EMAIL_FLOW = web.AppKey("email_flow", EmailFlow)


async def invite_employer(session: AsyncSession, app: web.Application, meeting: Meeting
                          ) -> None:
    """Called by planning for each new proposal."""
    await app[EMAIL_FLOW].invite(session, meeting)


async def notify_meeting_cancelled(session: AsyncSession, app: web.Application,
                                   meeting: Meeting, reason: str, follows: bool = True) -> None:
    """Called by planning when it moves or drops a proposal that people were told about.

    `follows`: a new proposal will be sent (moved), or not (the follow-up changed).
    """
    await app[EMAIL_FLOW].cancelled(session, meeting, reason, follows=follows)
