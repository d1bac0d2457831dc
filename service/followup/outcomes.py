"""What the consultant registers on a case: the first calls to citizen and employer, how the
first follow-up meeting went (held where, employer took part, or not held: a new time is
planned), and the start of a workplace-oriented intervention. One use case for every channel:
the API, the staff pages, Slack buttons and the simulation. These are what the KPIs count.

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
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select

from service.clock import Clock
from service.intake.service import IntakeService
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import ACTIVE_MEETING, BookedMinute, Case, Meeting
from service.platform.errors import Conflict, Invalid
from service.platform.inputs import validated
from service.platform.jobqueue import PLAN, JobQueue
from service.platform.policies import (
    REGISTER_CONTACT,
    REGISTER_INTERVENTION,
    REGISTER_MEETING,
)

Contact = Literal["citizen", "employer"]
Place = Literal["workplace", "jobcentre", "phone", "not_held"]
PLACES: tuple[str, ...] = get_args(Place)
# The meeting kind a meeting registered without a booked one gets, by where it was held.
_KIND_OF_PLACE = {"workplace": "workplace_meeting", "jobcentre": "jobcenter_meeting",
                  "phone": "telephone"}


# -- the input models: the API parses requests with them, the pages and Slack take their
# -- choices from them, and the use case checks every caller's input with them.

class ContactIn(BaseModel):
    """Who the consultant has called (registered with the time of the call: now)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    who: Contact


class MeetingOutcomeIn(BaseModel):
    """How the case's meeting went: held at the workplace, at the jobcentre or by phone (and
    whether the employer took part), or not held (a new time is planned)."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        # employer_took_part (true or false) unless the meeting was not held.
        "if": {"properties": {"place": {"const": "not_held"}}},
        "else": {"required": ["employer_took_part"],
                 "properties": {"employer_took_part": {"type": "boolean"}}}})
    place: Place
    employer_took_part: bool | None = Field(
        default=None, description="required unless place is not_held")

    @model_validator(mode="after")
    def _answered(self) -> MeetingOutcomeIn:
        if self.place != "not_held" and self.employer_took_part is None:
            raise PydanticCustomError("required_when_held", "required when the meeting was held",
                                      {"field": "employer_took_part"})
        return self


class InterventionIn(BaseModel):
    """The day a workplace-oriented intervention started (not in the future)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    started_on: date = Field(description="YYYY-MM-DD; not in the future, not before the "
                             "case's first absence day")


@dataclass(frozen=True)
class Registered:
    """What a registration did: the audit action it wrote (`case.called_citizen`,
    `meeting.outcome`, `case.intervention`) and whether planning was asked for a new time."""

    case_ref: str
    action: str
    replanned: bool = False


