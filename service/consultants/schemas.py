"""The consultants' input and output models: the same models parse the API's requests, check
the pages' forms (through the use cases) and make the OpenAPI document. Strict, every field
named in its error, nothing unknown accepted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rules.facts import IsoDate
from service.platform.inputs import one_line_problem

# The characters a one-line text never has (`one_line_problem`), as a pattern for the
# document: control characters, the line and paragraph separators, bidi overrides/isolates.
_NOT_ONE_LINE = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
ONE_LINE_PATTERN = f"^[^{_NOT_ONE_LINE}]*$"
_EMAIL_PART = f"[^@\\s{_NOT_ONE_LINE}]+"
EMAIL_PATTERN = f"^{_EMAIL_PART}@{_EMAIL_PART}\\.{_EMAIL_PART}$"
KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,20}$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CVR_PATTERN = r"^[0-9]{8}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ABSENCE_DAYS = 366
MAX_ABSENCE_NOTE = 500
MAX_FIXED_EMPLOYERS = 1000

AbsenceReason = Literal["ferie", "sygdom", "kursus", "andet"]
DiagnosisGroup = Literal["physical", "mental", "cancer_heart_lung", "other"]


def _one_line(value: str) -> str:
    problem = one_line_problem(value)
    if problem:
        raise PydanticCustomError("not_one_line", problem)
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=200),
                 AfterValidator(_one_line), Field(json_schema_extra={"pattern": ONE_LINE_PATTERN})]
Address = Annotated[str, StringConstraints(max_length=300), AfterValidator(_one_line),
                    Field(json_schema_extra={"pattern": ONE_LINE_PATTERN})]
Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(_one_line),
                  Field(json_schema_extra={"pattern": ONE_LINE_PATTERN})]
Team = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_one_line),
                 Field(json_schema_extra={"pattern": ONE_LINE_PATTERN})]
Email = Annotated[str, StringConstraints(max_length=320, pattern=EMAIL_PATTERN),
                  AfterValidator(_one_line)]
ConsultantKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
SlackUserId = Annotated[str, StringConstraints(pattern=SLACK_USER_PATTERN)]
CVR = Annotated[str, StringConstraints(pattern=CVR_PATTERN)]
HHMM = Annotated[str, StringConstraints(pattern=HHMM_PATTERN)]
DayHours = tuple[HHMM, HHMM] | None


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class WorkingHoursIn(_Strict):
    """Hours per weekday as ["HH:MM", "HH:MM"] (start before end); null: not working that
    day. A day left out has the usual hours (Monday-Thursday 08:00-15:30, Friday
    08:00-13:00, none at the weekend), as in the configuration."""

    mon: DayHours = ("08:00", "15:30")
    tue: DayHours = ("08:00", "15:30")
    wed: DayHours = ("08:00", "15:30")
    thu: DayHours = ("08:00", "15:30")
    fri: DayHours = ("08:00", "13:00")
    sat: DayHours = None
    sun: DayHours = None

    @field_validator("*")
    @classmethod
    def _start_before_end(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None and value[0] >= value[1]:
            raise PydanticCustomError("not_after_start", "the end must be after the start")
        return value

    def as_dict(self) -> dict[str, list[str]]:
        return {day: list(hours) for day in WEEKDAYS if (hours := getattr(self, day))}


class ConsultantChanges(_Strict):
    """Everything about a consultant but their id: a new consultant's details, and what a
    JSON merge patch applies to."""

    name: Name
    email: Email
    phone: Phone = ""
    slack_user_id: SlackUserId | None = None
    team: Team = "default"
    location: Location | None = Field(
        default=None, description="the base the consultant travels from; without it the "
        "jobcentre's location until the address is placed on the map")
    address: Address | None = Field(default=None, description="the base address as text")
    skills: list[DiagnosisGroup] = Field(default=[], max_length=4)
    max_active_cases: int = Field(ge=0, le=1000)
    meetings_per_day: int = Field(default=3, ge=0, le=20)
    working_hours: WorkingHoursIn | None = Field(
        default=None, description="null: the jobcentre's opening hours")
    workplace_meetings: bool = True
    workplace_meetings_from: IsoDate | None = Field(
        default=None, description="no workplace meetings before this day")
    fixed_employers: list[CVR] = Field(default=[], max_length=MAX_FIXED_EMPLOYERS,
                                       description="CVR numbers fixed to this consultant "
                                       "(a CVR is fixed to one consultant at most)")
    active: bool = True
    open_cases: Literal["reassign"] | None = Field(
        default=None, description="when making an active consultant with open cases "
        "inactive: \"reassign\" takes the cases from them for the planner to give to "
        "colleagues (confirmed meetings are kept and listed as needing a move); without it "
        "the answer is 409 with the open cases")


class ConsultantIn(ConsultantChanges):
    """A new consultant."""

    id: ConsultantKey = Field(description="the consultant's id (1-64 of A-Z, a-z, 0-9, _ "
                              "and -); it never changes")


class ConsultantOut(BaseModel):
    id: str
    name: str
    email: str
    phone: str
    slack_user_id: str | None
    team: str
    location: Location
    location_precision: str | None = Field(description="how precisely the location is "
                                           "known (null: not placed; the jobcentre's)")
    address: str | None
    skills: list[str]
    max_active_cases: int
    meetings_per_day: int
    working_hours: dict[str, list[str]] | None
    workplace_meetings: bool
    workplace_meetings_from: date | None
    fixed_employers: list[str]
    active: bool
    active_cases: int = Field(description="the current load: open target cases owned")
    source: Literal["config", "app"]
    changed_in_app_at: datetime | None
    reassigned_cases: list[str] | None = Field(
        default=None, description="after making the consultant inactive with "
        "`open_cases: \"reassign\"`: the cases taken from them for the planner")


class ConsultantList(BaseModel):
    consultants: list[ConsultantOut]


class AbsenceIn(_Strict):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)

    from_: IsoDate = Field(alias="from", description="the first day away")
    to: IsoDate = Field(description="the last day away (inclusive), not before `from`")
    reason: AbsenceReason
    note: str | None = Field(default=None, max_length=MAX_ABSENCE_NOTE,
                             description="optional, a few words (no health details)")

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None


class AbsenceOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    consultant_id: str
    from_: date = Field(alias="from")
    to: date
    reason: str
    note: str | None
    created_by: str | None
    created_at: datetime


class AbsenceList(BaseModel):
    absences: list[AbsenceOut]
