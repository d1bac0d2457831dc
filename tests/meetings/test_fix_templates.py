"""Every e-mail template renders a one-line subject and a body that starts with the greeting,
whatever branch its block tags take (trim_blocks eats the newline after a block tag that ends
a line: a Subject line ending in `{% endif %}` once swallowed the greeting)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bots.email.render import TEMPLATES, EmailRenderer
from service.text.danish import FILTERS, GLOBALS

JOBCENTRE = SimpleNamespace(name="Jobcenter Herning", address="Fonnesbechsgade 2",
                            phone="96281000", privacy_url="https://kommune.example/persondata")

# Every name any template uses, with a representative value.
CONTEXT: dict[str, Any] = {
    "jobcentre": JOBCENTRE, "citizen": "Hansen, Kim", "contact": "Berg, Lone",
    "consultant": {"name": "Anne Holm", "phone": "12345678", "email": "ah@herning.dk"},
    "employee": "Kim Hansen", "about": "Kim Hansen",
    "about_sick": "jeres sygemeldte medarbejder Kim Hansen", "employer_name": "Sunds Træ ApS",
    "address": "Fabriksvej 3, 7451 Sunds", "kind": "workplace_meeting", "follow_up": False,
    "when": "tirsdag 8. december kl. 10.00-11.00", "day": "i morgen", "time": "10.00",
    "minutes": 60, "link": "https://fasthold.example/m/abc", "proposed": "tirsdag 8. december",
    "alternatives": ["onsdag 9. december"], "expires": "1. januar", "reason": "mødet er flyttet",
    "follows": True, "cause": None, "was_confirmed": False, "calendar": False, "grace": False,
    "confirmed": False, "moved_from": "", "workplace": True, "wished": False, "letter": False,
}

# The branches a template's subject or first lines take.
VARIANTS: list[dict[str, Any]] = [
    {}, {"grace": True}, {"confirmed": True}, {"moved_from": "mandag 7. december"},
    {"cause": "case_closed"}, {"cause": "moved"}, {"cause": "employer_declined"},
    {"was_confirmed": True, "calendar": True}, {"kind": "private_talk"},
    {"kind": "jobcenter_meeting", "follow_up": True},
]

NAMES = sorted(p.name.removesuffix(".txt") for p in Path(TEMPLATES).glob("*.txt")
               if not p.name.startswith("_") and not p.name.endswith(".sms.txt"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_subject_is_one_line_and_the_body_starts_with_the_greeting(
        name: str, variant: dict[str, Any]) -> None:
    rendered = EmailRenderer(FILTERS, GLOBALS).render(name, **(CONTEXT | variant))
    assert "Kære" not in rendered.subject and "\n" not in rendered.subject
    assert rendered.subject and not rendered.subject.endswith(" ")
    assert rendered.text.startswith("Kære "), rendered.text[:200]
    assert "Kære " in rendered.html


@pytest.mark.parametrize("moved_from", ["", "mandag 7. december kl. 9.00-9.30"])
def test_the_private_talks_time_stands_on_its_own_line(moved_from: str) -> None:
    """The opening sentence is chosen by a block tag at the end of its line: the blank line
    before the indented time is kept."""
    text = EmailRenderer(FILTERS, GLOBALS).render(
        "citizen_private_talk", **(CONTEXT | {"moved_from": moved_from})).text
    assert f":\n\n  {CONTEXT['when']}\n" in text
