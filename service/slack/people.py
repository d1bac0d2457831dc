"""Who a Slack user is in fasthold: a consultant (their `slack_user_id`, as the database has
it: `set_consultants` is told of every change) or intake staff / a manager
(`[[slack.staff]]`). Anyone else is nobody here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from service.config import MunicipalityConfig
from service.platform.auth import Principal


class ConsultantEntry(Protocol):
    """A consultant as Slack needs them (`service.consultants.service.DirectoryEntry`)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def slack_user_id(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class _Seeded:
    key: str
    name: str
    slack_user_id: str | None
    active: bool = True


class SlackPeople:
    def __init__(self, config: MunicipalityConfig) -> None:
        self.config = config
        self._principals: dict[str, Principal] = {}
        self._names: dict[str, str] = {}
        self._slack_of: dict[str, str] = {}
        # Until the database is read: the configuration's consultants (its seed).
        self.set_consultants(_Seeded(c.id, c.name, c.slack_user_id)
                             for c in config.consultants)

    def set_consultants(self, consultants: Iterable[ConsultantEntry]) -> None:
        """Who is who from now on: the active consultants with a Slack user, and the staff."""
        municipality = self.config.municipality.id
        principals: dict[str, Principal] = {}
        names: dict[str, str] = {}
        slack_of: dict[str, str] = {}
        for consultant in consultants:
            if consultant.slack_user_id and consultant.active:
                principals[consultant.slack_user_id] = Principal(
                    key_id=0, name=f"{consultant.name} via Slack", role="consultant",
                    municipality_id=municipality, consultant_key=consultant.key)
                names[consultant.slack_user_id] = consultant.name
                slack_of[consultant.key] = consultant.slack_user_id
        for staff in self.config.slack.staff:
            principals[staff.slack_user_id] = Principal(
                key_id=0, name=f"{staff.name} via Slack", role=staff.role,
                municipality_id=municipality)
            names[staff.slack_user_id] = staff.name
        self._principals, self._names, self._slack_of = principals, names, slack_of

    def principal(self, user_id: str) -> Principal | None:
        return self._principals.get(user_id)

    def name(self, user_id: str) -> str:
        return self._names.get(user_id, user_id)

    def slack_id_of(self, consultant_key: str | None) -> str | None:
        """The consultant's Slack user id, if they have one."""
        return self._slack_of.get(consultant_key or "")

    def consultants(self) -> dict[str, str]:
        """Consultant id -> Slack user id, for everyone who has one."""
        return dict(self._slack_of)
