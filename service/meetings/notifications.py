"""Who is told what about a meeting: invitations, confirmations, cancellations, citizen
letters. Every message goes through the outbox in the caller's transaction.

Privacy: employers are told who is coming, when, where and why (the first follow-up meeting
about the named employee) — never a diagnosis, illness details, exclusion reasons or CPR.
The templates get only the fields listed in `people`; nothing else about the case.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bots.email.render import EmailRenderer
from service.clock import Clock
from service.config import MunicipalityConfig
from service.followup.tasks import add_task, add_task_once
from service.meetings.ics import meeting_request
from service.meetings.links import MeetingLinks, link_expiry
from service.outbox.store import Message, Outbox
from service.platform.db.models import Case, Consultant, Meeting
from service.text.danish import danish_date, danish_slot

log = logging.getLogger("fasthold.meetings")


def _slot_text(slot: dict[str, Any]) -> str:
    return danish_slot(datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"]))


class MeetingNotifier:
    """Tells employers and citizens about one municipality's meetings, and the consultant
    (as a task) what needs a person."""

    def __init__(self, config: MunicipalityConfig, clock: Clock, links: MeetingLinks,
                 outbox: Outbox, renderer: EmailRenderer) -> None:
        self.config = config
        self.clock = clock
        self.links = links
        self.outbox = outbox
        self.renderer = renderer
        self.link_days_after_deadline = config.mail.link_valid_days_after_deadline

    # -- what the messages say ---------------------------------------------------------------

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

    def ics(self, meeting: Meeting, sequence: int, attendee: str | None) -> bytes:
        people = self.people(meeting)
        return meeting_request(
            uid=f"meeting-{meeting.id}@{self.outbox.domain}", sequence=sequence,
            start=meeting.start, end=meeting.end,
            summary=f"Opfølgningsmøde om {people['employee']} (jobcenter)",
            location=people["address"] or "Arbejdspladsen",
            description=(f"Første opfølgningsmøde med {people['consultant']['name']} fra "
                         f"{self.config.jobcentre.name}, tlf. "
                         f"{people['consultant']['phone'] or self.config.jobcentre.phone}."),
            organizer_email=meeting.consultant.email, organizer_name=meeting.consultant.name,
            attendee_email=attendee, stamp=self.clock.utcnow(), tz=self.clock.tz)

    # -- sending -------------------------------------------------------------------------------

    def email(self, session: AsyncSession, meeting: Meeting, kind: str, recipient: str,
              context: dict[str, Any], channel: str = "email",
              payload: dict[str, Any] | None = None) -> None:
        """Render the template named `kind` and put it in the outbox."""
        rendered = self.renderer.render(kind, **context)
        self.outbox.enqueue(session, Message(
            channel=channel, kind=kind, recipient=recipient, subject=rendered.subject,
            text=rendered.text, html=rendered.html, payload=payload or {},
            case_id=meeting.case_id, meeting_id=meeting.id))

    @staticmethod
    def employer_email(meeting: Meeting) -> str | None:
        employer = meeting.case.employer
        return employer.contact_email if employer is not None else None

    def _to_citizen(self, session: AsyncSession, meeting: Meeting, kind: str,
                    context: dict[str, Any]) -> None:
        """Email when the citizen's address is known, otherwise a letter for staff to send."""
        email = meeting.case.citizen_email
        if email:
            self.email(session, meeting, kind, email, context)
        else:
            self.email(session, meeting, kind, meeting.case.citizen_name or "borger", context,
                       channel="letter")

    # -- events ----------------------------------------------------------------------------

    async def invite(self, session: AsyncSession, meeting: Meeting) -> None:
        """A new proposal: workplace → the employer chooses via the link; jobcenter → the
        citizen gets the time by letter/email."""
        context = self.people(meeting)
        if meeting.kind == "jobcenter_meeting":
            self._to_citizen(session, meeting, "citizen_meeting", context)
            meeting.invited_at = self.clock.utcnow()
            return
        recipient = self.employer_email(meeting)
        if not recipient:
            await add_task_once(
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
        self.email(session, meeting, "employer_invitation", recipient, context)
        meeting.invited_at = self.clock.utcnow()

    async def invitation_failed(self, session: AsyncSession, meeting: Meeting) -> None:
        """The proposal stands, but no invitation could be made: a person takes over."""
        await add_task_once(
            session, meeting, "invitation_failed",
            "Invitationen kunne ikke sendes automatisk: kontakt arbejdsgiveren og aftal "
            "mødetidspunkt.")

    async def cancelled(self, session: AsyncSession, meeting: Meeting, reason: str,
                        follows: bool = True) -> None:
        """Tell those who were told about the meeting that it will not happen as planned.

        `follows`: a new proposal will be sent (moved), or not (the follow-up changed).
        """
        context = self.people(meeting) | {"reason": reason, "follows": follows}
        recipient = self.employer_email(meeting)
        if meeting.kind == "workplace_meeting" and meeting.invited_at is not None and recipient:
            self.email(session, meeting, "employer_cancelled", recipient, context)
        citizen_told = meeting.status == "confirmed" or meeting.kind == "jobcenter_meeting" \
            or meeting.confirmed_at is not None
        if citizen_told:
            self._to_citizen(session, meeting, "citizen_cancelled", context)

    async def confirmed(self, session: AsyncSession, meeting: Meeting, sequence: int = 0
                        ) -> None:
        """The employer confirmed: calendar request to the employer, the citizen informed."""
        context = self.people(meeting) | {"link": self.link(meeting)}
        recipient = self.employer_email(meeting)
        if recipient:
            ics = self.ics(meeting, sequence, recipient)
            self.email(session, meeting, "employer_confirmed", recipient, context,
                       payload={"ics": ics.decode("utf-8")})
        self._to_citizen(session, meeting, "citizen_meeting", context)
        add_task(session, meeting, "meeting_confirmed",
                 f"Arbejdsgiveren har bekræftet mødet {context['when']}.")

    async def declined(self, session: AsyncSession, meeting: Meeting, reason: str) -> None:
        context = self.people(meeting)
        recipient = self.employer_email(meeting)
        if recipient:
            self.email(session, meeting, "employer_decline_received", recipient, context)
        note = f" Begrundelse: {reason}" if reason else ""
        add_task(session, meeting, "employer_declined",
                 "Arbejdsgiveren ønsker ikke mødet på arbejdspladsen; der planlægges et "
                 f"møde i jobcentret.{note}")
