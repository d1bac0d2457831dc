"""Request and response models of the JSON API. The OpenAPI document is generated from them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rules.facts import CaseFacts

# ASCII digits only: `\d` would take other scripts' digits too (and store them).
_CPR = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def normalise_cpr(value: str) -> str:
    """10 digits, optionally written DDMMYY-SSSS; the date part must be a possible date."""
    match = _CPR.match(value)
    if not match:
        raise ValueError("must be 10 digits (DDMMYY-SSSS)")
    day, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise ValueError("the first six digits must be a date (DDMMYY)")
    return "".join(match.groups())


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

    start: datetime
    end: datetime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: object) -> datetime:
        start = getattr(info, "data", {}).get("start")
        if start is not None and (start.tzinfo is None) != (end.tzinfo is None):
            # Python cannot compare them (a TypeError would be a 500).
            raise ValueError("must have a UTC offset exactly when start has one")
        if start is not None and end <= start:
            raise ValueError("must be after start")
        return end


class EmployerDetails(BaseModel):
    """The employer as intake knows it; only `cvr` matters to the rules."""

    model_config = ConfigDict(strict=True, extra="ignore")
    cvr: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] | None = None
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    location: Location | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320,
                                      pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: str | None = Field(default=None, max_length=40)
    unavailable: list[Interval] = []


class Citizen(_Strict):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)


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

    @field_validator("cpr")
    @classmethod
    def _cpr(cls, value: str | None) -> str | None:
        return None if value is None else normalise_cpr(value)


class OwnerOverride(_Strict):
    consultant_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    reason: str = Field(min_length=1, max_length=500)


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
    outcome: Literal["recovered", "partly_recovered", "dismissed", "moved", "other"]
    note: str | None


class ProgressOut(BaseModel):
    """What the consultant has registered on the case (service.followup.outcomes)."""

    citizen_called_at: datetime | None
    employer_called_at: datetime | None
    intervention_started_on: date | None


class CaseOut(BaseModel):
    case_id: str
    facts: dict[str, object]
    cpr: str | None = Field(description="masked: DDMMYY-XXXX")
    citizen: Citizen | None
    employer: EmployerDetails | None
    decision: DecisionOut
    owner: OwnerOut | None
    unassigned_reasons: list[str] = Field(default=[], description="why nobody owns the case yet")
    meeting: MeetingOut | None = None
    closed: ClosedOut | None = None
    progress: ProgressOut | None = None
    created_at: datetime
    updated_at: datetime
    history: list[DecisionHistoryOut] | None = None


class CaseList(BaseModel):
    cases: list[CaseOut]
    total: int
    limit: int
    offset: int
