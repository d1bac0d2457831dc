"""A use case's input checked by its input model: the same model the API parses requests
with, and the pages and Slack read their limits and choices from."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rules.facts import validation_errors
from service.platform.errors import Invalid

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """`data` (Python values: a `date` for a date) as `model` takes it; each problem an
    `Invalid` naming the field, as the API words it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None
