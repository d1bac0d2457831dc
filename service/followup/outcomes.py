"""What the consultant registers on a case: the first calls to citizen and employer, how the
first follow-up meeting went (held where and when, employer took part, or not held: a new
time is planned) with its minutes (agreements, the plan back to work, a retention plan
asked for, a staff-only note), and workplace-oriented interventions with their kind. One use
case for every channel: the API, the staff pages, Slack buttons and the simulation. These
are what the KPIs count.

A meeting is recorded as held when it was really held (`held_at`: by default the planned
start of a confirmed meeting that has begun, else now — an unconfirmed proposal is never
back-dated to its proposed time); its `start` moves there and `on_time` is judged on that
day. A registration that lands in a month that has ended changes a figure already reported:
it is recorded as a correction (audit action `kpi.correction`: what, which month; the entry
says when and who), which the dashboard lists.

Who may: `service.platform.policies` (the case's owner, a manager or an admin); another
consultant's case is answered as if it did not exist (not found), and the attempt is in the
audit log (`case.read_refused`), as for a read. What: the input models below, which the API
parses requests with and the pages and Slack take their choices from. Each registration
returns what it did (`Registered`), never the case as the API shows it: the caller shapes
its answer, and nothing is read in the person's name that they did not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from rules.facts import IsoDate, IsoDateTime
from service.clock import Clock
from service.followup.follow_ups import (
    FIRST_MEETING,
    FOLLOW_UP,
    FOLLOW_UP_CALL,
    deadline_of,
    next_follow_up_due,
)
from service.followup.intervention_kinds import WORKPLACE_ORIENTED_KINDS
from service.intake.schemas import StorableText
from service.intake.service import IntakeService
from service.meetings.booking import free_minutes, series_of
from service.meetings.tasks import ABOUT_THE_MEETING, SETTLED_BY_A_TIME, close_tasks
from service.outbox.store import Message, Outbox
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import (
    ACTIVE_MEETING,
    INTERVENTION_KINDS,
    Case,
    ConsultantTask,
    Intervention,
    Meeting,
)
from service.platform.db.plain_writes import write_changes
from service.platform.errors import Conflict, Invalid
from service.platform.inputs import validated
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import (
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
)
from service.text.case_words import MEETING_PURPOSE, PLACE, word
from service.text.minutes_words import (
    HeldMeetingWords,
    MinutesMail,
    journal_mail,
    minutes_mail,
)

Contact = Literal["citizen", "employer"]
Place = Literal["workplace", "jobcentre", "phone", "not_held"]
PLACES: tuple[str, ...] = get_args(Place)
# The meeting kind a meeting registered without a booked one gets, by where it was held.
_KIND_OF_PLACE = {"workplace": "workplace_meeting", "jobcentre": "jobcenter_meeting",
                  "phone": "telephone"}


# -- the input models: the API parses requests with them, the pages and Slack take their
# -- choices from them, and the use case checks every caller's input with them.

# A registered call: the case's `<who>_called_at` and `updated_at` (the clock's now, as a
# flush stamps it), as one plain statement.
_CASES = Case.__table__
_CALLED = {who: update(_CASES).where(_CASES.c.id == bindparam("case")).values(
    {f"{who}_called_at": bindparam("now"), "updated_at": bindparam("now")})
    for who in get_args(Contact)}
# A registered intervention, as plain statements (`created_at`, `updated_at`: the clock's
# now, as a flush stamps them).
_INTERVENTIONS = Intervention.__table__
_ADD_INTERVENTION = insert(_INTERVENTIONS)
# The case's earliest workplace-oriented start (its `intervention_started_on`).
_EARLIEST_INTERVENTION = select(func.min(_INTERVENTIONS.c.started_on)).where(
    _INTERVENTIONS.c.case_id == bindparam("case"),
    _INTERVENTIONS.c.kind.in_(WORKPLACE_ORIENTED_KINDS))
_INTERVENTION_STARTED = update(_CASES).where(_CASES.c.id == bindparam("case")).values(
    intervention_started_on=bindparam("earliest"), updated_at=bindparam("now"))

# The case's active meeting, locked. Its case is the one `acting_on` holds (in the session:
# `meeting.case` is found there without a statement), so it is not joined in again; nor is
# its consultant, whom registering does not read (only `consultant_id`).
_ACTIVE_MEETING = select(Meeting).where(
    Meeting.case_id == bindparam("case"), Meeting.status.in_(ACTIVE_MEETING)).options(
    lazyload(Meeting.case), lazyload(Meeting.consultant)).with_for_update(
    of=Meeting, key_share=True)


class ContactIn(BaseModel):
    """Who the consultant has called (registered with the time of the call: now)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    who: Contact


