"""The citizen's letter about a meeting says which meeting it is: the first follow-up meeting
(with the right to a private talk before a workplace meeting, rule 10) or the next one after
it (no talk: rule 10 is about the first meeting only)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bots.email.render import EmailRenderer

JOBCENTRE = SimpleNamespace(name="Jobcenter Herning", address="Fonnesbechsgade 2",
                            phone="96281000", privacy_url="https://kommune.example/persondata")


def _letter(kind: str, follow_up: bool) -> tuple[str, str]:
    rendered = EmailRenderer().render(
        "citizen_meeting", jobcentre=JOBCENTRE, citizen="Mads Madsen", kind=kind,
        follow_up=follow_up, when="tirsdag 8. december kl. 10.00-11.00",
        employer_name="Sunds Træ ApS",
        consultant={"name": "Anne Holm", "phone": "12345678", "email": "ah@herning.dk"})
    return rendered.text, rendered.html


@pytest.mark.parametrize("kind", ["workplace_meeting", "jobcenter_meeting"])
def test_the_first_and_the_next_meeting_are_told_apart(kind: str) -> None:
    for part in _letter(kind, follow_up=False):
        assert "Dit første opfølgningsmøde" in part and "næste" not in part
        # Where the municipality tells how it handles personal data (GDPR art. 13)
        assert "Sådan behandler vi personoplysninger" in part
        assert "https://kommune.example/persondata" in part
        assert ("fortrolig samtale" in part) == (kind == "workplace_meeting")
    for part in _letter(kind, follow_up=True):
        assert "Dit næste opfølgningsmøde" in part and "første" not in part
        assert "fortrolig samtale" not in part
