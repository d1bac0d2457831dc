"""Who a Slack user is in fasthold: a consultant (their `slack_user_id` in the
configuration) or intake staff / a manager (`[[slack.staff]]`). Anyone else is nobody here."""

from __future__ import annotations

from service.config import MunicipalityConfig
from service.platform.auth import Principal


class SlackPeople:
    def __init__(self, config: MunicipalityConfig) -> None:
        municipality = config.municipality.id
        self._principals: dict[str, Principal] = {}
        self._names: dict[str, str] = {}
        self._slack_of: dict[str, str] = {}
        for consultant in config.consultants:
            if consultant.slack_user_id:
                self._principals[consultant.slack_user_id] = Principal(
                    key_id=0, name=f"{consultant.name} via Slack", role="consultant",
                    municipality_id=municipality, consultant_key=consultant.id)
                self._names[consultant.slack_user_id] = consultant.name
                self._slack_of[consultant.id] = consultant.slack_user_id
        for staff in config.slack.staff:
            self._principals[staff.slack_user_id] = Principal(
                key_id=0, name=f"{staff.name} via Slack", role=staff.role,
                municipality_id=municipality)
            self._names[staff.slack_user_id] = staff.name

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
