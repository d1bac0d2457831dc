"""The consultant's registration forms (the same outcomes as the Slack buttons), validated
strictly, with a Danish message per field for the page."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from rules.facts import validation_errors
from service.followup.closing import CaseClose
from service.followup.outcomes import (
    AgreementIn,
    ContactIn,
    InterventionIn,
    MinutesIn,
    Place,
    StepIn,
)
from service.text.case_words import CLOSE_OUTCOME
from service.text.errors import danish_error, labelled_error

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
    # The form's words for its fields: each message names its field ("Timer om ugen: højst
    # 80.").
    LABELS: ClassVar[Mapping[str, str]] = {
        "kind": "Slags indsats", "started_on": "Indsatsen startede",
        "hours_per_week": "Timer om ugen", "ends_on": "Slutter"}


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


# The minutes' fields in the words of the page ("Aftale 2, hvem"), by the page's name.
AGREEMENT_PARTS = {"what": "hvad", "who": "hvem", "due": "senest"}
STEP_PARTS = {"from": "fra", "hours": "timer om ugen"}
PLAN = "Plan tilbage til fuld tid"
MINUTES_LABELS = {"held_at": "Holdt", "full_time_from": "Fuld tid fra",
                  "minutes_note": "Note", "send_to": "Send aftalerne og planen til",
                  "retention_plan_requested": "Fastholdelsesplan",
                  **{f"agreement-{i}-{part}": f"Aftale {i + 1}, {words}"
                     for i in range(AGREEMENT_ROWS) for part, words in AGREEMENT_PARTS.items()},
                  **{f"step-{i}-{part}": f"{PLAN}, trin {i + 1}, {words}"
                     for i in range(STEP_ROWS) for part, words in STEP_PARTS.items()}}
_CHOICES = ("who",)  # a choice left empty is not chosen, rather than not filled in
_DAY = TypeAdapter(date, config=ConfigDict(strict=True))  # as the models read a day


def _row_errors(model: type[BaseModel], row: dict[str, Any], page_name: dict[str, str]
                ) -> dict[str, str]:
    """One row of the minutes (an agreement, a step) checked by its own model, every wrong
    field of it said with the row's words; an empty field is missing."""
    try:
        model.model_validate_json(json.dumps({k: v for k, v in row.items() if v != ""}))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in validation_errors(exc):
            part = str(error["field"])
            name = page_name.get(part)
            if name is None or name in errors:
                continue
            code = "not_one_of" if part in _CHOICES and error["code"] == "missing" else (
                error["code"])
            errors[name] = labelled_error(part, code, error["params"],
                                          label=MINUTES_LABELS[name])
        return errors or {page_name[next(iter(page_name))]: danish_error(None, "invalid")}
    return {}


def _page_field(field: str, agreement_rows: list[int], step_rows: list[int]) -> str:
    """The page's field for a field of the minutes as the API names it
    (`agreements[0].who` -> the first filled row's `agreement-2-who`)."""
    if match := re.fullmatch(r"agreements\[(\d+)\]\.(what|who|due)", field):
        if int(match[1]) < len(agreement_rows):
            return f"agreement-{agreement_rows[int(match[1])]}-{match[2]}"
    if match := re.fullmatch(r"return_plan\.steps\[(\d+)\]\.(from|hours_per_week)", field):
        if int(match[1]) < len(step_rows):
            return f"step-{step_rows[int(match[1])]}-{'from' if match[2] == 'from' else 'hours'}"
    if field == "return_plan.full_time_from":
        return "full_time_from"
    root = re.split(r"[.\[]", field)[0]
    return {"note": "minutes_note", "agreements": "agreement-0-what",
            "return_plan": "full_time_from"}.get(root, root)


