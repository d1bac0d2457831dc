"""The follow-up's Slack buttons and modals: registering the calls, how the meeting went and
the intervention, and closing the case — each by the use case the API and pages use
(`CaseOutcomes`, `CaseClosing`), as the Slack user's principal, which decides who may. The
modals' choices and limits are the use cases' input models'. The channel
(`service.slack.desk`) finds the principal and refreshes the case's messages afterwards."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from bots.slack.desk import Reply
from service.followup.closing import CLOSE_OUTCOMES, CaseClose, CaseClosing
from service.followup.forms import MINUTES_FIELDS, parse_minutes
from service.followup.outcomes import PLACES, CaseOutcomes
from service.platform.auth import Principal
from service.platform.db.models import INTERVENTION_KINDS
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.slack_replies import checked, in_danish, max_length_of
from service.text.case_words import CLOSE_OUTCOME
from service.text.danish import short_date
from service.text.errors import danish_error
from service.text.minutes_words import INTERVENTION_KIND, SEND_TO, WHO

# The meeting modal's words for each place of the use case's input model (`PLACES`).
PLACE_WORDS = {"workplace": "På arbejdspladsen", "jobcentre": "I jobcentret",
               "phone": "Telefonisk", "not_held": "Ikke holdt – der skal findes et nyt tidspunkt"}


def _block_of(field: str) -> str:
    """The meeting modal's block for a field of the minutes as the API names it
    (`agreements[1].due` -> `agreement-1-due`, `return_plan.steps[0].hours_per_week` ->
    `step-0-hours`, `held_at` -> `held_on`) or as the page names it (`agreement-1-due`, as
    `parse_minutes` does); a field the modal has no block for: `place`."""
    if re.fullmatch(r"agreement-\d+-(what|who|due)|step-\d+-(from|hours)|full_time_from",
                    field):
        return field
    if match := re.fullmatch(r"agreements\[(\d+)\]\.(what|who|due)", field):
        return f"agreement-{match[1]}-{match[2]}"
    if match := re.fullmatch(r"return_plan\.steps\[(\d+)\]\.(from|hours_per_week)", field):
        return f"step-{match[1]}-{'from' if match[2] == 'from' else 'hours'}"
    root = re.split(r"[.\[]", field)[0]
    return {"held_at": "held_on", "agreements": "agreement-0-what",
            "return_plan": "full_time_from", "retention_plan_requested":
            "retention_plan_requested", "send_to": "send_to", "place": "place",
            "employer_took_part": "employer_took_part"}.get(root, "place")


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
        if field == "who":
            return list(WHO.items())
        if field == "send_to":
            return list(SEND_TO.items())
        raise KeyError(field)

    @staticmethod
    def max_length(field: str) -> int:
        if field != "note":
            raise KeyError(field)
        return max_length_of(CaseClose, "note")

    async def contact(self, principal: Principal, case_ref: str, who: str) -> Reply:
        return await self._do(lambda: self.outcomes.register_contact(case_ref, who, principal))

    async def meeting_outcome(self, principal: Principal, case_ref: str, place: str,
                              employer_took_part: bool | None, *,
                              minutes: dict[str, str] | None = None,
                              send_to: list[str] | None = None) -> Reply:
        """How the meeting went, with its minutes as the modal's blocks give them (named as
        the case page's fields, `held_on` + `held_time` for its `held_at`): read as the page
        reads them and checked by the same use case; an error names the modal's block."""
        values = {name: (minutes or {}).get(name, "").strip() for name in MINUTES_FIELDS
                  if name != "minutes_note"}  # the note is written on the page, never in Slack
        day, clock = ((minutes or {}).get("held_on", "").strip(),
                      (minutes or {}).get("held_time", "").strip())
        if bool(day) != bool(clock):
            return Reply(False, danish_error("held_at", "date_and_time_both"),
                         "held_time" if day else "held_on")
        values["held_at"] = f"{day}T{clock}" if day else ""
        parsed, held_text, errors = parse_minutes(values, list(send_to or []))
        if errors:
            field, text = next(iter(errors.items()))
            return Reply(False, text, _block_of(field))
        held_at = None
        if held_text is not None:
            try:
                held_at = datetime.fromisoformat(held_text)
            except ValueError:
                return Reply(False, danish_error("held_at", "datetime_from_date_parsing"),
                             "held_on")
        given = parsed if parsed is not None and not parsed.empty() else None
        reply = await self._do(lambda: self.outcomes.register_meeting(
            case_ref, place, None if place == "not_held" else employer_took_part, principal,
            held_at=held_at, minutes=given))
        if reply.ok or reply.field == "employer_took_part":
            return reply
        return Reply(False, reply.text, _block_of(reply.field)) if reply.field else \
            Reply(False, reply.text, "place")

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
        try:
            closed = await self.closing.close(case_ref, outcome, on, note, principal)
        except (Conflict, Invalid, Forbidden, NotFound) as exc:
            return in_danish(exc)
        if closed.again:  # (a stale button: it was accepted as if it had been saved)
            return Reply(False, f"Sagen er allerede afsluttet {short_date(closed.on)} "
                                f"({CLOSE_OUTCOME.get(closed.outcome, 'andet').lower()}); "
                                "intet er ændret.", "outcome")
        return Reply(True)
