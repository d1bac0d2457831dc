"""The employer's fixed reasons for "kan ikke holdes på arbejdspladsen" (issue 19 item 5): key
-> the words shown on their page, told to the consultant (Slack too) and counted. Their own
words beside a reason stay in fasthold (staff only). The words name no illness: Slack is told
them (the privacy scan refuses health words there)."""

from __future__ import annotations

from typing import Literal, get_args

DeclineReason = Literal["no_rooms", "no_sickness_talk", "employee_unwilling", "other"]
DECLINE_REASONS: dict[str, str] = {
    "no_rooms": "Ingen egnede lokaler",
    "no_sickness_talk": "Vil ikke have møder om sygefravær på arbejdspladsen",
    "employee_unwilling": "Medarbejderen ønsker det ikke",
    "other": "Andet",
}
assert tuple(DECLINE_REASONS) == get_args(DeclineReason)
