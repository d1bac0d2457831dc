"""What the domain tells consultants and the intake channel in Slack: each event becomes an
outbox message (channel `slack`) in the transaction of the change that caused it.

Consultants get a direct message (`chat.postMessage` to their Slack user id); the intake
channel gets each auto-assignment with its reasons, and the post is updated when someone
chooses another consultant (with the fixed reason category, never the note a person typed).
Messages are updated in place (`chat.update`) when something is registered on the case or its
meeting changes, so their buttons show what is done and the meeting's current time. When the
case gets another owner, the previous owner's newest message about it says so once and
their older ones are deleted (`chat.delete`): one notice per change.

Privacy: a message carries the case reference, dates, the meeting's time and place and
links — never CPR, the citizen's name, a diagnosis (the planner's "speciale" reason is
reworded) or exclusion reasons.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.slack import blocks
from bots.slack.blocks import Assignment, CaseCard
from service.clock import Clock
from service.config import MunicipalityConfig
from service.followup.my_work import meeting_view
from service.followup.signals import NextAction, case_work, next_action
from service.intake.signals import deadline_at_risk, first_meeting_settled
from service.intake.views import follow_up_kind, planned_follow_up_kind
from service.meetings.decline_reasons import DECLINE_REASONS
from service.meetings.declines import DeclineGrace, pending_decline
from service.meetings.signals import UnansweredRule
from service.meetings.talk_kinds import (
    PRIVATE_TALK,
    TALK_CANCELLED,
    TALK_PLANNED,
    TALK_STATUS_TEXT,
)
from service.outbox.store import Message, Outbox
from service.platform.db.commit_hooks import on_commit
from service.platform.db.engine import as_utc
from service.platform.db.models import (
    Case,
    Consultant,
    ConsultantAbsence,
    Meeting,
    OutboxMessage,
)
from service.slack.people import SlackPeople
from service.text.case_words import CLOSE_OUTCOME
from service.text.danish import danish_date, danish_slot, danish_time, short_date, short_day

log = logging.getLogger("fasthold.slack")

FOLLOW_UP_WORDS = {"workplace_meeting": "møde på arbejdspladsen",
                   "jobcenter_meeting": "møde i jobcentret",
                   "telephone": "telefonisk opfølgning", "standard": "almindelig opfølgning"}
MEETING_KIND_WORDS = {"workplace_meeting": "på arbejdspladsen",
                      "jobcenter_meeting": "i jobcentret", "telephone": "telefonisk"}
HELD_WORDS = {"workplace": "holdt på arbejdspladsen", "jobcentre": "holdt i jobcentret",
              "phone": "holdt telefonisk"}
INTAKE_KIND = "intake_assignment"
UNPLACED_KIND = "intake_workplace_unplaced"
UNASSIGNED_KIND = "intake_unassigned"  # a case planning could give no owner
LATE_HANDOVER_KIND = "intake_late_handover"  # handed over after absence week 7
LONG_ABSENCE_KIND = "intake_long_absence"  # a consultant's long absence registered
UPDATE_KIND = "slack_update"
DELETE_KIND = "slack_delete"
EPHEMERAL_KIND = "slack_ephemeral"
HOME_KIND = "slack_home"
# Messages of a case refreshed when something is registered (the newest ones).
REFRESH_LIMIT = 10


def slack_reasons(reasons: list[Any]) -> list[str]:
    """The planner's reasons for the intake channel, without the diagnosis group a
    "speciale" reason names."""
    out = []
    for reason in reasons:
        text = str(reason)
        if text.startswith("valgt manuelt"):
            continue  # staff's choice, with their note: it stays in fasthold
        out.append("matcher konsulentens speciale" if text.startswith("speciale") else text)
    return list(dict.fromkeys(out))


class SlackNotices:
    """Implements `service.meetings.notifications.ConsultantNotices` and
    `service.intake.service.OwnerListener` (wired in `service.wiring`)."""

    def __init__(self, config: MunicipalityConfig, clock: Clock, outbox: Outbox,
                 people: SlackPeople, intake_channel: str | None,
                 on_change: Callable[[], None] | None = None) -> None:
        """`on_change`: called after a commit that told a consultant something (their Home
        tab may have changed)."""
        self.on_change = on_change
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.people = people
        self.intake_channel = intake_channel
        self.base = config.mail.link("")
        self.unanswered = UnansweredRule.configured(config, clock.tz)
        self.grace = DeclineGrace.configured(config, clock)

    # -- the next step -------------------------------------------------------------------------

    def next_step(self, case: Case, meeting: Meeting | None, held: bool
                  ) -> tuple[NextAction, bool]:
        """The case's next action (`service.followup.signals`: the words of "Mine sager")
        and whether its deadline is at risk — for the Home tab and the case messages."""
        today = self.clock.today()
        at_risk = deadline_at_risk(
            status=case.status, closed_on=case.closed_on, deadline=case.first_meeting_deadline,
            settled=first_meeting_settled(
                held=held, meeting_status=meeting.status if meeting else None,
                meeting_start=meeting.start if meeting else None,
                deadline=case.first_meeting_deadline),
            today=today)
        view = meeting_view(meeting, case.case_ref, self.grace) if meeting is not None else None
        kind = follow_up_kind(case.follow_up or "", case.owner, today,
                              planned_follow_up_kind(meeting))
        return next_action(case_work(case, view, held=held,
                                     unanswered=self.unanswered.of(meeting, today),
                                     at_risk=at_risk, follow_up_kind=kind),
                           today=today, now=self.clock.local_now()), at_risk

    # -- words and links ---------------------------------------------------------------------

    def case_link(self, case_ref: str) -> str:
        return f"{self.base}/cases/{quote(case_ref, safe='')}"

    def week_link(self) -> str:
        return f"{self.base}/week"

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = as_utc(moment).astimezone(self.clock.tz)
        return f"{short_date(local.date())} kl. {danish_time(local)}"

    @staticmethod
    def meeting_words(meeting: Meeting) -> str:
        state = {"proposed": "foreslået", "confirmed": "bekræftet"}.get(meeting.status, "")
        kind = MEETING_KIND_WORDS.get(meeting.kind, "")
        return f"{danish_slot(meeting.start, meeting.end)} {kind}" + (
            f" ({state})" if state else "")

    async def card(self, session: AsyncSession, case: Case, meeting: Meeting | None = None,
                   note: str = "") -> CaseCard:
        registered = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.outcome_registered_at.is_not(None),
            Meeting.kind != PRIVATE_TALK)  # a talk registered is not the meeting held
            .order_by(Meeting.outcome_registered_at.desc()).limit(1))
        ).unique().scalar_one_or_none()
        registered_words = ""
        if registered is not None:
            registered_words = HELD_WORDS.get(registered.place or "", "ikke holdt")
            if registered.employer_took_part is not None:
                registered_words += ", arbejdsgiveren deltog" if registered.employer_took_part \
                    else ", arbejdsgiveren deltog ikke"
        talk, talk_done = await self._talk_words(session, case)
        active = meeting if meeting is not None and meeting.status in ("proposed", "confirmed") \
            else None
        step = decline = ""
        if case.closed_on is None and case.status == "target":
            held = (await session.execute(select(Meeting.id).where(
                Meeting.case_id == case.id, Meeting.status == "held").limit(1))
            ).first() is not None
            step = self.next_step(case, active, held)[0].text
            if active is not None and pending_decline(active):
                decline = DECLINE_REASONS.get(active.decline_reason or "", "Andet")
        closed = ""
        if case.closed_on is not None:
            closed = f"{short_date(case.closed_on)} " \
                     f"({CLOSE_OUTCOME.get(case.close_outcome or '', 'andet').lower()})"
        return CaseCard(
            case_ref=case.case_ref, link=self.case_link(case.case_ref),
            follow_up=FOLLOW_UP_WORDS.get(case.follow_up or "", ""),
            deadline=danish_date(case.first_meeting_deadline),
            meeting=self.meeting_words(meeting)
            if meeting is not None and meeting.status in ("proposed", "confirmed") else "",
            citizen_called=self.when(case.citizen_called_at),
            employer_called=self.when(case.employer_called_at),
            meeting_registered=registered_words,
            intervention=short_date(case.intervention_started_on)
            if case.intervention_started_on else "",
            closed=closed, note=note, talk=talk, talk_done=talk_done, next_step=step,
            decline=decline, invitation_held="ja" if active is not None
            and meeting_view(active, case.case_ref, self.grace).invitation_held else "")

    async def _talk_words(self, session: AsyncSession, case: Case) -> tuple[str, str]:
        """The private talk as the messages show it: (the planned talk's time, how the last
        registered one went). Its time and nothing more: never why it was wished."""
        talks = list((await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK)
            .order_by(Meeting.id.desc()))).unique().scalars())
        planned = next((t for t in talks if t.status == TALK_PLANNED), None)
        if planned is not None:
            return danish_slot(planned.start, planned.end), ""
        done = next((t for t in talks if t.outcome_registered_at is not None
                     or (t.status == TALK_CANCELLED and not case.private_talk_first)), None)
        return "", TALK_STATUS_TEXT.get(done.status, "") if done is not None else ""

    # -- sending -------------------------------------------------------------------------------

    async def tell_owner(self, session: AsyncSession, kind: str, case_id: int,
                         meeting_id: int | None = None, *, note: str = "",
                         once: str | None = None) -> bool:
        """`ConsultantNotices`: a direct message to the case's owner (`once`: a key that
        never makes a second message)."""
        case = await session.get(Case, case_id)
        if case is None:
            return False
        meeting = await session.get(Meeting, meeting_id) if meeting_id is not None else None
        return await self.to_owner(session, kind, case, meeting, note=note,
                                   message_id=self.once(once) if once else None)

    async def to_owner(self, session: AsyncSession, kind: str, case: Case,
                       meeting: Meeting | None = None, *, note: str = "",
                       message_id: str | None = None, owner_key: str | None = None) -> bool:
        """A direct message of `kind` to the case's owner (or `owner_key`); False when the
        consultant has no Slack user id, or a message with this `message_id` was sent."""
        user = self.people.slack_id_of(owner_key or (case.owner.key if case.owner else None))
        if user is None:
            return False
        if message_id is not None and (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.message_id == message_id))).first() is not None:
            return False  # sent before (a reminder, a failure): once is enough
        # The message shows the case's meeting as it is now (the one it is about may be gone).
        shown = meeting if meeting is not None and meeting.status in ("proposed", "confirmed") \
            else await self._meeting(session, case)
        card = await self.card(session, case, shown, note)
        text, body = blocks.case_message(kind, card)
        self.outbox.enqueue(session, Message(
            channel="slack", kind=kind, recipient=user, subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body,
                     "case_ref": case.case_ref, "note": note},
            case_id=case.id, meeting_id=meeting.id if meeting is not None else None,
            message_id=message_id))
        # The owner's earlier messages about the case show what this one shows (the meeting
        # may have moved since they were sent).
        await self.refresh(session, case)
        if self.on_change is not None:
            on_commit(session, (self, "changed"), self._changed)
        return True

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def assignment(self, case: Case, changed_by: str = "", change_reason: str = ""
                   ) -> Assignment:
        return Assignment(
            case_ref=case.case_ref, link=self.case_link(case.case_ref),
            consultant=case.owner.name if case.owner else "ingen",
            reasons=slack_reasons(list(case.owner_reasons or [])),
            deadline=danish_date(case.first_meeting_deadline), changed_by=changed_by,
            change_reason=change_reason)

    async def assigned(self, session: AsyncSession, proposals: dict[int, int | None]) -> None:
        """`ConsultantNotices`: planning gave these cases (case id -> the meeting it proposed)
        their owner: a DM to each owner (with the proposed meeting) and a post in the intake
        channel with the reasons."""
        for case_id, meeting_id in proposals.items():
            case = await session.get(Case, case_id)
            if case is None:
                continue
            meeting = await session.get(Meeting, meeting_id) if meeting_id is not None \
                else None
            # `after_calls`: the invitation waits, and the message says to call first.
            held = meeting is not None and meeting.invitation_held_at is not None \
                and meeting.invited_at is None
            await self.to_owner(session, "case_assigned_call_first" if held
                                else "case_assigned", case, meeting)
            if self.intake_channel:
                text, body = blocks.assignment_message(self.assignment(case))
                self.outbox.enqueue(session, Message(
                    channel="slack", kind=INTAKE_KIND, recipient=self.intake_channel,
                    subject=_subject(text), text=text,
                    payload={"method": "chat.postMessage", "text": text, "blocks": body,
                             "case_ref": case.case_ref},
                    case_id=case.id))

    async def workplace_unplaced(self, session: AsyncSession, case: Case, reason: str
                                 ) -> None:
        """`service.intake.service.PlacementListener`: the case's workplace address could not
        be placed on the map — the intake channel is told, with why, to correct it."""
        if not self.intake_channel:
            return
        text, body = blocks.workplace_unplaced_message(
            case.case_ref, self.case_link(case.case_ref), reason)
        self.outbox.enqueue(session, Message(
            channel="slack", kind=UNPLACED_KIND, recipient=self.intake_channel,
            subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body,
                     "case_ref": case.case_ref},
            case_id=case.id))

    async def handed_over_late(self, session: AsyncSession, case: Case, week: int) -> None:
        """`service.intake.service.HandOverListener`: the benefits office handed the case over
        after absence week 7 — a post in the intake channel, once per case."""
        if not self.intake_channel:
            return
        message_id = self.once(f"late-handover-{case.id}")
        if (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.message_id == message_id))).first() is not None:
            return
        text, body = blocks.late_handover_message(
            case.case_ref, self.case_link(case.case_ref), week,
            danish_date(case.first_meeting_deadline))
        self.outbox.enqueue(session, Message(
            channel="slack", kind=LATE_HANDOVER_KIND, recipient=self.intake_channel,
            subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body,
                     "case_ref": case.case_ref},
            case_id=case.id, message_id=message_id))

    async def long_absence(self, session: AsyncSession, consultant: Consultant,
                           absence: ConsultantAbsence, working_days: int) -> None:
        """`service.consultants.service.LongAbsenceListener`: a consultant's long absence was
        registered — a post in the intake channel, once per absence, with the link to the
        cases to hand over (no reason: it may be health)."""
        if not self.intake_channel:
            return
        text, body = blocks.long_absence_message(
            consultant.name, short_day(absence.first_day), short_day(absence.last_day),
            working_days, f"{self.base}/meetings/to-move")
        self.outbox.enqueue(session, Message(
            channel="slack", kind=LONG_ABSENCE_KIND, recipient=self.intake_channel,
            subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body},
            message_id=self.once(f"long-absence-{absence.id}")))

    async def unassigned(self, session: AsyncSession, case: Case, reason: str) -> None:
        """`service.planning.store.UnassignedListener`: a post in the intake channel that the
        case has no owner, why, and a button to choose one — once per case and reason (not
        every planning run)."""
        if not self.intake_channel:
            return
        digest = hashlib.sha256(reason.encode("utf-8")).hexdigest()[:16]
        message_id = self.once(f"unassigned-{case.id}-{digest}")
        if (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.message_id == message_id))).first() is not None:
            return
        text, body = blocks.unassigned_message(case.case_ref, self.case_link(case.case_ref),
                                               reason, danish_date(case.first_meeting_deadline))
        self.outbox.enqueue(session, Message(
            channel="slack", kind=UNASSIGNED_KIND, recipient=self.intake_channel,
            subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body,
                     "case_ref": case.case_ref},
            case_id=case.id, message_id=message_id))

    async def owner_changed(self, session: AsyncSession, case: Case, by: str, category: str
                            ) -> None:
        """Someone chose another owner (`category`: the fixed reason in words): the intake
        channel's posts about the case say so, the previous owners' messages are withdrawn
        (one notice each), and the new owner gets the case's message."""
        text, body = blocks.assignment_message(self.assignment(case, by, category))
        for row in await self._messages(session, case, (INTAKE_KIND, UNASSIGNED_KIND)):
            self._update(session, row, text, body)
        # The previous owner's messages no longer show the case (need to know).
        owner = self.people.slack_id_of(case.owner.key if case.owner else None)
        moved_text, moved = blocks.moved_message(case.case_ref)
        live = await self._live(session, case)
        told: set[str] = set()
        for row in live.rows:  # newest first
            if row.recipient == owner:
                continue
            if row.recipient in told:
                self._delete(session, row)
            else:
                self._update(session, row, moved_text, moved, withdraws=True)
                told.add(row.recipient)
        await self.to_owner(session, "case_assigned", case, await self._meeting(session, case))

    async def meeting_to_move(self, session: AsyncSession, case_id: int, text: str, *,
                              once: str) -> bool:
        """`ConsultantNotices`: the intake channel hears of a confirmed meeting whose
        consultant cannot hold it, with a link to "Møder der skal flyttes" (`once`: a key
        that never makes a second post)."""
        case = await session.get(Case, case_id)
        message_id = self.once(once)
        if case is None or not self.intake_channel or (await session.execute(
                select(OutboxMessage.id).where(OutboxMessage.message_id == message_id))
                ).first() is not None:
            return False
        post, body = blocks.meeting_to_move_message(case.case_ref, text,
                                                    f"{self.base}/meetings/to-move")
        self.outbox.enqueue(session, Message(
            channel="slack", kind="meeting_to_move", recipient=self.intake_channel,
            subject=_subject(post), text=post,
            payload={"method": "chat.postMessage", "text": post, "blocks": body,
                     "case_ref": case.case_ref},
            case_id=case.id, message_id=message_id))
        return True

    async def meeting_changed(self, session: AsyncSession, case_id: int, meeting_id: int
                              ) -> None:
        """`ConsultantNotices`: the case's meeting is new or moved: the owner's messages show
        its time."""
        case = await session.get(Case, case_id)
        if case is not None:
            await self.refresh(session, case, await session.get(Meeting, meeting_id))

    async def refresh(self, session: AsyncSession, case: Case, meeting: Meeting | None = None
                      ) -> int:
        """Re-render the owner's messages about the case with what is registered now and the
        case's current meeting (`meeting`, or the case's active one); a message whose content
        would not change is left alone. Returns how many were updated."""
        if meeting is None or meeting.status not in ("proposed", "confirmed"):
            meeting = await self._meeting(session, case)
        owner = self.people.slack_id_of(case.owner.key if case.owner else None)
        if owner is None:
            return 0
        live = await self._live(session, case)
        rows = [r for r in live.rows if r.recipient == owner]
        if not rows:
            return 0
        card = await self.card(session, case, meeting)
        updated = 0
        for row in rows:
            note = str((row.payload or {}).get("note") or "")
            text, body = blocks.case_message(row.kind, replace(card, note=note))
            if live.shown.get(row.id) == body:
                continue
            self._update(session, row, text, body)
            updated += 1
        return updated

    async def _meeting(self, session: AsyncSession, case: Case) -> Meeting | None:
        """The case's active meeting (the newest, should a move be half done)."""
        return (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(("proposed", "confirmed")))
            .order_by(Meeting.id.desc()).limit(1))).unique().scalar_one_or_none()

    async def _live(self, session: AsyncSession, case: Case) -> _Live:
        """The case's consultant messages not withdrawn (newest first, at most
        `REFRESH_LIMIT`), and the blocks each shows now."""
        rows = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "slack",
            OutboxMessage.kind.in_((*blocks.KINDS, UPDATE_KIND, DELETE_KIND)))
            .order_by(OutboxMessage.id))).scalars().all()
        shown: dict[int, list[Any]] = {}
        gone: set[int] = set()
        for row in rows:
            payload = row.payload or {}
            if row.kind in blocks.KINDS:
                shown[row.id] = list(payload.get("blocks") or [])
                continue
            target = payload.get("update_of")
            if not isinstance(target, int):
                continue
            if row.kind == DELETE_KIND or payload.get("withdraws"):
                gone.add(target)
            else:
                shown[target] = list(payload.get("blocks") or [])
        # A message Slack never took (failed: e-mailed instead) has nothing to update.
        live = [r for r in reversed(rows)
                if r.kind in blocks.KINDS and r.id not in gone and r.status != "failed"]
        return _Live(live[:REFRESH_LIMIT], shown)

    async def _messages(self, session: AsyncSession, case: Case, kinds: tuple[str, ...]
                        ) -> list[OutboxMessage]:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "slack",
            OutboxMessage.kind.in_(kinds), OutboxMessage.status != "failed")
            .order_by(OutboxMessage.id.desc()).limit(REFRESH_LIMIT))).scalars())

    def _update(self, session: AsyncSession, row: OutboxMessage, text: str,
                body: list[dict[str, Any]], withdraws: bool = False) -> None:
        payload: dict[str, Any] = {"method": "chat.update", "update_of": row.id, "text": text,
                                   "blocks": body,
                                   "case_ref": (row.payload or {}).get("case_ref")}
        if withdraws:
            payload["withdraws"] = True
        self.outbox.enqueue(session, Message(
            channel="slack", kind=UPDATE_KIND, recipient=row.recipient, subject=_subject(text),
            text=text, payload=payload, case_id=row.case_id))

    def _delete(self, session: AsyncSession, row: OutboxMessage) -> None:
        """The message goes from the recipient's DM (an older one about a case no longer
        theirs: the newest says it moved)."""
        self.outbox.enqueue(session, Message(
            channel="slack", kind=DELETE_KIND, recipient=row.recipient, subject="",
            text="", payload={"method": "chat.delete", "update_of": row.id,
                              "case_ref": (row.payload or {}).get("case_ref")},
            case_id=row.case_id))

    def ephemeral(self, session: AsyncSession, user: str, channel: str, text: str) -> None:
        self.outbox.enqueue(session, Message(
            channel="slack", kind=EPHEMERAL_KIND, recipient=user, subject="", text=text,
            payload={"method": "chat.postEphemeral", "channel": channel, "text": text,
                     "blocks": blocks.ephemeral(text)}))

    def once(self, key: str) -> str:
        """A deterministic message id: the same key never makes a second message."""
        return f"<slack-{key}@{self.outbox.domain}>"


def _subject(text: str) -> str:
    """A short subject (for the e-mail a Slack message becomes when Slack cannot take it)."""
    first = text.split(". ")[0].split(" http")[0]
    for emoji in (":new:", ":white_check_mark:", ":calendar:", ":no_entry_sign:", ":email:",
                  ":telephone_receiver:", ":alarm_clock:", ":hourglass:", ":warning:",
                  ":inbox_tray:", ":arrows_counterclockwise:"):
        first = first.replace(emoji, "")
    return first.strip()[:200]


@dataclass(frozen=True)
class _Live:
    rows: list[OutboxMessage]
    shown: dict[int, list[Any]]

