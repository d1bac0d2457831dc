"""Each consultant's Home tab in Slack: meetings this week, cases that need action (those
whose next action is urgent — `service.followup.signals`, the same words and rule as "Mine
sager": a meeting's outcome not registered, the employer silent, the deadline at risk, …),
open cases nearest deadline first — within Slack's block limits, with links to the web UI.

Published by the `publish_slack_home` job, only for consultants whose tab changed: the hash
of what was last published is kept with that outbox message, so an unchanged tab is never
published again (Slack rate-limits apps that republish on every open)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.slack import blocks
from bots.slack.blocks import HomeItem
from service.clock import Clock
from service.config import MunicipalityConfig
from service.followup.week_layout import consultant_hours, current_week
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_LABEL, TALK_PLANNED
from service.outbox.store import Message, Outbox
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, Case, Consultant, Meeting, OutboxMessage
from service.slack.notices import HOME_KIND, MEETING_KIND_WORDS, SlackNotices
from service.slack.people import SlackPeople
from service.text.danish import danish_date, danish_slot, short_date


@dataclass
class Dashboard:
    week: list[HomeItem]
    action: list[HomeItem]
    open_cases: list[HomeItem]
    coming_week: bool = False  # `week` is the coming week's (on a weekend), not this one's


class SlackHome:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 outbox: Outbox, people: SlackPeople, notices: SlackNotices) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.people = people
        self.notices = notices
        self.municipality = config.municipality.id

    async def open_cases(self, session: AsyncSession, consultant_key: str
                         ) -> list[tuple[Case, Meeting | None]]:
        """The consultant's open cases, nearest deadline first, with their active meeting."""
        cases = (await session.execute(select(Case).join(
            Consultant, Case.owner_id == Consultant.id).where(
            Case.municipality_id == self.municipality, Consultant.key == consultant_key,
            Case.closed_on.is_(None)).order_by(Case.first_meeting_deadline, Case.id))
        ).unique().scalars().all()
        meetings = {m.case_id: m for m in (await session.execute(select(Meeting).where(
            Meeting.case_id.in_([c.id for c in cases]),
            Meeting.status.in_(ACTIVE_MEETING)))).unique().scalars()} if cases else {}
        return [(c, meetings.get(c.id)) for c in cases]

    async def next_meetings(self, session: AsyncSession, consultant_key: str,
                            since: datetime, until: datetime | None = None) -> list[Meeting]:
        """The active meetings of the consultant's own open cases (by the case's owner, not
        the meeting's consultant: a case given to another keeps no meeting in the old
        owner's lists), and the planned private talks without the employer."""
        conditions = [Meeting.municipality_id == self.municipality,
                      Consultant.key == consultant_key,
                      Meeting.status.in_((*ACTIVE_MEETING, TALK_PLANNED)),
                      Case.closed_on.is_(None), Meeting.start >= since]
        if until is not None:
            conditions.append(Meeting.start < until)
        return list((await session.execute(select(Meeting).join(
            Case, Meeting.case_id == Case.id).join(
            Consultant, Case.owner_id == Consultant.id).where(*conditions)
            .order_by(Meeting.start))).unique().scalars())

    def item(self, case: Case, text: str) -> HomeItem:
        return HomeItem(case.case_ref, self.notices.case_link(case.case_ref), text)

    def meeting_item(self, meeting: Meeting) -> HomeItem:
        if meeting.kind == PRIVATE_TALK:
            return self.item(meeting.case, f"{danish_slot(meeting.start, meeting.end)} "
                                           f"{TALK_LABEL.lower()} (planlagt)")
        state = "bekræftet" if meeting.status == "confirmed" else "foreslået"
        return self.item(meeting.case, f"{danish_slot(meeting.start, meeting.end)} "
                                       f"{MEETING_KIND_WORDS.get(meeting.kind, '')} ({state})")

    async def dashboard(self, session: AsyncSession, consultant_key: str) -> Dashboard:
        today = self.clock.today()
        # "this week" as Min uge means it: on a weekend, the coming week (`current_week`);
        # from today on (a meeting on the weekend itself is shown too)
        stored = (await session.execute(select(Consultant.working_hours).where(
            Consultant.municipality_id == self.municipality,
            Consultant.key == consultant_key))).scalar_one_or_none()
        monday = current_week(today, consultant_hours(stored, self.config.working_hours))
        week = await self.next_meetings(session, consultant_key,
                                        datetime.combine(today, datetime.min.time()),
                                        datetime.combine(monday + timedelta(days=7),
                                                         datetime.min.time()))
        cases = await self.open_cases(session, consultant_key)
        held = await self.held(session, cases)
        action: list[HomeItem] = []
        for case, meeting in cases:
            why = self._needs_action(case, meeting, case.id in held)
            if why:
                action.append(self.item(case, why))
        open_items = self.case_items(cases, held)
        return Dashboard([self.meeting_item(m) for m in week], action, open_items,
                         coming_week=monday > today)

    @staticmethod
    async def held(session: AsyncSession, cases: list[tuple[Case, Meeting | None]]
                   ) -> set[int]:
        """The ids of the cases whose first meeting was held."""
        return set((await session.execute(select(Meeting.case_id).where(
            Meeting.case_id.in_([c.id for c, _ in cases]), Meeting.status == "held"))
        ).scalars()) if cases else set()

    def case_items(self, cases: list[tuple[Case, Meeting | None]], held: set[int]
                   ) -> list[HomeItem]:
        """The open cases as a list says them, in the order of the date each shows — the
        first meeting's deadline, or after it the next follow-up's due date — nearest first
        (they were in the deadlines' order while showing the follow-ups' dates)."""
        ordered = sorted(cases, key=lambda pair: (
            _shown_date(pair[0], pair[0].id in held), pair[0].id))
        return [self.case_item(case, meeting, case.id in held) for case, meeting in ordered]

    def case_item(self, case: Case, meeting: Meeting | None, held: bool) -> HomeItem:
        """An open case in a list: its deadline — after the first meeting, the next
        follow-up's due date — and its meeting."""
        due = case.next_follow_up_due if held else None
        when = f"opfølgning senest {short_date(due)}" if due is not None \
            else f"frist {short_date(case.first_meeting_deadline)}"
        return self.item(case, when + (f" · møde {danish_slot(meeting.start, meeting.end)}"
                                       if meeting is not None else ""))

    def _needs_action(self, case: Case, meeting: Meeting | None, held: bool) -> str:
        """The case's next action when it is urgent (else ""), as "Mine sager" says it; a
        deadline at risk is named with the deadline."""
        if case.status != "target":
            return ""
        action, at_risk = self.notices.next_step(case, meeting, held)
        if not action.urgent:
            return ""
        if at_risk:
            return (f"{action.text} – fristen er i fare "
                    f"(frist {danish_date(case.first_meeting_deadline)})")
        return action.text

    def view(self, name: str, board: Dashboard) -> dict[str, Any]:
        return blocks.home_view(name, board.week, board.action, board.open_cases,
                                self.notices.week_link(), coming_week=board.coming_week)

    async def publish_changed(self) -> int:
        """The job: publish each consultant's tab whose content changed; returns how many."""
        published = 0
        people = self.people.consultants()
        if not people:
            return 0
        async with self.db.write() as session:
            names = {c.key: c.name for c in (await session.execute(select(Consultant).where(
                Consultant.municipality_id == self.municipality,
                Consultant.key.in_(list(people))))).scalars()}
            last = await self._last_hashes(session, list(people.values()))
            for key, user in sorted(people.items()):
                view = self.view(names.get(key, key), await self.dashboard(session, key))
                digest = hashlib.sha256(json.dumps(view, sort_keys=True,
                                                   ensure_ascii=False).encode()).hexdigest()
                if last.get(user) == digest:
                    continue
                self.outbox.enqueue(session, Message(
                    channel="slack", kind=HOME_KIND, recipient=user, subject="Hjem-fanen",
                    text="Dine sager i fasthold",
                    payload={"method": "views.publish", "view": view, "hash": digest}))
                published += 1
        return published

    async def _last_hashes(self, session: AsyncSession, users: list[str]) -> dict[str, str]:
        """The hash of the newest tab put in the outbox for each user."""
        newest = select(func.max(OutboxMessage.id)).where(
            OutboxMessage.municipality_id == self.municipality,
            OutboxMessage.channel == "slack", OutboxMessage.kind == HOME_KIND,
            OutboxMessage.recipient.in_(users)).group_by(OutboxMessage.recipient)
        rows = (await session.execute(select(OutboxMessage.recipient, OutboxMessage.payload)
                .where(OutboxMessage.id.in_(newest)))).all()
        return {recipient: str((payload or {}).get("hash")) for recipient, payload in rows}


def _shown_date(case: Case, held: bool) -> date:
    """The date a case's line shows (`SlackHome.case_item`)."""
    return case.next_follow_up_due if held and case.next_follow_up_due is not None \
        else case.first_meeting_deadline
