"""Request and response models of the JSON API. The OpenAPI document is generated from them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from rules.facts import CaseFacts, IsoDate, IsoDateTime
from service.platform.http import text_problem
from service.platform.inputs import one_line_problem

# ASCII digits only: `\d` would take other scripts' digits too (and store them).
_CPR = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def normalise_cpr(value: str) -> str:
    """10 digits, optionally written DDMMYY-SSSS; the date part must be a possible date."""
    match = _CPR.match(value)
    if not match:
        raise PydanticCustomError("cpr_format", "must be 10 digits (DDMMYY-SSSS)")
    day, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise PydanticCustomError("cpr_format", "the first six digits must be a date (DDMMYY)")
    return "".join(match.groups())


def _one_line(value: str) -> str:
    problem = one_line_problem(value)
    if problem:
        raise PydanticCustomError("not_one_line", problem)
    return value


_ONE_LINE = "one line: no line breaks or control characters"
# The employer's name (and known unavailable times) are one record per CVR, shared by every
# case of that employer; the workplace address and contact person belong to each case.
SHARED_EMPLOYER_MESSAGE = ("may not be changed by a consultant: the employer's record is "
                           "shared by every case of this CVR; intake staff change it")
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


# A name, address, phone number or e-mail address: one line of text (`one_line_problem`).
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_one_line),
                 Field(description=_ONE_LINE)]
Address = Annotated[str, StringConstraints(max_length=300), AfterValidator(_one_line),
                    Field(description=_ONE_LINE)]
Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(_one_line),
                  Field(description=_ONE_LINE)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=_EMAIL),
                  AfterValidator(_one_line), Field(description=_ONE_LINE)]


def mask_cpr(cpr: str | None) -> str | None:
    """DDMMYY-XXXX: staff can recognise the person; the sequence number is never shown."""
    return None if cpr is None else f"{cpr[:6]}-XXXX"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Interval(_Strict):
    """Local wall-clock time span, `YYYY-MM-DDTHH:MM`."""

    start: IsoDateTime
    end: IsoDateTime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: object) -> datetime:
        start = getattr(info, "data", {}).get("start")
        if start is not None and (start.tzinfo is None) != (end.tzinfo is None):
            # Python cannot compare them (a TypeError would be a 500).
            raise PydanticCustomError("offset_mismatch",
                                      "must have a UTC offset exactly when start has one")
        if start is not None and end <= start:
            raise PydanticCustomError("not_after_start", "must be after start")
        return end


class EmployerDetails(BaseModel):
    """The employer as intake knows it; only `cvr` matters to the rules."""

    model_config = ConfigDict(strict=True, extra="ignore")
    cvr: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] | None = None
    name: Name | None = None
    address: Address | None = None
    location: Location | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    unavailable: list[Interval] = []


class Citizen(_Strict):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    # The postal address letters go to (one line: "Vej 1, 7400 Herning").
    address: Address | None = None


# The CPR rule of `normalise_cpr` as a pattern for the document: DDMMYY (a possible day of
# its month) then 4 digits, with or without a hyphen.
CPR_PATTERN = (r"^((0[1-9]|[12][0-9])(0[1-9]|1[0-2])|30(0[13-9]|1[0-2])|31(0[13578]|1[02]))"
               r"[0-9]{2}-?[0-9]{4}$")


class CaseIntake(CaseFacts):
    """A new or updated case: the rules' case facts plus what intake knows about the people."""

    model_config = ConfigDict(strict=True, extra="ignore", json_schema_extra={
        # employer.cvr is required when employment is "employed".
        "if": {"properties": {"employment": {"const": "employed"}}, "required": ["employment"]},
        "then": {"required": ["employer"], "properties": {"employer": {
            "type": "object", "required": ["cvr"],
            "properties": {"cvr": {"type": "string"}}}}}})

    employer: EmployerDetails | None = None  # type: ignore[assignment]
    cpr: str | None = Field(default=None, description="CPR number, 10 digits; stored, "
                            "never logged, returned masked",
                            json_schema_extra={"pattern": CPR_PATTERN})
    citizen: Citizen | None = None
    handed_over_on: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD: when the benefits office handed the case "
        "over (not in the future, not before first_absence_day); after absence week 7 it "
        "is late (`handover_week`)")

    @field_validator("cpr")
    @classmethod
    def _cpr(cls, value: str | None) -> str | None:
        return None if value is None else normalise_cpr(value)

    @model_validator(mode="before")
    @classmethod
    def _employer_cvr_only_when_employed(cls, data: Any) -> Any:
        """Intake keeps what it is given: a CVR typed wrong is refused naming the field for
        anyone (the rules' own input leaves it out for someone not employed)."""
        return data


# Why staff chose the owner by hand: a fixed list, the only words about it that leave
# fasthold (the intake channel in Slack is told the category, never a note a person typed).
OwnerReason = Literal["capacity", "regular_employer", "continuity", "geography", "other"]
OWNER_REASONS: dict[str, str] = {"capacity": "kapacitet", "regular_employer": "fast arbejdsgiver",
                                 "continuity": "kontinuitet", "geography": "geografi",
                                 "other": "andet"}
MAX_OWNER_NOTE = 500


class OwnerOverride(_Strict):
    consultant_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    category: OwnerReason = Field(
        default="other", description="why, from a fixed list (capacity, regular employer, "
        "continuity, geography, other): what Slack's intake channel is told")
    reason: str = Field(default="", max_length=MAX_OWNER_NOTE,
                        description="an optional note, kept in fasthold (never sent to Slack)")


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Free text any database can store (no NUL, no half surrogate pair): the API's text rule.
StorableText = Annotated[str, AfterValidator(_storable)]

