"""A use case's input checked by its input model: the same model the API parses requests
with, and the pages and Slack read their limits and choices from."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from rules.facts import validation_errors
from service.platform.errors import Invalid

M = TypeVar("M", bound=BaseModel)

# A local wall-clock minute as staff give a meeting's time: `YYYY-MM-DDTHH:MM` — no seconds,
# no UTC offset (the API's schemas take it by this pattern, the pages by `local_minute`).
LOCAL_MINUTE_PATTERN = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                        r"T([01][0-9]|2[0-3]):[0-5][0-9]$")
_LOCAL_MINUTE = re.compile(LOCAL_MINUTE_PATTERN)


def local_minute(text: str, field: str = "start") -> datetime:
    """`text` as a local minute (`YYYY-MM-DDTHH:MM`, a day that exists); anything else an
    `Invalid` naming `field`."""
    if not _LOCAL_MINUTE.match(text):
        raise Invalid.field(field, "must be a local time YYYY-MM-DDTHH:MM", "time_not_real")
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # 2027-02-30T09:00
        raise Invalid.field(field, "is not a real time", "time_not_real") from None


def validated(model: type[M], data: dict[str, Any]) -> M:
    """`data` (Python values: a `date` for a date) as `model` takes it; each problem an
    `Invalid` naming the field, as the API words it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None


def validated_json(model: type[M], data: Any) -> M:
    """`data` (JSON values: a date written as text) as `model` takes it in JSON mode (a strict
    model then takes dates as strings); each problem an `Invalid` naming the field."""
    try:
        try:
            text = orjson.dumps(data)
        except TypeError:  # an integer beyond 64 bits: the model names the field
            text = json.dumps(data).encode("utf-8")
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge recursively, null removes a member."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Characters no name, address or phone number has, and that break the mail they go into
# (headers refuse line breaks; a body or a calendar line would be cut): control characters
# (Cc: CR, LF, TAB, NUL, NEL, …), the Unicode line and paragraph separators (U+2028, U+2029),
# and the bidirectional overrides and isolates that make text display other than it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ONE_LINE_MESSAGE = "must not contain line breaks or control characters"


def one_line_problem(text: str) -> str | None:
    """Why `text` cannot be one line of a mail (a name, an address, a phone number), or None.
    The one rule for such fields on every channel: the API, the new-case form, the CSV
    import."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs") or char in _BIDI_CONTROLS:
            return f"{ONE_LINE_MESSAGE} (found U+{ord(char):04X})"
    return None
