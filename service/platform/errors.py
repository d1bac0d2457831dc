"""Domain errors: what a use case says went wrong, in words that fit every caller.

Use cases raise these; the HTTP middleware maps them to status codes (404, 422, 409, 403),
a Slack action or a CLI command to its own way of telling the person.

Each error (and each field error of `Invalid`) carries a stable `code` and its `params`
besides the English `message` the API shows: a page, the CSV import and Slack turn
(field, code, params) into Danish in one place (`service.text.errors`), so rewording a
message can never change what a Danish screen says. Params are plain JSON values (str, int,
float, bool) and never the input itself (it may be a CPR number or health text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A field error: {"field": ..., "message": English, "code": stable, "params": {...}}.
FieldError = dict[str, Any]


def field_error(field: str, message: str, code: str = "invalid",
                params: Mapping[str, Any] | None = None) -> FieldError:
    """One field's error, with its code and params."""
    return {"field": field, "message": message, "code": code, "params": dict(params or {})}


class DomainError(Exception):
    """Base of the errors a use case raises on purpose."""

    default_code = "error"

    def __init__(self, message: str, code: str | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params: dict[str, Any] = dict(params or {})


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    default_code = "not_found"


class Invalid(DomainError):
    """Input that breaks a rule; `errors` names each field, what is wrong with it (English),
    its code and params."""

    default_code = "invalid"

    def __init__(self, errors: list[FieldError], message: str = "invalid input") -> None:
        super().__init__(message)
        self.errors: list[FieldError] = [
            field_error(e["field"], e["message"], e.get("code") or "invalid", e.get("params"))
            for e in errors]

    @classmethod
    def field(cls, field: str, message: str, code: str = "invalid",
              params: Mapping[str, Any] | None = None) -> Invalid:
        return cls([field_error(field, message, code, params)])


class Conflict(DomainError):
    """The request clashes with the current state (changed meanwhile, already taken, …)."""

    default_code = "conflict"


class Forbidden(DomainError):
    """The caller may not do this."""

    default_code = "forbidden"
