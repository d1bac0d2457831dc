"""Domain errors: what a use case says went wrong, in words that fit every caller.

Use cases raise these; the HTTP middleware maps them to status codes (404, 422, 409, 403),
a Slack action or a CLI command to its own way of telling the person.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a use case raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Invalid(DomainError):
    """Input that breaks a rule; `errors` names each field and what is wrong with it."""

    def __init__(self, errors: list[dict[str, str]], message: str = "invalid input") -> None:
        super().__init__(message)
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls([{"field": field, "message": message}])


class Conflict(DomainError):
    """The request clashes with the current state (changed meanwhile, already taken, …)."""


class Forbidden(DomainError):
    """The caller may not do this."""