Who = Literal["citizen", "employer", "consultant", "other"]
InterventionKind = Literal["partial_return", "work_trial", "wage_subsidy", "redeployment",
                           "aids_or_adjustments", "education", "other"]
assert get_args(InterventionKind) == INTERVENTION_KINDS
Party = Literal["citizen", "employer"]
MAX_AGREEMENTS = 20
MAX_STEPS = 20
MAX_MINUTES_NOTE = 2000
MAX_AGREEMENT = 300


class AgreementIn(BaseModel):
    """Who does what, and when."""

    model_config = ConfigDict(strict=True, extra="forbid")
    what: Annotated[StorableText, StringConstraints(min_length=1, max_length=MAX_AGREEMENT,
                                                    strip_whitespace=True)]
    who: Who
    due: IsoDate = Field(description="YYYY-MM-DD")


class StepIn(BaseModel):
    """From `from` on, `hours_per_week` hours a week."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)
    from_: IsoDate = Field(alias="from", description="YYYY-MM-DD")
    hours_per_week: float = Field(ge=0, le=80)


class ReturnPlanIn(BaseModel):
    """The plan back to full time: steps of hours a week (ascending dates), then full time."""

    model_config = ConfigDict(strict=True, extra="forbid")
    steps: list[StepIn] = Field(max_length=MAX_STEPS, description="ascending by `from`")
    full_time_from: IsoDate = Field(description="YYYY-MM-DD; after the last step")

    @model_validator(mode="after")
    def _ordered(self) -> ReturnPlanIn:
        for index, (before, after) in enumerate(zip(self.steps, self.steps[1:], strict=False)):
            if after.from_ <= before.from_:
                raise PydanticCustomError(
                    "steps_not_ascending", "each step must start after the one before",
                    {"field": f"return_plan.steps[{index + 1}].from"})
        if self.steps and self.full_time_from <= self.steps[-1].from_:
            raise PydanticCustomError(
                "full_time_not_after_steps", "must be after the last step's from",
                {"field": "return_plan.full_time_from"})
        return self

    def stored(self) -> dict[str, Any]:
        return {"steps": [{"from": s.from_.isoformat(), "hours_per_week": s.hours_per_week}
                          for s in self.steps],
                "full_time_from": self.full_time_from.isoformat()}


class MinutesIn(BaseModel):
    """The minutes of a held meeting; all optional. `note` is for staff only: never sent to
    Slack, the citizen or the employer, never logged. `send_to`: mail the agreements that
    concern the party (theirs and the consultant's) and the return plan's steps — no note,
    nothing about health — to the citizen and/or the employer (skipped without an address).
    """

    model_config = ConfigDict(strict=True, extra="forbid")
    agreements: list[AgreementIn] = Field(default=[], max_length=MAX_AGREEMENTS)
    return_plan: ReturnPlanIn | None = None
    retention_plan_requested: bool = False
    note: Annotated[StorableText, StringConstraints(max_length=MAX_MINUTES_NOTE)] = Field(
        default="", description="staff only: never to Slack, the citizen or the employer")
    send_to: list[Party] = Field(default=[], max_length=2, description="citizen and/or "
                                 "employer: mailed the agreements and return plan that "
                                 "concern them")

    def empty(self) -> bool:
        return not (self.agreements or self.return_plan or self.retention_plan_requested
                    or self.note or self.send_to)


class MeetingOutcomeIn(MinutesIn):
    """How the case's meeting went: held at the workplace, at the jobcentre or by phone (and
    whether the employer took part; when: `held_at`; its minutes), or not held (a new time is
    planned)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        # employer_took_part (true or false) unless the meeting was not held.
        "if": {"properties": {"place": {"const": "not_held"}}},
        "else": {"required": ["employer_took_part"],
                 "properties": {"employer_took_part": {"type": "boolean"}}}})
    place: Place
    employer_took_part: bool | None = Field(
        default=None, description="required unless place is not_held")
    held_at: IsoDateTime | None = Field(
        default=None, description="local time YYYY-MM-DDTHH:MM the meeting was really held; "
        "default: the planned start of a confirmed meeting that has begun, else now")

    @model_validator(mode="after")
    def _answered(self) -> MeetingOutcomeIn:
        if self.place != "not_held" and self.employer_took_part is None:
            raise PydanticCustomError("required_when_held", "required when the meeting was held",
                                      {"field": "employer_took_part"})
        if self.held_at is not None and self.held_at.tzinfo is not None:
            raise PydanticCustomError("local_time_only", "must be local time without a UTC "
                                      "offset (YYYY-MM-DDTHH:MM)", {"field": "held_at"})
        if self.place == "not_held":
            for name in ("held_at", "agreements", "return_plan", "retention_plan_requested",
                         "note", "send_to"):
                if name in self.model_fields_set and getattr(self, name) not in (
                        None, [], "", False):
                    raise PydanticCustomError("only_when_held", "only for a meeting that was "
                                              "held", {"field": name})
        return self

    def minutes(self) -> MinutesIn:
        return MinutesIn.model_validate({k: getattr(self, k) for k in MinutesIn.model_fields})


