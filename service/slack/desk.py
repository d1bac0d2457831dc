"""The service behind the bot's buttons, modals and `/fasthold` (implements
`bots.slack.desk.SlackDesk`): each action is done by the same use case the API and pages use
(`CaseOutcomes`, `CaseClosing`, `IntakeService.override_owner`), as the Slack user's
principal, and who may is theirs to say (`service.platform.policies`: the case's owner or a
manager registers; intake staff, a manager or the owner closes; intake staff choose another
owner); anyone else is told so, ephemerally. The modals' choices and limits are the use
cases' input models'."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bots.slack import blocks
from bots.slack.desk import Reply, Where
from service.clock import Clock
from service.config import MunicipalityConfig
from service.consultants.caseload import caseloads, has_room
from service.followup.closing import CLOSE_OUTCOMES, CaseClose, CaseClosing
from service.followup.outcomes import PLACES, CaseOutcomes
from service.intake.schemas import OWNER_REASONS, OwnerOverride
from service.intake.service import IntakeService
from service.platform.audit import ReadAudit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import Case, Consultant, SlackEvent
from service.platform.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from service.platform.http import parse_model, text_problem
from service.platform.jobqueue import PUBLISH_SLACK_HOME, JobQueue
from service.platform.policies import (
    CHOOSE_OWNER,
    CLOSE_CASE,
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
    Policy,
)
from service.slack.home import SlackHome
from service.slack.notices import SlackNotices
from service.slack.people import SlackPeople
from service.text.case_words import CLOSE_OUTCOME
from service.text.danish import danish_slot, short_date
from service.text.errors import danish_error, danish_problem

log = logging.getLogger("fasthold.slack")

NOT_YOURS = "Det er ikke din sag."
UNKNOWN_USER = "Du er ikke sat op i fasthold. Spørg din leder."
ONLY_INTAKE = "Kun visitationen kan skifte konsulent."
EVENT_MEMORY = timedelta(days=7)
# The button a modal opens from -> who may (asked before the modal opens, and again by the
# use case when it is submitted).
_POLICY_OF_BUTTON: dict[str, Policy] = {
    blocks.CONTACT_CITIZEN: REGISTER_CONTACT, blocks.CONTACT_EMPLOYER: REGISTER_CONTACT,
    blocks.REGISTER_MEETING: REGISTER_MEETING,
    blocks.REGISTER_INTERVENTION: REGISTER_INTERVENTION, blocks.CLOSE_CASE: CLOSE_CASE}
# The meeting modal's words for each place of the use case's input model (`PLACES`).
PLACE_WORDS = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
               "phone": "Telefonisk", "not_held": "Ikke holdt – der skal findes et nyt tidspunkt"}


def max_length_of(model: type[BaseModel], field: str) -> int:
    """A text field's limit in an API model (the one place it is written)."""
    return next(m.max_length for m in model.model_fields[field].metadata
                if isinstance(m, MaxLen))


# The modals' text fields: (API model, its field).
_TEXT_FIELDS: dict[str, tuple[type[BaseModel], str]] = {
    "note": (CaseClose, "note"), "owner_note": (OwnerOverride, "reason")}


def _too_long(limit: int) -> str:
    return danish_error("note", "string_too_long", {"max_length": limit})


NOT_STORABLE = danish_error("note", "not_storable")


def checked(model: type[BaseModel], data: dict[str, Any], fields: dict[str, str],
            words: dict[str, str]) -> Reply | None:
    """`data` checked as the API checks it (the same model, the same text rules): None if it
    passes, else a Reply naming the modal's block. `fields`: API field -> modal block;
    `words`: modal block -> the Danish message."""
    problems = [field for field, value in data.items()
                if isinstance(value, str) and text_problem(value)]
    if not problems:
        try:
            parse_model(model, data, json_mode=True)
        except Invalid as exc:
            problems = [str(e.get("field")) for e in exc.errors]
    for field in problems:
        block = fields.get(field)
        if block is not None:
            value = data.get(field)
            text = NOT_STORABLE if isinstance(value, str) and text_problem(value) and \
                block in _TEXT_FIELDS else words[block]
            return Reply(False, text, block)
    return Reply(False, "Det kunne ikke registreres.") if problems else None


def in_danish(exc: DomainError) -> Reply:
    if isinstance(exc, Forbidden | NotFound):
        return Reply(False, NOT_YOURS)
    field = exc.errors[0]["field"] if isinstance(exc, Invalid) and exc.errors else None
    return Reply(False, danish_problem(exc), field)


