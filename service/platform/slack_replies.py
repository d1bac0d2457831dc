"""What a Slack button or modal answers, the same for every area's actions: an input checked
as the API checks it (the use case's model, the text rules) with the error's code in Danish
(`service.text.errors`), and a use case's refusal in Danish. The areas' Slack actions
(`service/<area>/slack_actions.py`) answer with these; the channel (`service.slack.desk`)
routes to them."""

from __future__ import annotations

from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel

from bots.slack.desk import Reply
from service.platform.errors import DomainError, Forbidden, Invalid, NotFound
from service.platform.http import parse_model, text_problem
from service.text.errors import danish_error, danish_problem

NOT_YOURS = "Det er ikke din sag."


def max_length_of(model: type[BaseModel], field: str) -> int:
    """A text field's limit in an API model (the one place it is written)."""
    return next(m.max_length for m in model.model_fields[field].metadata
                if isinstance(m, MaxLen))


def checked(model: type[BaseModel], data: dict[str, Any], fields: dict[str, str],
            words: dict[str, str] | None = None) -> Reply | None:
    """`data` checked as the API checks it (the same model, the same text rules): None if it
    passes, else a Reply naming the modal's block with the error's code in Danish.
    `fields`: API field -> modal block; `words`: the modal's own words for a block whatever
    its error (a date picker can only lack a date)."""
    problems: list[tuple[str, str, dict[str, Any]]] = [
        (field, "not_storable", {}) for field, value in data.items()
        if isinstance(value, str) and text_problem(value)]
    if not problems:
        try:
            parse_model(model, data, json_mode=True)
        except Invalid as exc:
            problems = [(str(e.get("field")), str(e.get("code") or "invalid"),
                         dict(e.get("params") or {})) for e in exc.errors]
    for field, code, params in problems:
        block = fields.get(field)
        if block is not None:
            text = (words or {}).get(block) or danish_error(field, code, params)
            return Reply(False, text, block)
    return Reply(False, "Det kunne ikke registreres.") if problems else None


def in_danish(exc: DomainError) -> Reply:
    """A use case's refusal: another's case is "not yours" (as the API's 404 says nothing
    more), anything else in the code's Danish, naming the field when there is one."""
    if isinstance(exc, Forbidden | NotFound):
        return Reply(False, NOT_YOURS)
    field = exc.errors[0]["field"] if isinstance(exc, Invalid) and exc.errors else None
    return Reply(False, danish_problem(exc), field)