class InterventionIn(BaseModel):
    """A workplace-oriented intervention: its kind, the day it started (not in the future),
    and optionally its weekly hours and end. Without `kind` (a client from before kinds) it
    is registered as "other"; the pages and Slack always ask for it."""

    model_config = ConfigDict(strict=True, extra="forbid")
    started_on: IsoDate = Field(description="YYYY-MM-DD; not in the future, not before the "
                             "case's first absence day")
    kind: InterventionKind = Field(default="other", description="omitted: other")
    hours_per_week: float | None = Field(default=None, ge=0, le=80)
    ends_on: IsoDate | None = Field(default=None, description="YYYY-MM-DD; not before started_on")

    @model_validator(mode="after")
    def _ends_after_start(self) -> InterventionIn:
        if self.ends_on is not None and self.ends_on < self.started_on:
            raise PydanticCustomError("before_start", "must not be before started_on",
                                      {"field": "ends_on"})
        return self


@dataclass(frozen=True)
class Registered:
    """What a registration did: the audit action it wrote (`case.called_citizen`,
    `meeting.outcome`, `case.intervention`) and whether planning was asked for a new time."""

    case_ref: str
    action: str
    replanned: bool = False


class CaseOutcomes:
    def __init__(self, db: Database, clock: Clock, intake: IntakeService,
                 jobs: JobQueue, outbox: Outbox | None = None,
                 mail: MinutesMail | None = None, every_weeks: int = 4) -> None:
        """`every_weeks`: the follow-up rhythm (`[followup] every_weeks`)."""
        self.db = db
        self.every_weeks = every_weeks
        self.clock = clock
        self.intake = intake
        self.jobs = jobs
        self.outbox = outbox
        self.mail = mail
        self.municipality = intake.municipality

    async def register_contact(self, case_ref: str, who: str, principal: Principal
                               ) -> Registered:
        """The consultant has called the citizen or the employer (now)."""
        contact = validated(ContactIn, {"who": who})
        async with self.intake.acting_on_row(REGISTER_CONTACT, case_ref, principal) as (
                connection, case):
            _open(case.closed_on)
            now = self.clock.utcnow()
            action = f"case.called_{contact.who}"
            await connection.execute(_CALLED[contact.who], {"case": case.id, "now": now})
            await audit.write(connection, now, principal, self.municipality, action, case.id,
                              {})
        return Registered(case_ref, action)

    async def register_meeting(self, case_ref: str, place: str,
                               employer_took_part: bool | None, principal: Principal, *,
                               held_at: datetime | None = None,
                               minutes: MinutesIn | None = None) -> Registered:
        """How the case's current meeting went: held (where, when; did the employer take
        part; its minutes) or not held, after which planning proposes a new time. Without a
        current meeting that has begun, a meeting held now (or at `held_at`) is recorded (a
        phone follow-up, a meeting arranged by hand)."""
        minutes = minutes or MinutesIn()
        outcome = validated(MeetingOutcomeIn, {
            "place": place, "employer_took_part": employer_took_part, "held_at": held_at,
            **{k: getattr(minutes, k) for k in MinutesIn.model_fields}})
        place = outcome.place
        replan = False
        async with self.intake.acting_on(REGISTER_MEETING, case_ref, principal) as (
                session, case):
            _open(case.closed_on)
            now_local = self.clock.local_now().replace(tzinfo=None, second=0, microsecond=0)
            meeting = (await session.execute(_ACTIVE_MEETING, {"case": case.id})
                       ).unique().scalar_one_or_none()
            if meeting is not None and meeting.start > now_local:
                raise Conflict(f"the meeting has not begun yet (it is on "
                               f"{meeting.start.isoformat(timespec='minutes')})",
                               "meeting_not_begun",
                               {"start": meeting.start.isoformat(timespec="minutes")})
            details: dict[str, Any] = {}
            if place == "not_held":
                if meeting is None:
                    raise Conflict("the case has no meeting to register as not held",
                                   "no_meeting_to_mark_not_held")
                meeting.status = "not_held"
                meeting.place = None
                meeting.employer_took_part = None
                # The consultant's time is free again; a new meeting is planned.
                await free_minutes(session, meeting.id)
                replan = True
            else:
                held = self._held_at(case, meeting, outcome.held_at, now_local)
                if meeting is None:
                    meeting = self._meeting_held_now(case, place, held)
                    if meeting.purpose == FOLLOW_UP:
                        meeting.series = (await series_of(session, [case.id])).get(case.id, 0)
                    session.add(meeting)
                else:
                    details["planned_start"] = meeting.start.isoformat(timespec="minutes")
                    if held != meeting.start:
                        # Held at another time than planned: it is recorded when it was
                        # held (its booked minutes at the planned time are freed).
                        length = meeting.end - meeting.start
                        meeting.start, meeting.end = held, held + length
                        await free_minutes(session, meeting.id)
                    meeting.on_time = held.date() <= deadline_of(case, meeting)
                meeting.status = "held"
                meeting.place = place
                meeting.employer_took_part = outcome.employer_took_part
                meeting.held_at = held
                self._store_minutes(meeting, outcome)
                # Follow-ups until recovery: the next one every `every_weeks` after this one;
                # a telephone follow-up's call task is done by this registration.
                case.next_follow_up_due = next_follow_up_due(held.date(), self.every_weeks)
                details["next_follow_up_due"] = case.next_follow_up_due.isoformat()
            now = self.clock.utcnow()
            meeting.outcome_registered_at = now
            meeting.outcome = {"registered_by": principal.actor, **details}
            # the meeting and the case written now, as plain statements (`write_changes`):
            # nothing is left for a flush unless minutes add tasks or mails
            await write_changes(session, now, meeting, case)
            # The tasks about the meeting are done by this registration — it was held, or
            # it was not and a new one is planned: "the employer confirmed", "call the
            # employer, the invitation failed", "no address to invite", "the letter does not
            # arrive in time"; a held meeting also settles a wish for other times and the
            # follow-up call. They stayed open in "Mine opgaver" until the case closed.
            await close_tasks(session, case.id, ABOUT_THE_MEETING + (
                (*SETTLED_BY_A_TIME, FOLLOW_UP_CALL) if place != "not_held" else ()), now)
            if meeting.id is None:
                await session.flush()  # the meeting held now: its id for what refers to it
            connection = await session.connection()
            if place != "not_held":
                self._agreement_tasks(session, case, meeting, outcome)
                await self._send_minutes(session, case, meeting, outcome)
                self._journal(session, case, meeting, outcome)
                for correction in self._first_meeting_corrections(case, meeting):
                    await audit.write(connection, now, principal, self.municipality,
                                      "kpi.correction", case.id, correction)
            await audit.write(connection, now, principal, self.municipality,
                              "meeting.outcome", case.id, {
                                  "meeting_id": meeting.id, "place": place,
                                  "employer_took_part": outcome.employer_took_part,
                                  **({"held_at": meeting.start.isoformat(timespec="minutes"),
                                      "agreements": len(outcome.agreements),
                                      "return_plan": outcome.return_plan is not None,
                                      "retention_plan_requested":
                                          outcome.retention_plan_requested,
                                      "sent_to": list(outcome.send_to)}
                                     if place != "not_held" else {})})
        if replan:
            self.jobs.request(PLAN, self.municipality, "meeting_not_held")
        elif place != "not_held":
            # the next follow-up is planned like a first meeting (service.planning.instance)
            self.jobs.request(PLAN, self.municipality, "follow_up_set")
        return Registered(case_ref, "meeting.outcome", replan)

    def _held_at(self, case: Case, meeting: Meeting | None, given: datetime | None,
                 now_local: datetime) -> datetime:
        """When the meeting was held: as given (not in the future, not before the first
        absence day), else the planned start of a confirmed meeting that has begun, else now
        (an unconfirmed proposal is never back-dated to its proposed time)."""
        if given is not None:
            held = given.replace(second=0, microsecond=0)
            if held > now_local:
                raise Invalid.field("held_at", "must not be in the future", "date_in_future")
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if held.date() < first_absence:
                raise Invalid.field("held_at", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            return held
        if meeting is not None and meeting.status == "confirmed" and meeting.start <= now_local:
            return meeting.start
        return now_local

    @staticmethod
    def _store_minutes(meeting: Meeting, outcome: MeetingOutcomeIn) -> None:
        meeting.agreements = [{"what": a.what, "who": a.who, "due": a.due.isoformat()}
                              for a in outcome.agreements]
        meeting.return_plan = (outcome.return_plan.stored()
                               if outcome.return_plan is not None else None)
        meeting.retention_plan_requested = outcome.retention_plan_requested
        meeting.minutes_note = outcome.note or None

    def _agreement_tasks(self, session: AsyncSession, case: Case, meeting: Meeting,
                         outcome: MeetingOutcomeIn) -> None:
        """The consultant's own agreements become their tasks, due on the agreed day."""
        for agreement in outcome.agreements:
            if agreement.who != "consultant":
                continue
            session.add(ConsultantTask(
                municipality_id=self.municipality,
                consultant_id=case.owner_id or meeting.consultant_id, case_id=case.id,
                kind="agreement", text=f"Aftale: {agreement.what}", due_on=agreement.due))

    async def _send_minutes(self, session: AsyncSession, case: Case, meeting: Meeting,
                            outcome: MeetingOutcomeIn) -> None:
        """Mail the chosen parties what concerns them (their agreements and the consultant's,
        the return plan's steps): never the note, nothing about health. A party without an
        e-mail address is skipped."""
        if not outcome.send_to or self.outbox is None or self.mail is None:
            return
        addresses = {"citizen": case.citizen_email,
                     "employer": case.contact_email or (case.employer.contact_email
                                                        if case.employer else None)}
        for party in dict.fromkeys(outcome.send_to):
            address = addresses[party]
            if not address:
                continue
            agreements = [(a.what, a.who, a.due) for a in outcome.agreements
                          if a.who in (party, "consultant")]
            steps = ([(s.from_, s.hours_per_week) for s in outcome.return_plan.steps],
                     outcome.return_plan.full_time_from) if outcome.return_plan else None
            subject, text, html = minutes_mail(
                self.mail, party, meeting.start.date(), agreements, steps,
                case.owner.name if case.owner else "",
                case.owner.phone if case.owner else None)
            self.outbox.enqueue(session, Message(
                channel="email", kind="meeting_minutes", recipient=address, subject=subject,
                text=text, html=html, case_id=case.id, meeting_id=meeting.id,
                payload={"party": party}))

    def _journal(self, session: AsyncSession, case: Case, meeting: Meeting,
                 outcome: MeetingOutcomeIn) -> None:
        """The minutes' copy for the case file, to the case system's journal mailbox
        (`[followup] journal_email`): every agreement, the plan — never the note."""
        if self.outbox is None or self.mail is None or not self.mail.journal:
            return
        steps = ([(s.from_, s.hours_per_week) for s in outcome.return_plan.steps],
                 outcome.return_plan.full_time_from) if outcome.return_plan else None
        held = HeldMeetingWords(
            case_ref=case.case_ref, held_at=meeting.start,
            what=f"{word(MEETING_PURPOSE, meeting.purpose)}, {word(PLACE, meeting.place)}",
            consultant=case.owner.name if case.owner else "",
            employer_took_part=meeting.employer_took_part,
            retention_plan_requested=meeting.retention_plan_requested,
            sent_to=list(dict.fromkeys(outcome.send_to)))
        subject, text, html = journal_mail(
            held, [(a.what, a.who, a.due) for a in outcome.agreements], steps)
        self.outbox.enqueue(session, Message(
            channel="email", kind="journal_minutes", recipient=self.mail.journal,
            subject=subject, text=text, html=html, case_id=case.id, meeting_id=meeting.id))

    def _correction(self, day: date, what: str, details: dict[str, Any]
                    ) -> dict[str, Any] | None:
        """A registration that changes a figure of a month that has ended (the figure's
        month is `day`'s): the details of its `kpi.correction` audit entry (the entry says
        when and who), or None for a month that has not ended."""
        today = self.clock.today()
        if (day.year, day.month) < (today.year, today.month):
            return {"what": what, "month": f"{day:%Y-%m}", **details}
        return None

    def _first_meeting_corrections(self, case: Case, meeting: Meeting) -> list[dict[str, Any]]:
        """The months whose reported figures a held meeting changes: none for a follow-up
        (no figure counts it); for the first meeting, the month it was held (first meetings,
        their place, the employer) and, when it was held by the end of week 8, the month
        week 8 ended (week 8 met rather than missed) — each only once that month has ended."""
        if meeting.purpose == FOLLOW_UP:
            return []
        held = meeting.start.date()
        details = {"meeting_id": meeting.id, "held_at": meeting.start.isoformat(
            timespec="minutes")}
        days = [held]
        week8_end = date.fromisoformat(case.facts["first_absence_day"]) + timedelta(
            days=self.intake.config.rules.first_meeting_deadline_days)
        if held <= week8_end and (week8_end.year, week8_end.month) != (held.year, held.month):
            days.append(week8_end)
        return [c for day in days if (c := self._correction(day, "meeting_held", details))]

    async def register_intervention(self, case_ref: str, started_on: date,
                                    principal: Principal, *, kind: str = "other",
                                    hours_per_week: float | None = None,
                                    ends_on: date | None = None) -> Registered:
        """A workplace-oriented intervention of `kind` started on `started_on`. A case has
        as many as are registered; its `intervention_started_on` is the earliest start of a
        workplace-oriented one (`service.followup.intervention_kinds`: not an education). A
        partial return keeps the case open with its owner (it is no ending)."""
        intervention = validated(InterventionIn, {
            "started_on": started_on, "kind": kind, "hours_per_week": hours_per_week,
            "ends_on": ends_on})
        if intervention.started_on > self.clock.today():
            raise Invalid.field("started_on", "must not be in the future", "date_in_future")
        async with self.intake.acting_on_row(REGISTER_INTERVENTION, case_ref, principal) as (
                connection, case):
            _open(case.closed_on)
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if intervention.started_on < first_absence:
                raise Invalid.field("started_on", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            # The intervention, the case's earliest start when it changed, the audit entries.
            now = self.clock.utcnow()
            await connection.execute(_ADD_INTERVENTION, {
                "municipality_id": self.municipality, "case_id": case.id,
                "kind": intervention.kind, "started_on": intervention.started_on,
                "ends_on": intervention.ends_on, "hours_per_week": intervention.hours_per_week,
                "registered_by": principal.actor, "created_at": now})
            earliest = (await connection.execute(_EARLIEST_INTERVENTION, {"case": case.id})
                        ).scalar_one()
            if earliest != case.intervention_started_on:
                await connection.execute(_INTERVENTION_STARTED, {
                    "case": case.id, "earliest": earliest, "now": now})
            details = {"kind": intervention.kind,
                       "started_on": intervention.started_on.isoformat()}
            await audit.write(connection, now, principal, self.municipality,
                              "case.intervention", case.id, details)
            # The week-13 figure counts the case in the month its week 13 ended once a
            # workplace-oriented intervention started by then: a figure of that month
            # changes when this one brought the case's earliest such start (`earliest`) on
            # or before that day.
            week13_end, before = case.intervention_deadline, case.intervention_started_on
            counted_now = earliest is not None and earliest <= week13_end and (
                before is None or before > week13_end)
            correction = self._correction(week13_end, "intervention", details) \
                if counted_now else None
            if correction is not None:
                await audit.write(connection, now, principal, self.municipality,
                                  "kpi.correction", case.id, correction)
        return Registered(case_ref, "case.intervention")

    def _meeting_held_now(self, case: Case, place: str, held: datetime) -> Meeting:
        if case.owner_id is None:
            raise Conflict("the case has no owner yet: assign a consultant first",
                           "case_has_no_owner")
        follow_up = case.next_follow_up_due is not None
        meeting = Meeting(municipality_id=self.municipality, case_id=case.id,
                          consultant_id=case.owner_id, kind=_KIND_OF_PLACE[place],
                          start=held, end=held + timedelta(minutes=30), travel_minutes=0,
                          purpose=FOLLOW_UP if follow_up else FIRST_MEETING, alternatives=[])
        meeting.on_time = held.date() <= deadline_of(case, meeting)
        return meeting


def _open(closed_on: date | None) -> None:
    """Nothing is registered on a closed case (`closed_on`: the case's)."""
    if closed_on is not None:
        raise Conflict(f"the case was closed on {closed_on.isoformat()}", "case_closed",
                       {"closed_on": closed_on.isoformat()})
