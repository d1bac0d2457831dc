"""The Danish words pages, mail and Slack share (service/text): short dates without a stray
dot, every message kind and audit action in words, people instead of 'role:name', who
cancelled a meeting, one list of closing outcomes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bots.email.render import TEMPLATES
from bots.slack.blocks import HEADLINES
from service.followup.forms import CLOSE_TEXT
from service.slack.notices import EPHEMERAL_KIND, HOME_KIND, INTAKE_KIND, UPDATE_KIND
from service.text.case_words import (
    AUDIT_ACTION,
    CANCELLED_BY,
    CLOSE_OUTCOME,
    MESSAGE_KIND,
    actor_in_words,
    cancelled_by,
)
from service.text.danish import short_day


def test_short_dates_cut_only_the_long_month_names() -> None:
    assert short_day(date(2026, 5, 3)) == "3. maj 2026"
    assert short_day("2026-03-10") == "10. mar. 2026"
    assert short_day("2026-06-01T09:00:00+02:00") == "1. jun. 2026"
    assert all("maj." not in short_day(date(2026, 5, day)) for day in range(1, 32))


def test_every_message_kind_the_service_sends_has_danish_words() -> None:
    # (`<kind>.txt`, and `<kind>.sms.txt` for a text message)
    mail = {p.name.partition(".")[0] for p in Path(TEMPLATES).glob("*.txt")
            if not p.name.startswith("_")}
    kinds = mail | set(HEADLINES) | {INTAKE_KIND, UPDATE_KIND, EPHEMERAL_KIND, HOME_KIND,
                                     "slack_fallback"}
    missing = sorted(kinds - set(MESSAGE_KIND))
    assert not missing, missing
    assert MESSAGE_KIND["intervention_missing"] == "Virksomhedsrettet indsats mangler"
    assert all("_" not in text for text in MESSAGE_KIND.values())


def test_audit_actions_in_words() -> None:
    for action in ("task.done", "outbox.retry", "case.search", "case.list", "case.close"):
        assert action in AUDIT_ACTION, action
        assert "." not in AUDIT_ACTION[action]


def test_people_not_roles() -> None:
    assert actor_in_words("intake:visitation") == "visitation (visitationen)"
    assert actor_in_words("consultant:Anna Holm via Slack") == \
        "Anna Holm via Slack (konsulent)"
    assert actor_in_words("system:planner") == "fasthold (planlægningen)"
    assert actor_in_words("employer:arbejdsgiver via link") == \
        "arbejdsgiveren via linket i e-mailen"
    assert actor_in_words("system") == "fasthold"


def test_who_cancelled_a_meeting() -> None:
    assert cancelled_by("sagen er afsluttet") == "aflyst af jobcentret, fordi sagen er lukket"
    assert cancelled_by("planlagt om").startswith("flyttet af jobcentret")
    assert cancelled_by("aflyst af arbejdsgiveren") == "aflyst af arbejdsgiveren"
    for reason, words in CANCELLED_BY.items():
        assert ("arbejdsgiveren" in words) == ("arbejdsgiver" in reason), reason
    assert cancelled_by("noget nyt") == "aflyst af jobcentret: noget nyt"


def test_one_list_of_closing_outcomes() -> None:
    assert CLOSE_TEXT is CLOSE_OUTCOME
    assert CLOSE_OUTCOME["other_municipality"] == "Flyttet til anden kommune"
