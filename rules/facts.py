"""Case facts: the input of the rules, validated strictly in the terms of the rules contract.

Types are strict (`"2"` is not `2`, `"yes"` is not `true`), dates are ISO `YYYY-MM-DD` and must
exist, unknown fields are ignored. Every problem is reported with the field it concerns, so the
CLI and the API can both say exactly what is wrong.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

# ASCII digits only: `\d` would match other scripts' digits too (contract: "Digits are ASCII").
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: object) -> object:
    """Accept only `YYYY-MM-DD` strings (or date objects from Python callers)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("date_format", "must be a date YYYY-MM-DD, not {kind}",
                                  {"kind": _json_type(value)})
    if not _ISO_DATE.match(value):
        raise PydanticCustomError("date_format", 'must be a date YYYY-MM-DD, got "{value}"',
                                  {"value": value})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_not_real", 'is not a real date: "{value}"',
                                  {"value": value}) from None


_ISO_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
                           r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?$")


def _iso_datetime(value: object) -> object:
    """Accept only ISO 8601 date-time strings (`YYYY-MM-DDTHH:MM`, seconds and an offset
    optional; or datetime objects from Python callers) — not a number of seconds since 1970,
    which pydantic takes by itself (a "1780272000" was 1 June 2026)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise PydanticCustomError("datetime_parsing",
                                  "must be a date and time YYYY-MM-DDTHH:MM")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("time_not_real", 'is not a real time: "{value}"',
                                  {"value": value}) from None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def _whole_number(value: object) -> object:
    """Only a JSON integer is a category: `true` is not 1 (Python's bool is an int, pydantic's
    Literal agrees) and `2.0` is not 2 (the contract: an integer)."""
    if isinstance(value, bool | float):
        raise PydanticCustomError("literal_error", "must be one of 1, 2, 3 or null, got {got}",
                                  {"expected": "1, 2, 3", "got": _shown(value)})
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
Category = Annotated[Literal[1, 2, 3], BeforeValidator(_whole_number)]
CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Cvr = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
_CVR = re.compile(r"^[0-9]{8}$")


def _is_cvr(value: object) -> bool:
    return isinstance(value, str) and _CVR.fullmatch(value) is not None

Employment = Literal["employed", "unemployed", "self_employed"]
DiagnosisGroup = Literal["physical", "mental", "cancer_heart_lung", "other"]
FollowUp = Literal["workplace_meeting", "jobcenter_meeting", "telephone", "standard"]
Status = Literal["target", "excluded", "not_target", "incomplete"]


class EmployerRef(BaseModel):
    """The employer as the rules see it: only the CVR number matters."""

    model_config = ConfigDict(strict=True, extra="ignore")
    cvr: Cvr | None = None
    name: str | None = None


class CaseFacts(BaseModel):
    """One case's facts (rules contract, "Input: case facts")."""

    model_config = ConfigDict(strict=True, extra="ignore")

    case_id: CaseId
    as_of: IsoDate | None = None
    first_absence_day: IsoDate
    employment: Employment
    employer: EmployerRef | None = None
    dismissed: bool = False
    visitation_category: Category | None = None
    expected_absence_weeks: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    serious_illness: bool = False
    workplace_cause: bool = False
    diagnosis_group: DiagnosisGroup = "other"
    full_recovery_plan_date: IsoDate | None = None
    fast_track_requested_on: IsoDate | None = None
    employer_declines_workplace_meeting: bool = False
    citizen_declines_workplace_meeting: bool = False
    citizen_wants_private_talk: bool = False

    @model_validator(mode="before")
    @classmethod
    def _employer_cvr_only_when_employed(cls, data: Any) -> Any:
        """"Missing/invalid CVR for an employed person is an input error; absent or null is
        fine otherwise" (the contract): the employer of someone not employed is not judged
        by its CVR, which is left out when it is no CVR."""
        if isinstance(data, dict) and data.get("employment") in ("unemployed", "self_employed"):
            employer = data.get("employer")
            if isinstance(employer, dict) and not _is_cvr(employer.get("cvr")):
                return {**data, "employer": {k: v for k, v in employer.items() if k != "cvr"}}
        return data

    @model_validator(mode="after")
    def _employer_when_employed(self) -> CaseFacts:
        if self.employment == "employed" and getattr(self.employer, "cvr", None) is None:
            # A model-level error has no location: the field travels in the context.
            raise PydanticCustomError("required_when_employed",
                                      'required (8 digits) when employment is "employed"',
                                      {"field": "employer.cvr"})
        return self


