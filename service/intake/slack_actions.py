"""Intake's Slack actions: "Skift konsulent" in the intake channel — the eligible owners
(`service.consultants.choices`, as the case page offers them), the reasons, and the change by
`IntakeService.override_owner` (the use case tells Slack itself: the intake channel's post
and the new owner get the category only; the note stays on the case)."""

from __future__ import annotations

from bots.slack.desk import Reply
from service.intake.case_reads import CaseReads
from service.intake.schemas import OWNER_REASONS, OwnerOverride
from service.intake.service import IntakeService
from service.platform.auth import Principal
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound
from service.platform.policies import CHOOSE_OWNER
from service.platform.slack_replies import checked, in_danish, max_length_of

ONLY_INTAKE = "Kun visitationen kan skifte konsulent."


class OwnerActions:
    def __init__(self, intake: IntakeService, reads: CaseReads) -> None:
        self.intake = intake
        self.reads = reads

    @staticmethod
    def max_length(field: str) -> int:
        if field != "owner_note":
            raise KeyError(field)
        return max_length_of(OwnerOverride, "reason")

    @staticmethod
    def reasons() -> list[tuple[str, str]]:
        return [(key, words.capitalize()) for key, words in OWNER_REASONS.items()]

    async def choices(self, principal: Principal, case_ref: str
                      ) -> tuple[Reply, list[tuple[str, str]]]:
        if not CHOOSE_OWNER.allows_role(principal):
            return Reply(False, ONLY_INTAKE), []
        if not await self.reads.exists(case_ref):
            return Reply(False, "Sagen findes ikke."), []
        eligible = await self.reads.owner_choices(case_ref)
        return Reply(True), [(c.key, f"{c.name} ({c.cases}/{c.capacity} sager"
                                     f"{' – fuld' if c.full else ''})") for c in eligible]

    async def change(self, principal: Principal, case_ref: str, consultant_id: str,
                     category: str, note: str) -> Reply:
        if not CHOOSE_OWNER.allows_role(principal):
            return Reply(False, ONLY_INTAKE, "consultant")
        refused = checked(OwnerOverride, {"consultant_id": consultant_id, "category": category,
                                          "reason": note},
                          {"consultant_id": "consultant", "category": "category",
                           "reason": "owner_note"})
        if refused is not None:
            return refused
        try:
            await self.intake.override_owner(case_ref, consultant_id, note, principal,
                                             category=category)
        except (Conflict, Invalid, NotFound, Forbidden) as exc:
            return Reply(False, in_danish(exc).text, "consultant")
        return Reply(True)