class ServiceDesk:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 people: SlackPeople, notices: SlackNotices, home: SlackHome,
                 outcomes: CaseOutcomes, closing: CaseClosing, intake: IntakeService,
                 reads: ReadAudit, jobs: JobQueue) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.people = people
        self.notices = notices
        self.home = home
        self.outcomes = outcomes
        self.closing = closing
        self.intake = intake
        self.reads = reads
        self.jobs = jobs
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
        if field == "place":
            return [(place, PLACE_WORDS[place]) for place in PLACES]
        if field == "outcome":
            return [(outcome, CLOSE_OUTCOME[outcome]) for outcome in CLOSE_OUTCOMES]
        raise KeyError(field)

    # -- registering -------------------------------------------------------------------------

    async def _after(self, case_ref: str) -> None:
        """What the consultant sees follows: the case's messages and the Home tab."""
        async with self.db.write() as session:
            case = (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality, Case.case_ref == case_ref))
            ).unique().scalar_one_or_none()
            if case is not None:
                await self.notices.refresh(session, case)
        self.jobs.request(PUBLISH_SLACK_HOME, self.municipality, "slack_action")

    async def _register(self, user_id: str, case_ref: str, action: Any) -> Reply:
        """Do `action` as the user (the use case says whether they may): its result is all
        the answer needs — nothing of the case is read for it."""
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER)
        try:
            await action(principal)
        except (Conflict, Invalid, Forbidden, NotFound) as exc:
            return in_danish(exc)
        await self._after(case_ref)
        return Reply(True)

    async def contact(self, user_id: str, case_ref: str, who: str, where: Where | None
                      ) -> Reply:
        return await self._register(user_id, case_ref, lambda p: self.outcomes.register_contact(
            case_ref, who, p))

    async def meeting_outcome(self, user_id: str, case_ref: str, place: str,
                              employer_took_part: bool | None, where: Where | None) -> Reply:
        reply = await self._register(
            user_id, case_ref, lambda p: self.outcomes.register_meeting(
                case_ref, place, None if place == "not_held" else employer_took_part, p))
        if reply.field == "employer_took_part":
            return Reply(False, reply.text, "employer_took_part")
        return reply if reply.ok or reply.field else Reply(False, reply.text, "place")

    async def intervention(self, user_id: str, case_ref: str, started_on: date,
                           where: Where | None) -> Reply:
        return await self._register(
            user_id, case_ref, lambda p: self.outcomes.register_intervention(
                case_ref, started_on, p))

    def max_length(self, field: str) -> int:
        return max_length_of(*_TEXT_FIELDS[field])

    async def close(self, user_id: str, case_ref: str, outcome: str, on: date, note: str,
                    where: Where | None) -> Reply:
        refused = checked(CaseClose, {"outcome": outcome, "on": on.isoformat(), "note": note},
                          {"outcome": "outcome", "on": "on", "note": "note"},
                          {"outcome": "Vælg hvorfor sagen slutter.", "on": "Vælg en dato.",
                           "note": _too_long(self.max_length("note"))})
        if refused is not None:
            return refused
        return await self._register(user_id, case_ref, lambda p: self.closing.close(
            case_ref, outcome, on, note, p))

    # -- the owner ---------------------------------------------------------------------------

    async def owner_choices(self, user_id: str, case_ref: str
                            ) -> tuple[Reply, list[tuple[str, str]]]:
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER), []
        if not CHOOSE_OWNER.allows_role(principal):
            return Reply(False, ONLY_INTAKE), []
        today = self.clock.today()
        async with self.db.read() as session:
            case = (await session.execute(select(Case).where(
                Case.municipality_id == self.municipality, Case.case_ref == case_ref))
            ).unique().scalar_one_or_none()
            if case is None:
                return Reply(False, "Sagen findes ikke."), []
            load = await caseloads(session, self.municipality)
            consultants = (await session.execute(select(Consultant).where(
                Consultant.municipality_id == self.municipality,
                Consultant.active.is_(True)).order_by(Consultant.name))).scalars().all()
        choices = []
        for consultant in consultants:
            if consultant.id == case.owner_id:
                continue
            if case.follow_up == "workplace_meeting" and not (
                    consultant.workplace_meetings and (
                        consultant.workplace_meetings_from is None
                        or consultant.workplace_meetings_from <= today)):
                continue  # the database's word (a consultant changed in the app too)
            cases = load.get(consultant.id, 0)
            full = "" if has_room(cases, consultant.max_active_cases) else " – fuld"
            choices.append((consultant.key, f"{consultant.name} ({cases}/"
                                            f"{consultant.max_active_cases} sager{full})"))
        return Reply(True), choices

    def owner_reasons(self) -> list[tuple[str, str]]:
        return [(key, words.capitalize()) for key, words in OWNER_REASONS.items()]

    async def change_owner(self, user_id: str, case_ref: str, consultant_id: str,
                           category: str, note: str, where: Where | None) -> Reply:
        principal = self.people.principal(user_id)
        if principal is None:
            return Reply(False, UNKNOWN_USER, "consultant")
        if not CHOOSE_OWNER.allows_role(principal):
            return Reply(False, ONLY_INTAKE, "consultant")
        refused = checked(OwnerOverride, {"consultant_id": consultant_id, "category": category,
                                          "reason": note},
                          {"consultant_id": "consultant", "category": "category",
                           "reason": "owner_note"},
                          {"consultant": "Konsulenten findes ikke.",
                           "category": "Vælg en af grundene på listen.",
                           "owner_note": _too_long(self.max_length("owner_note"))})
        if refused is not None:
            return refused
        try:
            # The use case tells Slack itself (the intake channel's post, the new owner): the
            # category only; the note stays on the case.
            await self.intake.override_owner(case_ref, consultant_id, note, principal,
                                             category=category)
        except (Conflict, Invalid, NotFound, Forbidden) as exc:
            reply = in_danish(exc)
            return Reply(False, reply.text, "consultant")
        self.jobs.request(PUBLISH_SLACK_HOME, self.municipality, "owner_changed")
        return Reply(True)

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
                items = [self.home.item(c, f"frist {short_date(c.first_meeting_deadline)}" + (
                    f" · møde {danish_slot(m.start, m.end)}" if m is not None else ""))
                    for c, m in cases]
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