def parse_minutes(values: dict[str, str], send_to: list[str]
                  ) -> tuple[MinutesIn | None, str | None, dict[str, str]]:
    """The minutes typed on the page (empty rows left out), the held time typed (None: the
    default), or None and a Danish message per wrong field of the page (`agreement-1-who`,
    `step-0-hours`, `full_time_from`, ...), each naming the field and its row ("Aftale 2,
    hvem: vælg en af mulighederne.")."""
    data: dict[str, Any] = {"send_to": send_to,
                            "note": values.get("minutes_note", "").strip(),
                            "retention_plan_requested":
                                values.get("retention_plan_requested") == "ja"}
    errors: dict[str, str] = {}
    agreements, agreement_rows = [], []
    for i in range(AGREEMENT_ROWS):
        row = {part: values.get(f"agreement-{i}-{part}", "").strip()
               for part in ("what", "who", "due")}
        if any(row.values()):
            agreements.append(row)
            agreement_rows.append(i)
            errors |= _row_errors(AgreementIn, row, {part: f"agreement-{i}-{part}"
                                                     for part in AGREEMENT_PARTS})
    data["agreements"] = agreements
    steps, step_rows = [], []
    last: tuple[int, date] | None = None  # the row and day of the last step with a good day
    for i in range(STEP_ROWS):
        start, hours = (values.get(f"step-{i}-from", "").strip(),
                        values.get(f"step-{i}-hours", "").strip())
        if not (start or hours):
            continue
        step = {"from": start, "hours_per_week": _number(hours) if hours else ""}
        steps.append(step)
        step_rows.append(i)
        row_errors = _row_errors(StepIn, step, {"from": f"step-{i}-from",
                                                "hours_per_week": f"step-{i}-hours"})
        errors |= row_errors
        if f"step-{i}-from" not in row_errors:
            day = _DAY.validate_json(json.dumps(start))
            if last is not None and day <= last[1]:
                errors[f"step-{i}-from"] = (f"{PLAN}, trin {i + 1}: skal starte efter trin "
                                            f"{last[0] + 1}.")
            last = (i, day)
    full_time = values.get("full_time_from", "").strip()
    if steps or full_time:
        data["return_plan"] = {"steps": steps, "full_time_from": full_time}
        label = MINUTES_LABELS["full_time_from"]
        try:
            full_day = _DAY.validate_json(json.dumps(full_time)) if full_time else None
        except ValidationError as exc:
            first = validation_errors(exc)[0]
            errors["full_time_from"] = labelled_error("full_time_from", first["code"],
                                                      first["params"], label=label)
        else:
            if full_day is None:
                errors["full_time_from"] = labelled_error("full_time_from", "missing",
                                                          label=label)
            elif last is not None and full_day <= last[1]:
                errors["full_time_from"] = labelled_error(
                    "full_time_from", "full_time_not_after_steps", label=label)
    held_at = values.get("held_at", "").strip() or None
    if errors:  # in the page's order
        return None, held_at, {name: errors[name] for name in MINUTES_FIELDS if name in errors}
    try:
        return MinutesIn.model_validate_json(json.dumps(data)), held_at, {}
    except ValidationError as exc:
        for error in validation_errors(exc):
            name = _page_field(str(error["field"]), agreement_rows, step_rows)
            errors.setdefault(name, labelled_error(
                name, error["code"], error["params"],
                label=MINUTES_LABELS.get(name, "Referatet")))
        return None, held_at, errors


# The minutes' fields as the page names them (a page's errors about them are listed
# together, above the minutes, each also next to its field).
MINUTES_ERRORS = (*MINUTES_FIELDS, "send_to", "agreements", "return_plan")


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
    as missing. A form with `LABELS` names the field in each message ("Timer om ugen: højst
    80.")."""
    labels: Mapping[str, str] = getattr(model, "LABELS", {})
    data = {k: v for k, v in values.items() if v.strip() != ""}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in validation_errors(exc):
            name = str(error["field"] or "form")
            code = _FIELD_WORDS.get(name, error["code"])
            label = labels.get(name)
            errors.setdefault(name, labelled_error(name, code, error["params"], label=label)
                              if label else danish_error(name, code, error["params"]))
        return None, errors
