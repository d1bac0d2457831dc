"""What the domain tells consultants and the intake channel in Slack: each event becomes an
outbox message (channel `slack`) in the transaction of the change that caused it.

Consultants get a direct message (`chat.postMessage` to their Slack user id); the intake
channel gets each auto-assignment with its reasons, and the post is updated when someone
chooses another consultant. Messages are updated in place (`chat.update`) when something is
registered on the case, so their buttons show what is done.

Privacy: a message carries the case reference, dates, the meeting's time and place and
links — never CPR, the citizen's name, a diagnosis (the planner's "speciale" reason is
reworded) or exclusion reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.slack import blocks
from bots.slack.blocks import Assignment, CaseCard
from service.clock import Clock
from service.config import MunicipalityConfig
from service.outbox.store import Message, Outbox
from service.platform.db.engine import as_utc
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.slack.people import SlackPeople
from service.text.danish import danish_date, danish_slot, danish_time, short_date

log = logging.getLogger("fasthold.slack")

FOLLOW_UP_WORDS = {"workplace_meeting": "møde på arbejdspladsen",
                   "jobcenter_meeting": "møde i jobcentret",
                   "telephone": "telefonisk opfølgning", "standard": "almindelig opfølgning"}
MEETING_KIND_WORDS = {"workplace_meeting": "på arbejdspladsen",
                      "jobcenter_meeting": "i jobcentret", "telephone": "telefonisk"}
HELD_WORDS = {"workplace": "holdt på arbejdspladsen", "jobcentre": "holdt i jobcentret",
              "phone": "holdt telefonisk"}
INTAKE_KIND = "intake_assignment"
UPDATE_KIND = "slack_update"
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
        out.append("matcher konsulentens speciale" if text.startswith("speciale") else text)
    return list(dict.fromkeys(out))


class SlackNotices:
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
        self.base = config.mail.link_base_url.rstrip("/")

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
            Meeting.case_id == case.id, Meeting.outcome_registered_at.is_not(None))
            .order_by(Meeting.outcome_registered_at.desc()).limit(1))
        ).unique().scalar_one_or_none()
        registered_words = ""
        if registered is not None:
            registered_words = HELD_WORDS.get(registered.place or "", "ikke holdt")
            if registered.employer_took_part is not None:
                registered_words += ", arbejdsgiveren deltog" if registered.employer_took_part \
                    else ", arbejdsgiveren deltog ikke"
        closed = ""
        if case.closed_on is not None:
            closed = f"{short_date(case.closed_on)} " \
                     f"({blocks.CLOSE_OUTCOMES.get(case.close_outcome or '', 'andet').lower()})"
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
            closed=closed, note=note)

    # -- sending -------------------------------------------------------------------------------

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
        card = await self.card(session, case, meeting, note)
        text, body = blocks.case_message(kind, card)
        self.outbox.enqueue(session, Message(
            channel="slack", kind=kind, recipient=user, subject=_subject(text), text=text,
            payload={"method": "chat.postMessage", "text": text, "blocks": body,
                     "case_ref": case.case_ref},
            case_id=case.id, meeting_id=meeting.id if meeting is not None else None,
            message_id=message_id))
        if self.on_change is not None:
            event.listen(session.sync_session, "after_commit", self._changed, once=True)
        return True

    def _changed(self, _session: object) -> None:
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

    async def assigned(self, session: AsyncSession, cases: list[Case],
                       proposals: list[Meeting]) -> None:
        """Planning gave these cases their owner: a DM to each owner (with the proposed
        meeting) and a post in the intake channel with the reasons."""
        meetings = {m.case_id: m for m in proposals}
        for case in cases:
            await self.to_owner(session, "case_assigned", case, meetings.get(case.id))
            if self.intake_channel:
                text, body = blocks.assignment_message(self.assignment(case))
                self.outbox.enqueue(session, Message(
                    channel="slack", kind=INTAKE_KIND, recipient=self.intake_channel,
                    subject=_subject(text), text=text,
                    payload={"method": "chat.postMessage", "text": text, "blocks": body,
                             "case_ref": case.case_ref},
                    case_id=case.id))

    async def owner_changed(self, session: AsyncSession, case: Case, by: str, reason: str
                            ) -> None:
        """Someone chose another owner: the intake channel's posts about the case say so,
        and the new owner gets the case's message."""
        text, body = blocks.assignment_message(self.assignment(case, by, reason))
        for row in await self._messages(session, case, (INTAKE_KIND,)):
            self._update(session, row, text, body)
        # The previous owner's messages no longer show the case (need to know).
        owner = self.people.slack_id_of(case.owner.key if case.owner else None)
        moved_text, moved = blocks.moved_message(case.case_ref)
        for row in await self._messages(session, case, blocks.KINDS):
            if row.recipient != owner:
                self._update(session, row, moved_text, moved)
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(("proposed", "confirmed"))))
        ).unique().scalar_one_or_none()
        await self.to_owner(session, "case_assigned", case, meeting)

    async def refresh(self, session: AsyncSession, case: Case) -> int:
        """Re-render the owner's recent messages about the case with what is registered
        now."""
        meeting = (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.status.in_(("proposed", "confirmed"))))
        ).unique().scalar_one_or_none()
        owner = self.people.slack_id_of(case.owner.key if case.owner else None)
        rows = [r for r in await self._messages(session, case, blocks.KINDS)
                if r.recipient == owner]
        for row in rows:
            card = CaseCard.from_json({**(await self.card(session, case, meeting)).to_json(),
                                       "meeting": self._meeting_of(row)})
            text, body = blocks.case_message(row.kind, card)
            self._update(session, row, text, body)
        return len(rows)

    @staticmethod
    def _meeting_of(row: OutboxMessage) -> str:
        """The meeting line a message showed (a message keeps the meeting it was about)."""
        for block in (row.payload or {}).get("blocks") or []:
            text = ((block or {}).get("text") or {}).get("text") or ""
            for line in str(text).splitlines():
                if line.startswith("*Møde:* "):
                    return line.removeprefix("*Møde:* ").replace("&lt;", "<").replace(
                        "&gt;", ">").replace("&amp;", "&")
        return ""

    async def _messages(self, session: AsyncSession, case: Case, kinds: tuple[str, ...]
                        ) -> list[OutboxMessage]:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "slack",
            OutboxMessage.kind.in_(kinds)).order_by(OutboxMessage.id.desc())
            .limit(REFRESH_LIMIT))).scalars())

    def _update(self, session: AsyncSession, row: OutboxMessage, text: str,
                body: list[dict[str, Any]]) -> None:
        self.outbox.enqueue(session, Message(
            channel="slack", kind=UPDATE_KIND, recipient=row.recipient, subject=_subject(text),
            text=text, payload={"method": "chat.update", "update_of": row.id, "text": text,
                                "blocks": body, "case_ref": (row.payload or {}).get("case_ref")},
            case_id=row.case_id))

    def ephemeral(self, session: AsyncSession, user: str, channel: str, text: str) -> None:
        self.outbox.enqueue(session, Message(
            channel="slack", kind=EPHEMERAL_KIND, recipient=user, subject="", text=text,
            payload={"method": "chat.postEphemeral", "channel": channel, "text": text,
                     "blocks": blocks.ephemeral(text)}))

    def once(self, key: str) -> str:
        """A deterministic message id: the same key never makes a second message."""
        return f"<slack-{key}@{self.outbox.domain}>"

    # -- events from the outbox -----------------------------------------------------------

    async def delivery_failed(self, session: AsyncSession, row: OutboxMessage) -> None:
        """The outbox gave up on a message: a mail to the employer or the citizen means the
        consultant must call (told once per failed mail)."""
        kind = {"employer": "employer_mail_failed", "citizen": "citizen_mail_failed"}.get(
            row.kind.partition("_")[0])
        if row.channel != "email" or kind is None or row.case_id is None:
            return
        case = await session.get(Case, row.case_id)
        if case is None or case.closed_on is not None:
            return
        await self.to_owner(session, kind, case, message_id=self.once(f"{kind}-{row.id}"))


def _subject(text: str) -> str:
    """A short subject (for the e-mail a Slack message becomes when Slack cannot take it)."""
    first = text.split(". ")[0].split(" http")[0]
    for emoji in (":new:", ":white_check_mark:", ":calendar:", ":no_entry_sign:", ":email:",
                  ":telephone_receiver:", ":alarm_clock:", ":hourglass:", ":warning:",
                  ":inbox_tray:", ":arrows_counterclockwise:"):
        first = first.replace(emoji, "")
    return first.strip()[:200]


def today_week_bounds(today: date) -> tuple[date, date]:
    """Monday and Sunday of `today`'s week."""
    monday = date.fromordinal(today.toordinal() - today.weekday())
    return monday, date.fromordinal(monday.toordinal() + 6)
