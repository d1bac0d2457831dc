"""The follow-up's Slack buttons and modals: registering the calls, how the meeting went and
the intervention, and closing the case — each by the use case the API and pages use
(`CaseOutcomes`, `CaseClosing`), as the Slack user's principal, which decides who may. The
modals' choices and limits are the use cases' input models'. The channel
(`service.slack.desk`) finds the principal and refreshes the case's messages afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from bots.slack.desk import Reply
from service.followup.closing import CLOSE_OUTCOMES, CaseClose, CaseClosing
from service.followup.outcomes import PLACES, CaseOutcomes
from service.platform.auth import Principal
from service.platform.db.models import INTERVENTION_KINDS
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.slack_replies import checked, in_danish, max_length_of
from service.text.case_words import CLOSE_OUTCOME
from service.text.minutes_words import INTERVENTION_KIND

# The meeting modal's words for each place of the use case's input model (`PLACES`).
PLACE_WORDS = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
               "phone": "Telefonisk", "not_held": "Ikke holdt – der skal findes et nyt tidspunkt"}


class FollowupActions:
    def __init__(self, outcomes: CaseOutcomes, closing: CaseClosing) -> None:
        self.outcomes = outcomes
        self.closing = closing

    @staticmethod
    async def _do(action: Callable[[], Awaitable[Any]]) -> Reply:
        """The use case's result is all the answer needs: nothing of the case is read."""
        try:
            await action()
        except (Conflict, Invalid, Forbidden, NotFound) as exc:
            return in_danish(exc)
        return Reply(True)

    def choices(self, field: str) -> list[tuple[str, str]]:
        if field == "place":
            return [(place, PLACE_WORDS[place]) for place in PLACES]
        if field == "outcome":
            return [(outcome, CLOSE_OUTCOME[outcome]) for outcome in CLOSE_OUTCOMES]
        if field == "kind":
            return [(kind, INTERVENTION_KIND[kind]) for kind in INTERVENTION_KINDS]
        raise KeyError(field)

    @staticmethod
    def max_length(field: str) -> int:
        if field != "note":
            raise KeyError(field)
        return max_length_of(CaseClose, "note")

    async def contact(self, principal: Principal, case_ref: str, who: str) -> Reply:
        return await self._do(lambda: self.outcomes.register_contact(case_ref, who, principal))

    async def meeting_outcome(self, principal: Principal, case_ref: str, place: str,
                              employer_took_part: bool | None) -> Reply:
        reply = await self._do(lambda: self.outcomes.register_meeting(
            case_ref, place, None if place == "not_held" else employer_took_part, principal))
        if reply.ok or reply.field == "employer_took_part":
            return reply
        return reply if reply.field else Reply(False, reply.text, "place")

    async def intervention(self, principal: Principal, case_ref: str, started_on: date,
                           kind: str = "other") -> Reply:
        reply = await self._do(lambda: self.outcomes.register_intervention(
            case_ref, started_on, principal, kind=kind))
        return reply if reply.ok or reply.field != "kind" else Reply(False, reply.text, "kind")

    async def close(self, principal: Principal, case_ref: str, outcome: str, on: date,
                    note: str) -> Reply:
        refused = checked(CaseClose, {"outcome": outcome, "on": on.isoformat(), "note": note},
                          {"outcome": "outcome", "on": "on", "note": "note"},
                          {"on": "Vælg en dato."})
        if refused is not None:
            return refused
        return await self._do(lambda: self.closing.close(case_ref, outcome, on, note,
                                                         principal))
