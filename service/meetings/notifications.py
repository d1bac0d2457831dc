"""Who is told what about a meeting: invitations, confirmations, cancellations, citizen
letters. Every message goes through the outbox in the caller's transaction.

Privacy: employers are told who is coming, when, where and why (the first follow-up meeting
about the named employee) — never a diagnosis, illness details, exclusion reasons or CPR.
The templates get only the fields listed in `people`; nothing else about the case.

Calendar: the employer's calendar holds one event per case's first meeting. Every mail that
changes it carries the .ics (`payload["ics"]`, with `payload["ics_method"]` REQUEST or CANCEL):
the confirmation (REQUEST), a cancellation or a move of a confirmed meeting (CANCEL), and a
confirmation at a new time (REQUEST again, same UID, higher SEQUENCE). How UID and SEQUENCE
are derived: `calendar_uid` and `calendar_sequence`.

Consultants: what needs a person becomes a task, and a message to the case's owner through
`ConsultantNotices` — an interface this area owns; the composition gives it Slack's notices
(`service.slack` is a channel that calls the areas, never the other way round).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.email.render import EmailRenderer
from service.clock import Clock
from service.config import MunicipalityConfig
from service.intake.views import deadline_of
from service.meetings.booking import summon
from service.meetings.decline_reasons import DECLINE_REASONS
from service.meetings.ics import CANCEL, REQUEST, meeting_calendar
from service.meetings.links import TALK_LINK_SALT, MeetingLinks, link_expiry
from service.meetings.talk_kinds import PRIVATE_TALK
from service.meetings.tasks import SETTLED_BY_A_TIME, add_task, add_task_once, close_tasks
from service.outbox.store import LETTER_WORKING_DAYS, Message, Outbox, dedupe_key
from service.platform.db.engine import flushed_connection
from service.platform.db.models import Case, Consultant, Meeting, OutboxMessage
from service.platform.workdays import add_working_days
from service.text.danish import danish_date, danish_slot, short_date

log = logging.getLogger("fasthold.meetings")


def _slot_text(slot: dict[str, Any]) -> str:
    return danish_slot(datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"]))


class CalendarEvent(Protocol):
    """What a calendar UID is made of (`MeetingNotifier.calendar_uid`): a meeting's kind and
    its case — a stored `Meeting`, or the few columns a scan reads of one."""

    @property
    def kind(self) -> str: ...

    @property
    def case_id(self) -> int: ...

    @property
    def series(self) -> int: ...


class ConsultantNotices(Protocol):
    """Messages to consultants about their cases (in the app: Slack's direct messages and the
    intake channel, `service.slack.notices.SlackNotices`), each put in the outbox in the
    caller's transaction (`session`). The meetings say only which kind of message, about which
    case and meeting (their ids) and, at most, a line of plain words — never CPR, the
    citizen's name or health data; what the message shows of the case (its reference, dates,
    the meeting's time and place) is the channel's to choose within that rule."""

    async def tell_owner(self, session: AsyncSession, kind: str, case_id: int,
                         meeting_id: int | None = None, *, note: str = "",
                         once: str | None = None) -> bool:
        """A message of `kind` to the case's owner (`note`: a line of plain words); with
        `once`, a key no second message is sent for. False when nothing was sent (the owner
        cannot be reached this way, or it was sent before)."""
        ...

    async def meeting_changed(self, session: AsyncSession, case_id: int, meeting_id: int
                              ) -> None:
        """The case's meeting is new or moved: the owner's earlier messages show its time."""
        ...

    async def meeting_to_move(self, session: AsyncSession, case_id: int, text: str, *,
                              once: str) -> bool:
        """Intake and managers hear of a confirmed meeting whose consultant cannot hold it
        (`text`: plain words, no case reference; `once`: no second message for this key)."""
        ...

    async def assigned(self, session: AsyncSession, proposals: dict[int, int | None]) -> None:
        """Planning gave these cases their first owner: case id -> the meeting it proposed
        in the same run (None: none)."""
        ...


# Cases' calendar messages, oldest first, each with its meeting and METHOD
# (`MeetingNotifier.calendar_histories`, `cancel_sequence`): decided in the database on the
# two keys — a message's payload holds its whole .ics, and a case's messages grow with its
# follow-ups. Made once: only the cases differ.
_OUTBOX = OutboxMessage.__table__
_CALENDAR_METHODS = select(_OUTBOX.c.case_id, _OUTBOX.c.meeting_id,
                           _OUTBOX.c.payload["ics_method"].as_string()).where(
    _OUTBOX.c.case_id.in_(bindparam("case_ids", expanding=True)), _OUTBOX.c.channel == "email",
    _OUTBOX.c.payload["ics"].as_string().is_not(None),
    _OUTBOX.c.payload["ics"].as_string() != "").order_by(_OUTBOX.c.id)


class MeetingNotifier:
    """Tells employers and citizens about one municipality's meetings, and the consultant
    (as a task, and through `consultants` when given) what needs a person."""

    def __init__(self, config: MunicipalityConfig, clock: Clock, links: MeetingLinks,
                 outbox: Outbox, renderer: EmailRenderer,
                 consultants: ConsultantNotices | None = None) -> None:
        self.config = config
        self.consultants = consultants
        self.clock = clock
        self.links = links
        # The citizen's link to ask for the private talk first (its id: the case's).
        self.talk_links = links.for_purpose(TALK_LINK_SALT)
        self.outbox = outbox
        self.renderer = renderer
        self.link_days_after_deadline = config.mail.link_valid_days_after_deadline

    # -- what the messages say ---------------------------------------------------------------

    def link(self, meeting: Meeting) -> str:
        token = self.links.token(meeting.id, self.link_expires(meeting))
        return self.config.mail.link(f"/m/{token}")

    def link_expires(self, meeting: Meeting) -> date:
        # a follow-up's deadline is its due date
        return link_expiry(deadline_of(meeting.case, meeting), meeting.start,
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
            # Without a name the employer still learns which case: the absence's first day —
            # in brackets in `about`, which the templates follow by a time, a verb or a stop
            # (a relative clause would need a closing comma before some and not others).
            "employee": case.citizen_name or "medarbejderen",
            "about": case.citizen_name or (
                "jeres medarbejder (sygemeldt fra "
                f"{short_date(date.fromisoformat(case.facts['first_absence_day']))})"),
            # (always followed by "hos jer på arbejdspladsen": the clause closes with a comma)
            "about_sick": f"jeres sygemeldte medarbejder {case.citizen_name}"
            if case.citizen_name else (
                "jeres medarbejder, der er sygemeldt fra "
                f"{short_date(date.fromisoformat(case.facts['first_absence_day']))},"),
            "citizen": case.citizen_name or "borger",
            # The case's own contact (the nearest manager) and workplace.
            "contact": case.contact_name or "arbejdsgiver",
            "employer_name": employer.name if employer else None,
            "address": case.workplace_address,
            "kind": meeting.kind,
            # a follow-up meeting after the first (issue 20 item 4): "et nyt opfølgningsmøde"
            "follow_up": meeting.purpose == "follow_up",
            "when": danish_slot(meeting.start, meeting.end),
            "time": f"{meeting.start.hour:02d}.{meeting.start.minute:02d}",
            "minutes": int((meeting.end - meeting.start).total_seconds() // 60),
        }

    def calendar_uid(self, meeting: CalendarEvent) -> str:
        """One UID for the case's first meeting for its whole life: `first-meeting-<case row
        id>@<domain>`, and one for each follow-up, `follow-up-<case row id>-<n>@<domain>`
        (`Meeting.series`). It is keyed by the case and the place in its series, not by the
        meeting row, so a meeting that is moved (planning makes a new row for the new time)
        stays the same event in the employer's calendar."""
        if meeting.kind == PRIVATE_TALK:
            # The private talk is another event (the consultant's calendar only): its own
            # UID, by the case too, kept when the plan moves the talk.
            return f"private-talk-{meeting.case_id}@{self.outbox.domain}"
        if meeting.series:
            # the n-th follow-up: an event of its own, the held meetings before it stay
            return f"follow-up-{meeting.case_id}-{meeting.series}@{self.outbox.domain}"
        return f"first-meeting-{meeting.case_id}@{self.outbox.domain}"

    async def calendar_history(self, session: AsyncSession, case_id: int) -> list[str]:
        """The METHODs of the calendar messages (an .ics in the payload) already written to
        the outbox for this case, oldest first — including those of the caller's own
        transaction (the query flushes them first)."""
        return (await self.calendar_histories(session, [case_id]))[case_id]

    async def calendar_histories(self, session: AsyncSession, case_ids: list[int]
                                 ) -> dict[int, list[str]]:
        """`calendar_history` of many cases in one statement (a case without calendar
        messages has an empty one)."""
        histories: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
        if case_ids:
            for case_id, _, method in await (await flushed_connection(session)).execute(
                    _CALENDAR_METHODS, {"case_ids": list(dict.fromkeys(case_ids))}):
                histories[case_id].append(method or REQUEST)
        return histories

    @staticmethod
    def sequence_held(history: list[str]) -> int:
        """The SEQUENCE of the case's event as the employer's calendar holds it after
        `history`: that of the last REQUEST mailed, or — after a CANCEL, or before anything was
        mailed — the next one (a new meeting after a cancellation must outrank it)."""
        return len(history) - 1 if history and history[-1] == REQUEST else len(history)

    async def cancel_sequence(self, session: AsyncSession, meeting: Meeting) -> int | None:
        """When the employer's calendar holds this meeting — the case's last calendar message
        is a REQUEST about it — the SEQUENCE its CANCEL carries (`calendar_sequence`); None
        when it does not: the last was about an earlier meeting of the case — one held (a
        CANCEL with the case's UID would take it out of their calendar), or the first meeting
        before a follow-up at the jobcentre the employer never heard of. One read of the
        case's calendar messages for both."""
        sent = (await (await flushed_connection(session)).execute(
            _CALENDAR_METHODS, {"case_ids": [meeting.case_id]})).all()
        if not sent or sent[-1][1] != meeting.id or (sent[-1][2] or REQUEST) != REQUEST:
            return None
        return len(sent)

    async def calendar_sequence(self, session: AsyncSession, case_id: int) -> int:
        """The SEQUENCE of the next calendar message for this case: how many calendar messages
        were already written to the outbox for it (0 for the first REQUEST, then 1, 2, …).

        The outbox is the durable record of what the employer was sent, written in the same
        transaction as the change, so the number is deterministic, survives restarts and
        needs no column of its own; every change the employer sees (a confirmation, a new
        time, a cancellation) is such a message, so each one's SEQUENCE is higher than the
        last. A message that failed to deliver still counts: gaps are harmless, repeats
        are not."""
        return len(await self.calendar_history(session, case_id))

    def ics(self, meeting: Meeting, sequence: int, attendee: str | None,
            method: str = REQUEST) -> bytes:
        """The meeting as an iCalendar REQUEST (or CANCEL) to `attendee` (the employer)."""
        people = self.people(meeting)
        jobcentre = self.config.jobcentre
        if meeting.kind == "workplace_meeting":
            summary = f"Opfølgningsmøde på arbejdspladsen om {people['about']}"
            location = people["address"] or "Arbejdspladsen"
        else:
            summary = f"Opfølgningsmøde i jobcentret om {people['about']}"
            location = f"{jobcentre.name}, {jobcentre.address}"
        return meeting_calendar(
            method=method, uid=self.calendar_uid(meeting), sequence=sequence,
            start=meeting.start, end=meeting.end, summary=summary, location=location,
            # a follow-up after the first meeting is not "the first" (as its mails say)
            description=(("Opfølgningsmøde" if people["follow_up"] else "Første opfølgningsmøde")
                         + f" med {people['consultant']['name']} fra {jobcentre.name}, tlf. "
                         f"{people['consultant']['phone'] or jobcentre.phone}."),
            organizer_email=meeting.consultant.email, organizer_name=meeting.consultant.name,
            attendee_email=attendee,
            attendee_name=meeting.case.contact_name,
            stamp=self.clock.utcnow(), tz=self.clock.tz)

    async def calendar_file(self, session: AsyncSession, meeting: Meeting) -> bytes:
        """The .ics the employer's page offers for a confirmed meeting: the event as the last
        REQUEST mailed it (same UID and SEQUENCE), so a download never looks like a change."""
        history = await self.calendar_history(session, meeting.case_id)
        return self.ics(meeting, self.sequence_held(history), self.employer_email(meeting))

    # -- sending -------------------------------------------------------------------------------

    async def email(self, session: AsyncSession, meeting: Meeting, kind: str, recipient: str,
                    context: dict[str, Any], channel: str = "email",
                    payload: dict[str, Any] | None = None) -> bool:
        """Render the template named `kind` and put it in the outbox — once: the same
        message about the meeting to the same recipient is not queued again (a double
        submit, two answers racing, a repeated use case or job). "The same" is the meeting,
        the kind, the channel, the recipient and the meeting as the message states it (its
        time and consultant): a change the employer must see (a new calendar SEQUENCE) is a
        new time, a new consultant or another kind of message, so it is never held back;
        a repeat is — also one written after the first (which a SEQUENCE counted from the
        outbox would number anew). Returns whether it was queued."""
        rendered = self.renderer.render(kind, **context)
        key = dedupe_key("meeting", meeting.id, kind, channel, recipient.lower(),
                         meeting.start.isoformat(), meeting.end.isoformat(),
                         meeting.consultant_id)
        return await self.outbox.enqueue_once(session, Message(
            channel=channel, kind=kind, recipient=recipient, subject=rendered.subject,
            text=rendered.text, html=rendered.html, payload=payload or {},
            case_id=meeting.case_id, meeting_id=meeting.id), key)

    async def sms(self, session: AsyncSession, meeting: Meeting, kind: str, number: str,
                  context: dict[str, Any]) -> bool:
        """`<kind>.sms.txt` as a text message to `number` (E.164), in the outbox once, as
        `email` queues a mail. Returns whether it was queued."""
        text = self.renderer.short_text(kind, **context)
        key = dedupe_key("meeting", meeting.id, kind, "sms", number, meeting.start.isoformat(),
                         meeting.end.isoformat(), meeting.consultant_id)
        return await self.outbox.enqueue_once(session, Message(
            channel="sms", kind=kind, recipient=number, text=text, case_id=meeting.case_id,
            meeting_id=meeting.id), key)

    @staticmethod
    def employer_email(meeting: Meeting) -> str | None:
        """Where the employer's mail about the meeting goes: the case's own contact person
        (the sick employee's nearest manager), not the CVR's default contact."""
        return meeting.case.contact_email

    async def _to_citizen(self, session: AsyncSession, meeting: Meeting, kind: str,
                          context: dict[str, Any]) -> None:
        """Email when the citizen's address is known, otherwise a letter for staff to send."""
        email = meeting.case.citizen_email
        if email:
            await self.email(session, meeting, kind, email, context)
            return
        queued = await self.email(session, meeting, kind, meeting.case.citizen_name or "borger",
                                  context, channel="letter",
                                  payload={"case_ref": meeting.case.case_ref})
        if queued and not self.outbox.digital_post and meeting.start.date() < \
                add_working_days(self.clock.today(), LETTER_WORKING_DAYS):
            # A printed letter does not reach the citizen before the meeting: phone instead.
            await add_task_once(
                session, meeting, "letter_too_late",
                "Ring til borgeren — brevet når ikke frem før "
                f"{danish_slot(meeting.start, meeting.end)}.", self.clock.utcnow())
            await self._tell_consultant(session, meeting, "letter_too_late",
                                        once=f"letter_too_late-{meeting.id}")

    def holds_invitation(self, case: Case) -> bool:
        """Whether the employer's invitation for the case's workplace proposal waits for the
        consultant's calls (`[meetings] invitation = "after_calls"`, not yet let go)."""
        return self.config.meetings.invitation == "after_calls" \
            and case.invitation_released_at is None

    # -- events ----------------------------------------------------------------------------

    async def invite(self, session: AsyncSession, meeting: Meeting) -> None:
        """A new proposal: workplace → the employer chooses via the link; jobcenter → the
        citizen gets the time by letter/email, which settles it (confirmed, `summon`). The
        owner's messages then show the new time as it stands — invited, held for the calls,
        or without an employer address (before, they were made before the invitation went
        out, and said "agree the time" while every page said "await the answer")."""
        await self._invite(session, meeting)
        if self.consultants is not None:
            await self.consultants.meeting_changed(session, meeting.case_id, meeting.id)

    async def _invite(self, session: AsyncSession, meeting: Meeting) -> None:
        context = self.people(meeting)
        if meeting.kind == "jobcenter_meeting":
            # The citizen is summoned: the letter settles the meeting (`booking.summon`).
            await summon(session, meeting, self.clock.utcnow())
            await self._to_citizen(session, meeting, "citizen_meeting", context)
            meeting.invited_at = self.clock.utcnow()
            return
        if self.holds_invitation(meeting.case):
            # `after_calls`: the proposal stands (reserved), its invitation waits for the
            # consultant's calls (service.meetings.invitations lets it go).
            meeting.invitation_held_at = self.clock.utcnow()
            return
        recipient = self.employer_email(meeting)
        if not recipient:
            await add_task_once(
                session, meeting, "employer_contact_missing",
                "Arbejdsgiveren har ingen e-mailadresse: ring og aftal mødetidspunkt "
                f"(forslag: {context['when']}); bekræft det aftalte tidspunkt i fasthold.",
                self.clock.utcnow())
            await self._tell_consultant(session, meeting, "invitation_failed",
                                        once=f"invitation_failed-case{meeting.case_id}")
            return
        slots = [{"start": meeting.start.isoformat(timespec="minutes"),
                  "end": meeting.end.isoformat(timespec="minutes")}, *meeting.alternatives]
        context.update(proposed=_slot_text(slots[0]),
                       alternatives=[_slot_text(s) for s in slots[1:]],
                       link=self.link(meeting),
                       expires=danish_date(self.link_expires(meeting)))
        await self.email(session, meeting, "employer_invitation", recipient, context)
        meeting.invited_at = self.clock.utcnow()

    # -- the citizen: first contact and the private talk (never the employer) -------------

    def talk_link(self, case: Case) -> str:
        """The citizen's signed link to ask for a talk with the consultant first."""
        return self.config.mail.link(f"/samtale/{self.talk_token(case)}")

    def talk_token(self, case: Case) -> str:
        """The signed token of the citizen's link, valid until a week after the deadline."""
        expires = case.first_meeting_deadline + timedelta(days=self.link_days_after_deadline)
        return self.talk_links.token(case.id, expires)

    def talk_short_link(self, case: Case) -> str:
        """The same link short enough to type from a letter: `/samtale/k/1234-ABCD-EFGH`
        (`service.meetings.talk_pages.short` sends the browser on to the signed one)."""
        return self.config.mail.link(f"/samtale/k/{self.talk_links.short_code(case.id)}")

    async def first_contact(self, session: AsyncSession, case: Case, owner: Consultant
                            ) -> bool:
        """The citizen's first message when the case gets an owner: who the consultant is
        and how to reach them, what the workplace meeting is for, and the right to a talk
        with the consultant first (with the link to ask for it). E-mail when the citizen's
        address is known, else a letter to print; once per case and owner. Nothing about
        health. Returns whether it was queued."""
        if case.closed_on is not None or case.status != "target":
            return False
        context = {
            "jobcentre": self.config.jobcentre, "citizen": case.citizen_name or "borger",
            "consultant": {"name": owner.name, "phone": owner.phone, "email": owner.email},
            "workplace": case.follow_up == "workplace_meeting",
            "employer_name": case.employer.name if case.employer else None,
            "wished": bool(case.private_talk_first),
            "link": self.talk_link(case), "letter": False,
        }
        email = case.citizen_email
        channel, recipient = ("email", email) if email else \
            ("letter", case.citizen_name or "borger")
        if channel == "letter":
            # On paper nothing can be clicked: the consultant's phone and e-mail first, and
            # a short link to type instead of the long signed one.
            context |= {"letter": True, "link": self.talk_short_link(case)}
        rendered = self.renderer.render("citizen_first_contact", **context)
        key = dedupe_key("first_contact", case.id, owner.id, channel)
        return await self.outbox.enqueue_once(session, Message(
            channel=channel, kind="citizen_first_contact", recipient=recipient,
            subject=rendered.subject, text=rendered.text, html=rendered.html,
            payload={"case_ref": case.case_ref} if channel == "letter" else {},
            case_id=case.id), key)

    async def talk_planned(self, session: AsyncSession, talk: Meeting,
                           moved_from: Meeting | None = None, *, tell_owner: bool = False
                           ) -> None:
        """The citizen is told the private talk's time (by telephone or at the jobcentre,
        with their consultant) — when it replaces a talk they were told of (`moved_from`),
        that it moved. The owner's messages show it; with `tell_owner` (a case assigned
        before) the owner gets a message of its own, once per talk. The employer is never
        told of it."""
        context = self.people(talk) | {
            "moved_from": danish_slot(moved_from.start, moved_from.end)
            if moved_from is not None else ""}
        await self._to_citizen(session, talk, "citizen_private_talk", context)
        if self.consultants is not None:
            await self.consultants.meeting_changed(session, talk.case_id, talk.id)
            if tell_owner:
                await self.consultants.tell_owner(session, "talk_planned", talk.case_id,
                                                  talk.id, once=f"talk_planned-{talk.id}")

    async def talk_cancelled(self, session: AsyncSession, talk: Meeting, cause: str) -> None:
        """The citizen is told their planned talk will not be held: `cause` `not_wanted`
        (they said so), `new_owner` (planned again with their new consultant), `closed` (the
        case ended), `no_meeting` (no workplace meeting is to be held), `consultant_away` (its
        consultant can no longer hold it: `MeetingConflicts.scan`). E-mail, else a letter.
        The employer is never told of it."""
        await self._to_citizen(session, talk, "citizen_private_talk_cancelled",
                               self.people(talk) | {"cause": cause})
        if self.consultants is not None:  # the owner's messages no longer show it
            await self.consultants.meeting_changed(session, talk.case_id, talk.id)

    async def invitation_failed(self, session: AsyncSession, meeting: Meeting) -> None:
        """The proposal stands, but no invitation could be made: a person takes over."""
        await add_task_once(
            session, meeting, "invitation_failed",
            "Invitationen kunne ikke sendes automatisk: kontakt arbejdsgiveren og aftal "
            "mødetidspunkt.", self.clock.utcnow())
        await self._tell_consultant(session, meeting, "invitation_failed",
                                    once=f"invitation_failed-case{meeting.case_id}")

    async def cancelled(self, session: AsyncSession, meeting: Meeting, reason: str,
                        follows: bool = True, cause: str | None = None) -> None:
        """Tell those who were told about the meeting that it will not happen as planned.

        `reason` is said to the citizen (and to the employer when `cause` is not one the
        employer's mail words itself); `follows`: a new proposal will be sent (moved), or not
        (the follow-up changed). `cause` words the employer's mail in the second person:
        `employer_cancelled`, `employer_other_times`, `employer_declined` (their own answer),
        `moved` (planning moved a proposal), `follow_up_changed`. When the employer's calendar
        holds the meeting (`cancel_sequence`), the mail carries a METHOD:CANCEL for it. The
        employer hears only of a workplace meeting they were invited to or hold in their
        calendar — never of a meeting at the jobcentre.
        """
        sequence = await self.cancel_sequence(session, meeting)
        in_calendar = sequence is not None
        context = self.people(meeting) | {
            "reason": reason, "follows": follows, "cause": cause,
            "was_confirmed": meeting.confirmed_at is not None, "calendar": False}
        recipient = self.employer_email(meeting)
        told = meeting.invited_at is not None or in_calendar
        if recipient and meeting.kind == "workplace_meeting" and told:
            payload: dict[str, Any] = {}
            if sequence is not None:
                ics = self.ics(meeting, sequence, recipient, CANCEL)
                payload = {"ics": ics.decode("utf-8"), "ics_method": CANCEL}
                context["calendar"] = True
            await self.email(session, meeting, "employer_cancelled", recipient, context,
                             payload=payload)
        citizen_told = meeting.status == "confirmed" or meeting.kind == "jobcenter_meeting" \
            or meeting.confirmed_at is not None
        if citizen_told:
            await self._to_citizen(session, meeting, "citizen_cancelled", context)

    async def confirmed(self, session: AsyncSession, meeting: Meeting) -> None:
        """The employer confirmed: calendar request to the employer, the citizen informed.

        A confirmation at a new time (after a move) is the same event with a higher SEQUENCE.
        """
        context = await self._meeting_request(session, meeting)
        await close_tasks(session, meeting.case_id, SETTLED_BY_A_TIME, self.clock.utcnow())
        await add_task(session, meeting, "meeting_confirmed",
                       f"Arbejdsgiveren har bekræftet mødet {context['when']}.",
                       self.clock.utcnow())
        await self._tell_consultant(session, meeting, "employer_confirmed")

    async def consultant_changed(self, session: AsyncSession, meeting: Meeting) -> None:
        """A confirmed meeting keeps its time with another consultant (the case's new owner):
        the employer's calendar event is updated — a REQUEST with the same UID, the next
        SEQUENCE and the new consultant as organiser — and the citizen told who comes."""
        await self._meeting_request(session, meeting)

    async def moved(self, session: AsyncSession, meeting: Meeting,
                    moved_from: tuple[datetime, datetime] | None = None) -> None:
        """Staff moved the meeting to a time agreed with the employer (it is confirmed
        there): the employer's calendar request (same UID, next SEQUENCE) and the citizen's
        letter with the new time — saying that the time they were told (`moved_from`, a
        confirmed meeting's) is moved, and no longer holds; the owner's messages show it."""
        await self._meeting_request(
            session, meeting, moved_from=danish_slot(*moved_from) if moved_from else "")
        await close_tasks(session, meeting.case_id, SETTLED_BY_A_TIME, self.clock.utcnow())
        if self.consultants is not None:
            await self.consultants.meeting_changed(session, meeting.case_id, meeting.id)

    async def conflict_found(self, session: AsyncSession, meeting: Meeting, why: str,
                             substitute: str | None) -> None:
        """A confirmed meeting its consultant can no longer hold (`why`: absence, calendar,
        inactive, closed_day; `substitute`: the colleague proposed, by name): the consultant and the
        intake channel are told once per meeting and cause."""
        if self.consultants is None:
            return
        words = {"absence": "Konsulenten er fraværende", "calendar": "Konsulenten er optaget "
                 "i sin kalender", "inactive": "Konsulenten er ikke længere aktiv",
                 "closed_day": "Jobcentret har lukket den dag"}[why]
        colleague = f"Forslag: {substitute} er ledig på samme tidspunkt." if substitute \
            else "Ingen kollega er ledig på samme tidspunkt."
        once = f"meeting_conflict-{meeting.id}-{why}"
        await self.consultants.tell_owner(session, "meeting_conflict", meeting.case_id,
                                          meeting.id, note=f"{words}. {colleague}", once=once)
        await self.consultants.meeting_to_move(
            session, meeting.case_id,
            f"{words} {danish_slot(meeting.start, meeting.end)}. {colleague}",
            once=f"{once}-intake")

    async def _meeting_request(self, session: AsyncSession, meeting: Meeting,
                               moved_from: str = "") -> dict[str, Any]:
        """The meeting as it now stands to the people in it: the employer's calendar request
        (the case's UID, the next SEQUENCE) and the citizen's letter (`moved_from`: the
        time, in words, it was moved from). Returns the words."""
        context = self.people(meeting) | {"link": self.link(meeting), "moved_from": moved_from}
        # The employer takes part only in a meeting at the workplace.
        recipient = self.employer_email(meeting) if meeting.kind == "workplace_meeting" \
            else None
        if recipient:
            sequence = await self.calendar_sequence(session, meeting.case_id)
            ics = self.ics(meeting, sequence, recipient)
            await self.email(session, meeting, "employer_confirmed", recipient, context,
                             payload={"ics": ics.decode("utf-8"), "ics_method": REQUEST})
        await self._to_citizen(session, meeting, "citizen_meeting", context)
        return context

    async def declined(self, session: AsyncSession, meeting: Meeting, note: str, *,
                       reason: str | None = None, grace: bool = False) -> None:
        """The employer cannot hold the meeting at the workplace (`reason`: a key of
        `service.meetings.decline_reasons.DECLINE_REASONS`; `note`: their own words, which stay in
        fasthold — the task shows them, Slack never). With `grace` the owner is asked to call
        first: the meeting keeps its place until the grace is over or it is restored."""
        context = self.people(meeting) | {"grace": grace}
        recipient = self.employer_email(meeting)
        if recipient:
            await self.email(session, meeting, "employer_decline_received", recipient, context)
        words = DECLINE_REASONS.get(reason or "", "")
        said = f" Begrundelse: {words}." if words else ""
        said += f" Besked: {note}" if note else ""
        if grace:
            await add_task(session, meeting, "employer_declined",
                           "Ring til arbejdsgiveren: mødet kan ikke holdes på arbejdspladsen, "
                           "siger de. Tal med dem om mødet, og genopret det, hvis det "
                           f"lykkes; ellers planlægges et møde i jobcentret.{said}",
                           self.clock.utcnow())
            await self._tell_consultant(session, meeting, "employer_declined_call",
                                        note=f"Begrundelse: {words}." if words else "")
            return
        await add_task(session, meeting, "employer_declined",
                       "Arbejdsgiveren ønsker ikke mødet på arbejdspladsen; der planlægges et "
                       f"møde i jobcentret.{said}", self.clock.utcnow())
        await self._tell_consultant(session, meeting, "employer_declined")

    async def decline_restored(self, session: AsyncSession, meeting: Meeting) -> None:
        """The consultant called, and the workplace meeting stands: the employer is told so
        (with the link to confirm a proposal); the owner's messages show it."""
        recipient = self.employer_email(meeting)
        if recipient:
            context = self.people(meeting) | {
                "link": self.link(meeting), "confirmed": meeting.status == "confirmed"}
            await self.email(session, meeting, "employer_decline_restored", recipient, context)
        if self.consultants is not None:
            await self.consultants.meeting_changed(session, meeting.case_id, meeting.id)

    async def other_times_asked(self, session: AsyncSession, meeting: Meeting,
                                wishes: str) -> None:
        """The employer asked for other times (`wishes`: weekdays and parts of the day in
        words; their free-text message stays in fasthold, never in Slack)."""
        await self._tell_consultant(session, meeting, "employer_other_times",
                                    note=f"Ønsker: {wishes}.")

    async def assigned(self, session: AsyncSession, cases: list[Case],
                       proposals: list[Meeting]) -> None:
        """Planning gave these cases their first owner (`proposals`: the meetings it
        proposed in the same run)."""
        if self.consultants is not None and cases:
            meetings = {m.case_id: m.id for m in proposals}
            await self.consultants.assigned(session, {c.id: meetings.get(c.id) for c in cases})

    async def delivery_failed(self, session: AsyncSession, row: OutboxMessage) -> None:
        """The outbox gave up on a message (its `on_failed`): a mail to the employer or the
        citizen about an open case means the owner must call — told once per failed mail."""
        kind = {"employer": "employer_mail_failed", "citizen": "citizen_mail_failed"}.get(
            row.kind.partition("_")[0])
        if self.consultants is None or row.channel not in ("email", "sms") or kind is None \
                or row.case_id is None:
            return
        case = await session.get(Case, row.case_id)
        if case is None or case.closed_on is not None:
            return
        await self.consultants.tell_owner(session, kind, case.id, once=f"{kind}-{row.id}")

    async def _tell_consultant(self, session: AsyncSession, meeting: Meeting, kind: str,
                               note: str = "", once: str | None = None) -> None:
        """A message to the case's owner about the meeting (when consultants can be told)."""
        if self.consultants is None:
            return
        await self.consultants.tell_owner(session, kind, meeting.case_id, meeting.id,
                                          note=note, once=once)
