"""The private talk's Slack buttons ("Holdt", "Ikke holdt", "Borgeren ønsker den ikke
længere"): each registers the talk by the use case the API uses (`PrivateTalks.register`), as
the Slack user's principal, which decides who may. The channel (`service.slack.desk`) finds
the principal and refreshes the case's messages afterwards."""

from __future__ import annotations

from bots.slack.desk import Reply
from service.meetings.private_talk import OUTCOMES, PrivateTalks
from service.platform.auth import Principal
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.slack_replies import in_danish


class TalkActions:
    def __init__(self, talks: PrivateTalks) -> None:
        self.talks = talks

    async def register(self, principal: Principal, case_ref: str, outcome: str) -> Reply:
        if outcome not in OUTCOMES:
            return Reply(False, "Det kunne ikke registreres.")
        try:
            await self.talks.register(case_ref, outcome, principal)
        except (Conflict, Invalid, Forbidden, NotFound) as exc:
            return in_danish(exc)
        return Reply(True)
