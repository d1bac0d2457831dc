"""The citizen's private talk with the consultant before the workplace meeting (rule 10 of
the planning contract; the national model's first contact).

- The citizen asks for it at intake (`citizen_wants_private_talk`), by telling the
  consultant, or through the signed link of their first message (`wish`, no login): the
  case's `private_talk_first` is set and planning asked to run; the plan's talk is stored by
  `service.planning.store` (status `talk_planned`) and its time sent to the citizen.
- The consultant (the case's owner) or a manager registers how it went (`register`): held
  (it then counts as kept: the meeting only needs to come on a later day), not held (the
  talk stays wanted: planning proposes a new one if the meeting is still to be planned), or
  not wanted after all (the wish cleared, the talk cancelled, planning runs without it).

The employer never learns of the talk: no employer mail, page or calendar names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.intake.service import IntakeService
from service.meetings.notifications import MeetingNotifier
from service.meetings.talk_kinds import (
    PRIVATE_TALK,
    TALK_CANCELLED,
    TALK_HELD,
    TALK_NOT_HELD,
    TALK_PLANNED,
)
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import Case, Meeting
from service.platform.errors import Conflict
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import REGISTER_TALK

OUTCOMES = ("held", "not_held", "not_wanted")
_STATUS = {"held": TALK_HELD, "not_held": TALK_NOT_HELD}


@dataclass(frozen=True)
class WishResult:
    """What the citizen's page says after the button: `asked` (planning will find a time),
    `already` (the wish was there), `not_possible` (no workplace meeting is to be held, or
    the case is closed)."""

    outcome: str
    consultant_name: str | None
    consultant_phone: str | None


def _wish(case: Case, wanted: bool) -> None:
    """The wish on the case and in its facts (so that a later evaluation of the facts keeps
    it)."""
    case.private_talk_first = wanted and case.follow_up == "workplace_meeting"
    case.facts = {**case.facts, "citizen_wants_private_talk": wanted}


async def planned_talk(session: AsyncSession, case_id: int) -> Meeting | None:
    """The case's planned talk (the latest), if any."""
    return (await session.execute(select(Meeting).where(
        Meeting.case_id == case_id, Meeting.kind == PRIVATE_TALK,
        Meeting.status == TALK_PLANNED).order_by(Meeting.id.desc()).limit(1))
    ).unique().scalar_one_or_none()


class PrivateTalks:
    def __init__(self, db: Database, clock: Clock, notifier: MeetingNotifier,
                 intake: IntakeService, jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.notifier = notifier
        self.intake = intake
        self.jobs = jobs
        self.municipality = notifier.config.municipality.id

    async def register(self, case_ref: str, outcome: str, principal: Principal) -> None:
        """The consultant registers the talk `held`, `not_held`, or `not_wanted` (the
        citizen does not want it after all: the wish cleared, any planned talk cancelled)."""
        async with self.intake.acting_on(REGISTER_TALK, case_ref, principal) as (
                session, case):
            if case.closed_on is not None:  # (it was accepted without a word)
                raise Conflict(f"the case was closed on {case.closed_on.isoformat()}",
                               "case_closed", {"closed_on": case.closed_on.isoformat()})
            talk = await planned_talk(session, case.id)
            if outcome == "not_wanted":
                _wish(case, False)
                if talk is not None:
                    talk.status, talk.cancelled_at = TALK_CANCELLED, self.clock.utcnow()
                    talk.cancel_reason = "borgeren ønsker ikke samtalen alligevel"
                    await self.notifier.talk_cancelled(session, talk, "not_wanted")
            else:
                if talk is None:
                    raise Conflict("the case has no planned private talk to register",
                                   "no_private_talk")
                if talk.start > self.clock.local_now().replace(tzinfo=None):
                    # as a meeting: what happened is registered once it has begun (a talk
                    # "not held" days ahead was planned again at the same time)
                    raise Conflict(f"the talk has not begun yet (it is on "
                                   f"{talk.start.isoformat(timespec='minutes')})",
                                   "meeting_not_begun",
                                   {"start": talk.start.isoformat(timespec="minutes")})
                talk.status = _STATUS[outcome]
                talk.outcome_registered_at = self.clock.utcnow()
            audit.record(session, principal, self.municipality, "private_talk.register",
                         case.id, {"outcome": outcome})
        self.jobs.request(PLAN, self.municipality, f"private_talk_{outcome}")

    async def case_of(self, case_id: int) -> Case | None:
        """The case a citizen's link names (of this municipality)."""
        async with self.db.read() as session:
            case = (await session.execute(select(Case).where(
                Case.id == case_id, Case.municipality_id == self.municipality))
            ).unique().scalar_one_or_none()
        return case

    async def wish(self, case_id: int) -> WishResult:
        """The citizen asked, through their link, to talk with the consultant first."""
        async with self.db.write() as session:
            case = (await session.execute(select(Case).where(
                Case.id == case_id, Case.municipality_id == self.municipality)
                .with_for_update(of=Case, key_share=True))).unique().scalar_one_or_none()
            if case is None:
                return WishResult("not_possible", None, None)
            owner = case.owner
            name, phone = (owner.name, owner.phone) if owner is not None else (None, None)
            if case.closed_on is not None or case.status != "target" \
                    or case.follow_up != "workplace_meeting":
                return WishResult("not_possible", name, phone)
            if case.private_talk_first:
                return WishResult("already", name, phone)
            _wish(case, True)
            audit.record(session, None, self.municipality, "private_talk.wished", case.id,
                         {"by": "citizen_link"})
        self.jobs.request(PLAN, self.municipality, "private_talk_wished")
        return WishResult("asked", name, phone)
