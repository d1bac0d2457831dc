"""Slack notices that can be held quiet: the simulation's past, whose consultants' messages
nobody reads (the simulated consultants act on the service's rules, not on their Slack).

`QuietableNotices` stands where the areas expect `SlackNotices` (`ConsultantNotices`,
`OwnerListener`, `PlacementListener`, `HandOverListener`, `UnassignedListener`,
`LongAbsenceListener`) and the consultants' reminder scan (`ConsultantReminderScan`). While
`quiet`, each is a no-op (and so is `case_changed`, `CaseChangeListener`) —
nothing is built, read or put in the outbox; otherwise each is passed on unchanged. The demo's
history speaks again on its last day, so the demo's Slack page has that day's messages."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.intake.service import CaseChangeListener
from service.platform.db.models import Case, Consultant, ConsultantAbsence
from service.slack.notices import SlackNotices
from service.slack.reminders import ConsultantReminders


class QuietableNotices:
    def __init__(self, notices: SlackNotices, reminders: ConsultantReminders,
                 quiet: bool = True) -> None:
        self.notices = notices
        self.reminders = reminders
        self.quiet = quiet
        # the case messages' listener (`CaseChangeListener`, the Slack desk), once made
        self.cases: CaseChangeListener | None = None

    async def case_changed(self, case_ref: str) -> None:
        if not self.quiet and self.cases is not None:
            await self.cases.case_changed(case_ref)

    async def tell_owner(self, session: AsyncSession, kind: str, case_id: int,
                         meeting_id: int | None = None, *, note: str = "",
                         once: str | None = None) -> bool:
        if self.quiet:
            return False
        return await self.notices.tell_owner(session, kind, case_id, meeting_id, note=note,
                                             once=once)

    async def meeting_changed(self, session: AsyncSession, case_id: int, meeting_id: int
                              ) -> None:
        if not self.quiet:
            await self.notices.meeting_changed(session, case_id, meeting_id)

    async def meeting_to_move(self, session: AsyncSession, case_id: int, text: str, *,
                              once: str) -> bool:
        if self.quiet:
            return False
        return await self.notices.meeting_to_move(session, case_id, text, once=once)

    async def assigned(self, session: AsyncSession, proposals: dict[int, int | None]) -> None:
        if not self.quiet:
            await self.notices.assigned(session, proposals)

    async def owner_changed(self, session: AsyncSession, case: Case, by: str, category: str
                            ) -> None:
        if not self.quiet:
            await self.notices.owner_changed(session, case, by, category)

    async def workplace_unplaced(self, session: AsyncSession, case: Case, reason: str
                                 ) -> None:
        if not self.quiet:
            await self.notices.workplace_unplaced(session, case, reason)

    async def handed_over_late(self, session: AsyncSession, case: Case, week: int) -> None:
        if not self.quiet:
            await self.notices.handed_over_late(session, case, week)

    async def unassigned(self, session: AsyncSession, case: Case, reason: str) -> None:
        if not self.quiet:
            await self.notices.unassigned(session, case, reason)

    async def long_absence(self, session: AsyncSession, consultant: Consultant,
                           absence: ConsultantAbsence, working_days: int) -> None:
        if not self.quiet:
            await self.notices.long_absence(session, consultant, absence, working_days)

    async def send_due(self, today: date) -> int:
        """`ConsultantReminderScan`: the consultants' Slack reminders of `today`."""
        return 0 if self.quiet else await self.reminders.send_due(today)