# Closing a case (the use case: service.followup.closing): how it ended, one list for the
# API, the pages and Slack (their words: service.text.case_words.CLOSE_OUTCOME).
# A partial return is no ending (an intervention that keeps the case open); "moved" became
# "other_municipality" (migration 0008). Cases closed earlier as "partly_recovered" keep it.
CloseOutcome = Literal["recovered", "dismissed", "other_programme", "other_municipality",
                       "other"]
CLOSE_OUTCOMES: tuple[str, ...] = get_args(CloseOutcome)
LegacyCloseOutcome = Literal["partly_recovered"]
MAX_CLOSE_NOTE = 1000


class CaseClose(_Strict):
    """How the case ended and on which day (not in the future, not before the absence)."""

    outcome: CloseOutcome
    on: IsoDate = Field(description="YYYY-MM-DD; not in the future, not before the case's first "
                     "absence day")
    note: StorableText = Field(default="", max_length=MAX_CLOSE_NOTE,
                               description="kept on the case (never sent to Slack)")


class DecisionOut(BaseModel):
    status: Literal["target", "excluded", "not_target", "incomplete"]
    follow_up: Literal["workplace_meeting", "jobcenter_meeting", "telephone", "standard"] | None
    private_talk_first: bool
    first_meeting_deadline: date
    intervention_deadline: date
    reasons: list[str]
    reasons_text: list[str] = Field(default=[], description="the reasons in Danish words")
    missing: list[str] = []
    as_of: date


class OwnerOut(BaseModel):
    consultant_id: str
    name: str
    reasons: list[str]
    overridden: bool


class SlotOut(BaseModel):
    start: str
    end: str
    travel_minutes: int | None = None


class MeetingOut(BaseModel):
    status: Literal["proposed", "confirmed"]
    kind: Literal["workplace_meeting", "jobcenter_meeting"]
    start: str = Field(description="local time YYYY-MM-DDTHH:MM")
    end: str
    consultant_id: str
    on_time: bool
    travel_minutes: int
    alternatives: list[SlotOut]
    invited_at: datetime | None


class DecisionHistoryOut(BaseModel):
    at: datetime
    trigger: str
    actor: str
    changed_facts: list[str]
    before: dict[str, object] | None
    after: dict[str, object]


class ClosedOut(BaseModel):
    on: date
    outcome: CloseOutcome | LegacyCloseOutcome
    note: str | None


class AgreementOut(BaseModel):
    what: str
    who: Literal["citizen", "employer", "consultant", "other"]
    due: date


class StepOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: date = Field(alias="from")
    hours_per_week: float


class ReturnPlanOut(BaseModel):
    steps: list[StepOut]
    full_time_from: date


class MinutesOut(BaseModel):
    """A held meeting and its minutes (the note: staff only)."""

    held_at: str = Field(description="local time YYYY-MM-DDTHH:MM")
    place: str
    employer_took_part: bool | None
    on_time: bool
    agreements: list[AgreementOut]
    return_plan: ReturnPlanOut | None
    retention_plan_requested: bool
    note: str | None


class InterventionOut(BaseModel):
    kind: str
    started_on: date
    ends_on: date | None
    hours_per_week: float | None


class ProgressOut(BaseModel):
    """What the consultant has registered on the case (service.followup.outcomes); the held
    meetings with their minutes and the interventions only when one case is shown."""

    citizen_called_at: datetime | None
    employer_called_at: datetime | None
    intervention_started_on: date | None
    held_meetings: list[MinutesOut] | None = None
    interventions: list[InterventionOut] | None = None
    partial_return: bool | None = Field(default=None, description="a partial return is "
                                        "running (started, not ended): the case stays open "
                                        "with its owner until full recovery")


class WorkplaceOut(BaseModel):
    """The case's own workplace, placed on the map (service.places)."""

    address: str | None
    lat: float | None
    lon: float | None
    precision: Literal["exact", "street", "postcode", "town"] | None = Field(
        description="how precisely lat/lon place the address; null: not placed (the meeting "
        "is planned as at the jobcentre)")


class ContactOut(BaseModel):
    """The case's contact person at the employer: the sick employee's nearest manager."""

    name: str | None
    email: str | None
    phone: str | None


class CaseOut(BaseModel):
    case_id: str
    facts: dict[str, object]
    cpr: str | None = Field(description="masked: DDMMYY-XXXX")
    citizen: Citizen | None
    employer: EmployerDetails | None = Field(
        description="the CVR's shared record (name, unavailable times) with this case's own "
        "workplace address and contact person")
    workplace: WorkplaceOut | None = None
    contact: ContactOut | None = None
    decision: DecisionOut
    owner: OwnerOut | None
    unassigned_reasons: list[str] = Field(default=[], description="why nobody owns the case yet")
    meeting: MeetingOut | None = None
    closed: ClosedOut | None = None
    erased_at: datetime | None = Field(
        default=None, description="when the ended case's personal and health data were "
        "erased ([retention]); it takes no more changes")
    progress: ProgressOut | None = None
    created_at: datetime
    updated_at: datetime
    history: list[DecisionHistoryOut] | None = None
    other_open_cases: list[str] = Field(
        default=[], description="the citizen's other open cases (the same CPR number) that the "
        "caller may see: one sick leave registered twice means two consultants and two "
        "meetings with one employer — close the one that is not needed")


class CaseList(BaseModel):
    cases: list[CaseOut]
    total: int
    limit: int
    offset: int
