"""Calls before letters (`[meetings] invitation = "after_calls"`, issue 19 item 4).

With `after_calls` a new workplace proposal is planned and stored as always — reserved: the
planner keeps it as a sent proposal, busy for other cases — but the employer's invitation is
held (`Meeting.invitation_held_at`, set by `MeetingNotifier.invite`). It goes out when:

- the consultant registers the calls to citizen and employer (`calls_done`: the API's
  `POST /api/cases/{id}/calls-done`, the case page's button, the Slack button "Jeg har ringet —
  send invitationen"), or
- `invitation_wait_working_days` Danish working days have passed since the case's first held
  invitation (`scan`, the `send_held_invitations` job): then it goes out and the owner is told
  in Slack, once.

Either way the case is let go (`Case.invitation_released_at`): its later invitations (a
re-planned proposal) go out at once. What is sent is the case's current proposal: one moved
or withdrawn meanwhile was cancelled with its held invitation, which never goes out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.intake.service import IntakeService
from service.meetings.notifications import MeetingNotifier
from service.meetings.signals import invited_on, working_days_between
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import Case, Meeting
from service.platform.errors import Conflict
from service.platform.policies import REGISTER_CONTACT

log = logging.getLogger("fasthold.meetings")

# The owner's Slack message when the wait was over and the invitation went out by itself.
SENT_AFTER_WAIT = "invitation_sent_after_wait"


@dataclass(frozen=True)
class CallsDone:
    """`released`: whether a held invitation went out now."""

    case_ref: str
    released: bool


async def held_proposal(session: AsyncSession, case_id: int) -> Meeting | None:
    """The case's workplace proposal whose invitation is held (None: nothing held)."""
    return (await session.execute(select(Meeting).where(
        Meeting.case_id == case_id, Meeting.kind == "workplace_meeting",
        Meeting.status == "proposed", Meeting.invited_at.is_(None),
        Meeting.invitation_held_at.is_not(None)).order_by(Meeting.id.desc()).limit(1))
    ).unique().scalar_one_or_none()


class HeldInvitations:
    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.config = notifier.config
        self.municipality = notifier.config.municipality.id
        self.closed = self.config.planning.closed()

    async def _release(self, session: AsyncSession, case: Case) -> bool:
        """Let the case go; send its held invitation, if any. Returns whether one was sent."""
        case.invitation_released_at = self.clock.utcnow()
        meeting = await held_proposal(session, case.id)
        if meeting is None:
            return False
        await self.notifier.invite(session, meeting)
        return True

    async def calls_done(self, case_ref: str, principal: Principal) -> CallsDone:
        """The consultant (the case's owner) or a manager has called citizen and employer:
        both calls are registered (when not already), and the held invitation goes out."""
        async with self.intake.acting_on(REGISTER_CONTACT, case_ref, principal) as (
                session, case):
            if case.closed_on is not None:
                raise Conflict("the case is closed", "case_closed")
            now = self.clock.utcnow()
            case.citizen_called_at = case.citizen_called_at or now
            case.employer_called_at = case.employer_called_at or now
            released = await self._release(session, case)
            audit.record(session, principal, self.municipality, "case.calls_done", case.id,
                         {"invitation_sent": released})
        return CallsDone(case_ref, released)

    async def scan(self) -> int:
        """The job: every held invitation whose wait is over goes out, and its owner is told
        (once). Idempotent: a sent invitation is no longer held. Returns how many went."""
        if self.config.meetings.invitation != "after_calls":
            return 0
        today = self.clock.today()
        wait = self.config.meetings.invitation_wait_working_days
        async with self.db.read() as session:
            # The case's first held invitation starts the wait (a moved proposal does not).
            since = {case_id: held for case_id, held in (await session.execute(
                select(Meeting.case_id, func.min(Meeting.invitation_held_at))
                .join(Case, Case.id == Meeting.case_id)
                .where(Meeting.municipality_id == self.municipality,
                       Meeting.invitation_held_at.is_not(None),
                       Case.invitation_released_at.is_(None), Case.closed_on.is_(None))
                .group_by(Meeting.case_id))).all()}
        due = [case_id for case_id, held in since.items() if held is not None and
               working_days_between(invited_on(held, self.clock.tz), today, self.closed)
               >= wait]
        sent = 0
        for case_id in sorted(due):
            async with self.db.write() as session:
                case = (await session.execute(select(Case).where(Case.id == case_id)
                                              .with_for_update(of=Case, key_share=True))
                        ).unique().scalar_one_or_none()
                if case is None or case.invitation_released_at is not None \
                        or case.closed_on is not None:
                    continue
                meeting = await held_proposal(session, case.id)
                if not await self._release(session, case):
                    continue
                sent += 1
                audit.record(session, None, self.municipality, "case.invitation_sent_after_wait",
                             case.id, {"working_days": wait})
                if self.notifier.consultants is not None and meeting is not None:
                    await self.notifier.consultants.tell_owner(
                        session, SENT_AFTER_WAIT, case.id, meeting.id,
                        once=f"{SENT_AFTER_WAIT}-{case.id}")
        return sent