class FactsError(ValueError):
    """Facts that are well-typed but inconsistent, e.g. absence starting after `as_of`;
    `code` and `params` say it in a form other languages can be made from."""

    def __init__(self, field: str, message: str, code: str = "invalid",
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code
        self.params = params or {}


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap", "constrained-str"):
            continue
        elif isinstance(part, str) and part.startswith(("literal[", "function-", "json-or-")):
            continue  # pydantic names union members in the location; they mean nothing here
        else:
            out += f".{part}" if out else str(part)
    return out


_MESSAGES = {
    "missing": "is required",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "greater_than_equal": "must not be negative",
    "finite_number": "must be a finite number",
    "json_invalid": "is not valid JSON",
}


# Context keys that hold (part of) the input: never params (the input may be a CPR number).
_INPUT_KEYS = frozenset({"input", "value", "got", "kind", "field", "error"})


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Turn a pydantic error into `[{"field", "message", "code", "params"}]`, one entry per
    field, in order. `code` is pydantic's error type (`missing`, `string_too_long`, or a
    validator's own such as `date_format`), `params` its context (`{"max_length": 200}`)
    without the input, so a caller can say it in another language."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        field = _location(tuple(error.get("loc", ())))
        kind = error.get("type", "")
        context = dict(error.get("ctx") or {})
        message = str(error.get("msg", "is invalid"))
        if not field and isinstance(context.get("field"), str):
            field = context["field"]
        if kind == "too_long" and isinstance(error.get("input"), str):
            # a text of a constrained text type: pydantic names it as a list's length
            # ("at most 300 items"); it is characters, as any other text's limit
            kind = "string_too_long"
            message = f"must be at most {context.get('max_length')} characters"
        if kind == "value_error":
            message = message.removeprefix("Value error, ")
            head, sep, rest = message.partition(": ")
            if not field and sep and re.fullmatch(r"[a-z_][a-z_.\[\]0-9]*", head):
                field, message = head, rest
        elif kind == "literal_error" and "got" not in context:
            expected = context.get("expected", "")
            message = f"must be one of {expected}, got {_shown(error.get('input'))}"
        elif kind == "string_pattern_mismatch":
            message = _pattern_message(field, error.get("input"))
        elif kind == "greater_than_equal":
            bound = context.get("ge")
            if isinstance(bound, float) and bound.is_integer():
                bound = int(bound)
            message = f"must be ≥ {bound}, got {_shown(error.get('input'))}"
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
            if kind.endswith("_type"):
                message += f", not {_json_type(error.get('input'))}"
        if field in seen:
            continue  # a union reports one failure per member; the first one says it
        seen.add(field)
        params = {key: value for key, value in context.items()
                  if key not in _INPUT_KEYS and isinstance(value, str | int | float | bool)}
        out.append({"field": field or "(body)", "message": message, "code": kind or "invalid",
                    "params": params})
    return out


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pattern_message(field: str, value: Any) -> str:
    name = field.rsplit(".", 1)[-1]
    if name == "cvr":
        return f"must be 8 digits, got {_shown(value)}"
    if name == "case_id":
        return f"must be 1-64 characters of A-Z, a-z, 0-9, _ and -, got {_shown(value)}"
    return f"has the wrong format: {_shown(value)}"


def describe(errors: list[dict[str, Any]]) -> str:
    """One line for the CLI: `field: message; field: message`."""
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)