class CaseOutcomes:
    def __init__(self, db: Database, clock: Clock, intake: IntakeService,
                 jobs: JobQueue) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake
        self.jobs = jobs
        self.municipality = intake.municipality

    async def register_contact(self, case_ref: str, who: str, principal: Principal
                               ) -> Registered:
        """The consultant has called the citizen or the employer (now)."""
        contact = validated(ContactIn, {"who": who})
        async with self.intake.acting_on(REGISTER_CONTACT, case_ref, principal) as (
                session, case):
            _open(case)
            now = self.clock.utcnow()
            if contact.who == "citizen":
                case.citizen_called_at = now
            else:
                case.employer_called_at = now
            action = f"case.called_{contact.who}"
            audit.record(session, principal, self.municipality, action, case.id, {})
        return Registered(case_ref, action)

    async def register_meeting(self, case_ref: str, place: str,
                               employer_took_part: bool | None, principal: Principal
                               ) -> Registered:
        """How the case's current meeting went: held (where; did the employer take part) or
        not held, after which planning proposes a new time. Without a current meeting that has
        begun, a meeting held now is recorded (a phone follow-up, a meeting arranged by hand).
        """
        outcome = validated(MeetingOutcomeIn, {"place": place,
                                               "employer_took_part": employer_took_part})
        place = outcome.place
        replan = False
        async with self.intake.acting_on(REGISTER_MEETING, case_ref, principal) as (
                session, case):
            _open(case)
            now_local = self.clock.local_now().replace(tzinfo=None, second=0, microsecond=0)
            meeting = (await session.execute(select(Meeting).where(
                Meeting.case_id == case.id, Meeting.status.in_(ACTIVE_MEETING))
                .with_for_update(of=Meeting, key_share=True))).unique().scalar_one_or_none()
            if meeting is not None and meeting.start > now_local:
                raise Conflict(f"the meeting has not begun yet (it is on "
                               f"{meeting.start.isoformat(timespec='minutes')})",
                               "meeting_not_begun",
                               {"start": meeting.start.isoformat(timespec="minutes")})
            if place == "not_held":
                if meeting is None:
                    raise Conflict("the case has no meeting to register as not held",
                                   "no_meeting_to_mark_not_held")
                meeting.status = "not_held"
                meeting.place = None
                meeting.employer_took_part = None
                # The consultant's time is free again; a new meeting is planned.
                await session.execute(delete(BookedMinute).where(
                    BookedMinute.meeting_id == meeting.id))
                replan = True
            else:
                if meeting is None:
                    meeting = self._meeting_held_now(case, place, now_local)
                    session.add(meeting)
                meeting.status = "held"
                meeting.place = place
                meeting.employer_took_part = outcome.employer_took_part
            meeting.outcome_registered_at = self.clock.utcnow()
            meeting.outcome = {"registered_by": principal.actor}
            await session.flush()
            audit.record(session, principal, self.municipality, "meeting.outcome", case.id,
                         {"meeting_id": meeting.id, "place": place,
                          "employer_took_part": outcome.employer_took_part})
        if replan:
            self.jobs.request(PLAN, self.municipality, "meeting_not_held")
        return Registered(case_ref, "meeting.outcome", replan)

    async def register_intervention(self, case_ref: str, started_on: date,
                                    principal: Principal) -> Registered:
        """A workplace-oriented intervention started on `started_on`."""
        intervention = validated(InterventionIn, {"started_on": started_on})
        if intervention.started_on > self.clock.today():
            raise Invalid.field("started_on", "must not be in the future", "date_in_future")
        async with self.intake.acting_on(REGISTER_INTERVENTION, case_ref, principal) as (
                session, case):
            _open(case)
            first_absence = date.fromisoformat(case.facts["first_absence_day"])
            if intervention.started_on < first_absence:
                raise Invalid.field("started_on", f"must not be before the first absence day "
                                    f"({first_absence.isoformat()})", "before_first_absence_day",
                                    {"first_absence_day": first_absence.isoformat()})
            case.intervention_started_on = intervention.started_on
            audit.record(session, principal, self.municipality, "case.intervention", case.id,
                         {"started_on": intervention.started_on.isoformat()})
        return Registered(case_ref, "case.intervention")

    def _meeting_held_now(self, case: Case, place: str, now_local: datetime) -> Meeting:
        if case.owner_id is None:
            raise Conflict("the case has no owner yet: assign a consultant first",
                           "case_has_no_owner")
        return Meeting(municipality_id=self.municipality, case_id=case.id,
                       consultant_id=case.owner_id, kind=_KIND_OF_PLACE[place],
                       start=now_local, end=now_local + timedelta(minutes=30),
                       travel_minutes=0, on_time=now_local.date() <= case.first_meeting_deadline,
                       alternatives=[])


def _open(case: Case) -> None:
    """Nothing is registered on a closed case."""
    if case.closed_on is not None:
        raise Conflict(f"the case was closed on {case.closed_on.isoformat()}", "case_closed",
                       {"closed_on": case.closed_on.isoformat()})
