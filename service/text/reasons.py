"""The planner's reason codes in words intake staff understand (Danish)."""

from __future__ import annotations

REASON_WORDS = {
    "kept_owner": "beholder sin konsulent (én hånd på bolden)",
    "fixed_employer": "fast konsulent for virksomheden",
    "least_loaded": "laveste belastning",
    "workplace_capable": "holder samtaler på arbejdspladsen",
    "near": "kort transporttid",
    "skill_match": "speciale",
    "late": "mødet ligger efter fristen",
    "no_capacity": "ingen konsulent har plads",
}
SKILL_WORDS = {"mental": "psykisk", "physical": "fysisk",
               "cancer_heart_lung": "kræft, hjerte, lunge", "other": "andet"}


def reason_in_words(code: str) -> str:
    """'skill_match:mental' -> 'speciale: psykisk'; unknown codes are shown as they are."""
    head, _, arg = code.partition(":")
    if head == "skill_match" and arg:
        return f"speciale: {SKILL_WORDS.get(arg, arg)}"
    words = REASON_WORDS.get(head)
    if words is None:
        return code
    return f"{words} ({arg.replace('_', ' ')})" if arg else words
