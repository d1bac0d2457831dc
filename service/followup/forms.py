"""The consultant's registration forms (the same outcomes as the Slack buttons), validated
strictly, with a Danish message per field for the page."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rules.facts import validation_errors
from service.followup.closing import CaseClose
from service.followup.outcomes import ContactIn, InterventionIn, MinutesIn, Place
from service.text.case_words import CLOSE_OUTCOME
from service.text.errors import danish_error

# The page's words for each place of the use case's input model (`outcomes.PLACES`).
PLACE_TEXT = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
              "phone": "Telefonisk", "not_held": "Samtalen blev ikke holdt"}
CLOSE_TEXT = CLOSE_OUTCOME  # one word list for every page (service/text)
M = TypeVar("M", bound=BaseModel)

# A page's form is the use case's input model (its choices, limits and text rules), read
# from text fields: not strict, unknown fields (the CSRF token) ignored, text trimmed.
_FORM = ConfigDict(strict=False, extra="ignore", str_strip_whitespace=True)


class ContactForm(ContactIn):
    model_config = _FORM


class OutcomeForm(BaseModel):
    """The meeting's outcome as the page asks it: "ja"/"nej" for the employer's part (the
    use case's `MeetingOutcomeIn` then checks it is answered unless not held)."""

    model_config = _FORM
    place: Place
    employer_took_part: Literal["ja", "nej"] | None = None

    def took_part(self) -> bool | None:
        return None if self.employer_took_part is None else self.employer_took_part == "ja"


class InterventionForm(InterventionIn):
    model_config = _FORM


class CloseForm(CaseClose):
    model_config = _FORM


# The minutes' rows the page offers (agreements, steps of the return plan).
AGREEMENT_ROWS = 5
STEP_ROWS = 4
MINUTES_FIELDS = (
    "held_at", "full_time_from", "retention_plan_requested", "minutes_note",
    *[f"agreement-{i}-{part}" for i in range(AGREEMENT_ROWS) for part in ("what", "who", "due")],
    *[f"step-{i}-{part}" for i in range(STEP_ROWS) for part in ("from", "hours")])


def _number(text: str) -> float | str:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text  # the model says it is not a number


def parse_minutes(values: dict[str, str], send_to: list[str]
                  ) -> tuple[MinutesIn | None, str | None, dict[str, str]]:
    """The minutes typed on the page (empty rows left out), the held time typed (None: the
    default), or None and a Danish message per wrong field (named as the API names it)."""
    data: dict[str, Any] = {"send_to": send_to,
                            "note": values.get("minutes_note", "").strip(),
                            "retention_plan_requested":
                                values.get("retention_plan_requested") == "ja"}
    agreements = []
    for i in range(AGREEMENT_ROWS):
        row = {part: values.get(f"agreement-{i}-{part}", "").strip()
               for part in ("what", "who", "due")}
        if any(row.values()):
            agreements.append(row)
    data["agreements"] = agreements
    steps = []
    for i in range(STEP_ROWS):
        start, hours = (values.get(f"step-{i}-from", "").strip(),
                        values.get(f"step-{i}-hours", "").strip())
        if start or hours:
            steps.append({"from": start, "hours_per_week": _number(hours)})
    full_time = values.get("full_time_from", "").strip()
    if steps or full_time:
        data["return_plan"] = {"steps": steps, "full_time_from": full_time}
    held_at = values.get("held_at", "").strip() or None
    try:
        return MinutesIn.model_validate_json(json.dumps(data)), held_at, {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in validation_errors(exc):
            name = str(error["field"] or "form")
            name = "minutes_note" if name == "note" else name
            errors.setdefault(name, danish_error(name, error["code"], error["params"]))
        return None, held_at, errors


# The minutes' fields as the API names them (a page's errors about them are listed together).
MINUTES_ERRORS = ("agreements", "return_plan", "send_to", "held_at", "minutes_note",
                  "retention_plan_requested")


# The page's words for a field whatever went wrong with it (a missing choice is as wrong as
# an unknown one); other fields' errors are said by their code (`service.text.errors`).
_FIELD_WORDS = {"who": "not_one_of", "place": "not_one_of", "outcome": "not_one_of",
                "kind": "not_one_of",
                "employer_took_part": "required_when_held"}


def form_values(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The named text fields of a posted form ('' for a missing one; files are ignored)."""
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def parse_form(model: type[M], values: dict[str, str]) -> tuple[M | None, dict[str, str]]:
    """The validated form, or None and a Danish message per wrong field. Empty fields count
    as missing."""
    data = {k: v for k, v in values.items() if v.strip() != ""}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in validation_errors(exc):
            name = str(error["field"] or "form")
            code = _FIELD_WORDS.get(name, error["code"])
            errors.setdefault(name, danish_error(name, code, error["params"]))
        return None, errors
