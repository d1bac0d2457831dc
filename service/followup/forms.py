"""The consultant's registration forms (the same outcomes as the Slack buttons), validated
strictly, with a Danish message per field for the page."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rules.facts import validation_errors
from service.followup.closing import CaseClose
from service.followup.outcomes import ContactIn, InterventionIn, Place
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


# The page's words for a field whatever went wrong with it (a missing choice is as wrong as
# an unknown one); other fields' errors are said by their code (`service.text.errors`).
_FIELD_WORDS = {"who": "not_one_of", "place": "not_one_of", "outcome": "not_one_of",
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
