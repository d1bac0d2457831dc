"""The consultant's registration forms (the same outcomes as the Slack buttons), validated
strictly, with a Danish message per field for the page."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from service.platform.http import text_problem
from service.text.case_words import CLOSE_OUTCOME

MAX_NOTE = 2000

PLACE_TEXT = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
              "phone": "Telefonisk", "not_held": "Samtalen blev ikke holdt"}
CLOSE_TEXT = CLOSE_OUTCOME  # one word list for every page (service/text)
M = TypeVar("M", bound=BaseModel)


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ContactForm(_Form):
    who: Literal["citizen", "employer"]


class OutcomeForm(_Form):
    place: Literal["workplace", "jobcentre", "phone", "not_held"]
    employer_took_part: Literal["ja", "nej"] | None = None

    def took_part(self) -> bool | None:
        return None if self.employer_took_part is None else self.employer_took_part == "ja"


class InterventionForm(_Form):
    started_on: date


class CloseForm(_Form):
    outcome: Literal["recovered", "partly_recovered", "dismissed", "moved", "other"]
    on: date
    note: str = Field(default="", max_length=MAX_NOTE)

    @field_validator("note")
    @classmethod
    def _storable(cls, value: str) -> str:
        problem = text_problem(value)
        if problem:
            raise PydanticCustomError("not_storable", problem)
        return value


# What the page says for each field when its value is wrong or missing.
FIELD_MESSAGES = {
    "who": "Vælg borgeren eller arbejdsgiveren.",
    "place": "Vælg, hvor samtalen blev holdt – eller at den ikke blev holdt.",
    "employer_took_part": "Svar, om arbejdsgiveren deltog.",
    "started_on": "Skriv datoen, indsatsen startede (ÅÅÅÅ-MM-DD).",
    "outcome": "Vælg, hvordan sagen sluttede.",
    "on": "Skriv datoen, sagen sluttede (ÅÅÅÅ-MM-DD).",
    "note": f"Noten må højst være {MAX_NOTE} tegn og kun indeholde almindelig tekst.",
}


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
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, FIELD_MESSAGES.get(name, "Ugyldig værdi."))
        return None, errors
