"""The Slack channel's desk (implements `bots.slack.desk.SlackDesk`): it finds the Slack
user's principal and routes each button and modal to the area it acts on —
`service.followup.slack_actions` (calls, how the meeting went, the intervention, closing) and
`service.intake.slack_actions` (choosing another owner), `service.meetings.slack_actions`
(the private talk held, not held, no longer wanted) — which do it by the same use cases
the API and pages use, and say who may (`service.platform.policies`). Afterwards the case's
Slack messages and the Home tab follow. What stays here is the channel's own: a retried
event done once, ephemeral answers, the Home tab opened and `/fasthold`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bots.slack import blocks
from bots.slack.desk import Reply, Where
from service.clock import Clock
from service.config import MunicipalityConfig
from service.followup.slack_actions import FollowupActions
from service.intake.service import IntakeService
from service.intake.slack_actions import OwnerActions
from service.meetings.declines import EmployerDeclines
from service.meetings.invitations import HeldInvitations
from service.meetings.slack_actions import TalkActions
from service.platform.audit import ReadAudit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import Case, SlackEvent
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.jobqueue import PUBLISH_SLACK_HOME, JobQueue
from service.platform.policies import (
    CLOSE_CASE,
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
    Policy,
)
from service.platform.slack_replies import NOT_YOURS, in_danish
from service.slack.home import SlackHome
from service.slack.notices import SlackNotices
from service.slack.people import SlackPeople

log = logging.getLogger("fasthold.slack")

UNKNOWN_USER = "Du er ikke sat op i fasthold. Spørg din leder."
EVENT_MEMORY = timedelta(days=7)
# The button a modal opens from -> who may (asked before the modal opens, and again by the
# use case when it is submitted).
_POLICY_OF_BUTTON: dict[str, Policy] = {
    blocks.CONTACT_CITIZEN: REGISTER_CONTACT, blocks.CONTACT_EMPLOYER: REGISTER_CONTACT,
    blocks.REGISTER_MEETING: REGISTER_MEETING,
    blocks.REGISTER_INTERVENTION: REGISTER_INTERVENTION, blocks.CLOSE_CASE: CLOSE_CASE}


async def _reply(action: Awaitable[Any]) -> Reply:
    """A use case's outcome as the button's answer: done, or why not in Danish."""
    try:
        await action
    except (Conflict, Invalid, Forbidden, NotFound) as exc:
        return in_danish(exc)
    return Reply(True)


class ServiceDesk:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 people: SlackPeople, notices: SlackNotices, home: SlackHome,
                 followup: FollowupActions, owners: OwnerActions, intake: IntakeService,
                 reads: ReadAudit, jobs: JobQueue, talks: TalkActions | None = None,
                 *, invitations: HeldInvitations | None = None,
                 declines: EmployerDeclines | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.people = people
        self.notices = notices
        self.home = home
        self.followup = followup
        self.owners = owners
        self.talks = talks
        self.intake = intake
        self.reads = reads
        self.jobs = jobs
        self.invitations = invitations
        self.declines = declines
        self.municipality = config.municipality.id

    def today(self) -> date:
        return self.clock.today()

    async def first_delivery(self, event_id: str) -> bool:
        now = self.clock.utcnow()
        try:
            async with self.db.write() as session:
                if await session.get(SlackEvent, event_id[:64]) is not None:
                    return False
                session.add(SlackEvent(event_id=event_id[:64], municipality_id=self.municipality,
                                       received_at=now))
                # Slack retries within minutes: ids older than a week are of no more use.
                await session.execute(delete(SlackEvent).where(
                    SlackEvent.municipality_id == self.municipality,
                    SlackEvent.received_at < now - EVENT_MEMORY))
        except IntegrityError:
            return False  # the same event at the same moment: the other one handles it
        return True

    async def tell(self, user_id: str, channel: str, text: str) -> None:
        async with self.db.write() as session:
            self.notices.ephemeral(session, user_id, channel, text)

    # -- who may ---------------------------------------------------------------------------

    async def _allowed(self, user_id: str, policy: Policy, case_ref: str
                       ) -> tuple[Principal | None, Reply]:
        """The user's principal if `policy` lets them act on the case (asked of the use
        cases' policy; another consultant's case is refused as the API refuses it: audited)."""
        principal = self.people.principal(user_id)
        if principal is None:
            return None, Reply(False, UNKNOWN_USER)
        try:
            await self.intake.allowed(policy, case_ref, principal)
        except (Forbidden, NotFound):
            return None, Reply(False, NOT_YOURS)
        return principal, Reply(True)

    async def may(self, user_id: str, action: str, case_ref: str) -> Reply:
        policy = _POLICY_OF_BUTTON.get(action)
        if policy is None:
            return Reply(False, NOT_YOURS)
        return (await self._allowed(user_id, policy, case_ref))[1]

    def choices(self, field: str) -> list[tuple[str, str]]:
        return self.followup.choices(field)

    def max_length(self, field: str) -> int:
        return self.owners.max_length(field) if field == "owner_note" else \
            self.followup.max_length(field)

    # -- registering (the follow-up's actions) -------------------------------------------------

    async def case_changed(self, case_ref: str) -> None:
        """`service.intake.service.CaseChangeListener`: a staff action on the case committed
        — on a page, through the API or here — so the owner's messages and Home tab follow
        (a registration on the case page left the Slack message saying it was still to do)."""
        await self._after(case_ref)

    async def _after(self, case_ref: str) -> None:
        """What the consultant sees follows: the case's messages and the Home tab."""
        async with self.db.write() as session:
            case = (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality, Case.case_ref == case_ref))
            ).unique().scalar_one_or_none()
            if case is not None:
                await self.notices.refresh(session, case)
        self.jobs.request(PUBLISH_SLACK_HOME, self.municipality, "slack_action")

    async def _as_user(self, user_id: str, case_ref: str,
                       action: Callable[[Principal], Awaitable[Reply]]) -> Reply:
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER)
        reply = await action(principal)
        if reply.ok:
            await self._after(case_ref)
        return reply

    async def contact(self, user_id: str, case_ref: str, who: str, where: Where | None
                      ) -> Reply:
        return await self._as_user(user_id, case_ref, lambda p: self.followup.contact(
            p, case_ref, who))

    async def meeting_outcome(self, user_id: str, case_ref: str, place: str,
                              employer_took_part: bool | None, where: Where | None, *,
                              minutes: dict[str, str] | None = None,
                              send_to: list[str] | None = None) -> Reply:
        return await self._as_user(user_id, case_ref, lambda p: self.followup.meeting_outcome(
            p, case_ref, place, employer_took_part, minutes=minutes, send_to=send_to))

    async def intervention(self, user_id: str, case_ref: str, started_on: date,
                           where: Where | None, kind: str = "other") -> Reply:
        return await self._as_user(user_id, case_ref, lambda p: self.followup.intervention(
            p, case_ref, started_on, kind))

    async def private_talk(self, user_id: str, case_ref: str, outcome: str,
                           where: Where | None) -> Reply:
        talks = self.talks
        if talks is None:
            return Reply(False, "Det kunne ikke registreres.")
        return await self._as_user(user_id, case_ref, lambda p: talks.register(
            p, case_ref, outcome))

    async def close(self, user_id: str, case_ref: str, outcome: str, on: date, note: str,
                    where: Where | None) -> Reply:
        return await self._as_user(user_id, case_ref, lambda p: self.followup.close(
            p, case_ref, outcome, on, note))

    async def calls_done(self, user_id: str, case_ref: str, where: Where | None) -> Reply:
        invitations = self.invitations
        if invitations is None:
            return Reply(False, NOT_YOURS)
        return await self._as_user(user_id, case_ref, lambda p: _reply(
            invitations.calls_done(case_ref, p)))

    async def restore_decline(self, user_id: str, case_ref: str, where: Where | None
                              ) -> Reply:
        declines = self.declines
        if declines is None:
            return Reply(False, NOT_YOURS)
        return await self._as_user(user_id, case_ref, lambda p: _reply(
            declines.restore(case_ref, p)))

    # -- the owner (intake's actions) ----------------------------------------------------------

    async def owner_choices(self, user_id: str, case_ref: str
                            ) -> tuple[Reply, list[tuple[str, str]]]:
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER), []
        return await self.owners.choices(principal, case_ref)

    def owner_reasons(self) -> list[tuple[str, str]]:
        return self.owners.reasons()

    async def change_owner(self, user_id: str, case_ref: str, consultant_id: str,
                           category: str, note: str, where: Where | None) -> Reply:
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER, "consultant")
        reply = await self.owners.change(principal, case_ref, consultant_id, category, note)
        if reply.ok:
            self.jobs.request(PUBLISH_SLACK_HOME, self.municipality, "owner_changed")
        return reply

    # -- reading -----------------------------------------------------------------------------

    async def home_opened(self, user_id: str) -> None:
        principal = self.people.principal(user_id)
        if principal is not None and principal.role == "consultant":
            await self.reads.record(principal, self.municipality, "case.list", None,
                                    {"via": "slack_home"})
            self.jobs.request(PUBLISH_SLACK_HOME, self.municipality, "home_opened")

    async def command(self, user_id: str, text: str) -> tuple[str, list[dict[str, Any]]]:
        word = text.strip().lower()
        if word in ("", "hjælp", "hjaelp", "help"):
            return "Sådan bruger du /fasthold", [{"type": "section", "text": {
                "type": "mrkdwn", "text": blocks.HELP}}]
        principal = self.people.principal(user_id)
        if principal is None:
            return UNKNOWN_USER, blocks.ephemeral(UNKNOWN_USER)
        if word not in ("mine", "næste", "naeste"):
            text = f"Ukendt kommando «{text.strip()[:40]}». Prøv /fasthold hjælp."
            return text, blocks.ephemeral(text)
        key = principal.consultant_key
        if key is None:
            text = "Du ejer ingen sager i fasthold."
            return text, blocks.ephemeral(text)
        week_link = self.notices.week_link()
        async with self.db.read() as session:
            if word == "mine":
                cases = await self.home.open_cases(session, key)
                held = await self.home.held(session, cases)
                items = self.home.case_items(cases, held)
                title, empty = "Dine åbne sager, nærmeste frist først", "Ingen åbne sager."
            else:
                meetings = await self.home.next_meetings(session, key, self._now_local())
                items = [self.home.meeting_item(m) for m in meetings]
                title, empty = "Dine næste møder", "Ingen planlagte møder."
        await self.reads.record(principal, self.municipality, "case.list", None,
                                {"via": "slack_command", "command": word,
                                 "returned": len(items)})
        return title, blocks.command_list(title, items, empty, week_link)

    def _now_local(self) -> datetime:
        return self.clock.local_now()
