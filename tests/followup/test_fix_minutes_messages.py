"""The minutes form and the intervention form say what is wrong in Danish, naming the field
and its row, one message per problem; the wrong inputs are marked (aria-invalid) and point at
their message (aria-describedby); what was typed is kept."""

from __future__ import annotations

import re
from datetime import timedelta

from service.clock import SettableClock
from service.followup.forms import InterventionForm, parse_form, parse_minutes
from tests.followup.test_pages import _meeting, clock, staff
from tests.support import Staff

__all__ = ["clock", "staff"]  # the fixtures of the case pages' tests


def _minutes_errors(**values: str) -> dict[str, str]:
    parsed, _, errors = parse_minutes(values, [])
    assert parsed is None
    return errors


def test_an_agreement_row_names_its_row_and_field() -> None:
    assert _minutes_errors(**{"agreement-1-what": "Ring til lægen"}) == {
        "agreement-1-who": "Aftale 2, hvem: vælg en af mulighederne.",
        "agreement-1-due": "Aftale 2, senest: skal udfyldes."}
    assert _minutes_errors(**{"agreement-0-who": "citizen", "agreement-0-due": "2026-12-10"}
                           ) == {"agreement-0-what": "Aftale 1, hvad: skal udfyldes."}
    assert _minutes_errors(**{"agreement-0-what": "x", "agreement-0-who": "citizen",
                              "agreement-0-due": "10-12-2026"}) == {
        "agreement-0-due": "Aftale 1, senest: skriv en dato som ÅÅÅÅ-MM-DD."}


def test_the_return_plan_names_the_step_and_the_real_problem() -> None:
    plan = "Plan tilbage til fuld tid"
    # a step with its day but no hours: the hours are missing, nothing about a date
    assert _minutes_errors(**{"step-0-from": "2026-12-10", "full_time_from": "2027-01-10"}
                           ) == {"step-0-hours": f"{plan}, trin 1, timer om ugen: skal udfyldes."}
    assert _minutes_errors(**{"step-0-from": "2026-12-10", "step-0-hours": "100",
                              "full_time_from": "2027-01-10"}) == {
        "step-0-hours": f"{plan}, trin 1, timer om ugen: højst 80."}
    assert _minutes_errors(**{"step-0-hours": "10", "full_time_from": "2027-01-10"}) == {
        "step-0-from": f"{plan}, trin 1, fra: skal udfyldes."}
    # steps in descending order, the full-time day left empty: both said, as they are
    assert _minutes_errors(**{"step-0-from": "2026-12-20", "step-0-hours": "10",
                              "step-1-from": "2026-12-10", "step-1-hours": "20"}) == {
        "step-1-from": f"{plan}, trin 2: skal starte efter trin 1.",
        "full_time_from": "Fuld tid fra: skal udfyldes."}
    assert _minutes_errors(**{"step-0-from": "2026-12-20", "step-0-hours": "10",
                              "full_time_from": "snart"}) == {
        "full_time_from": "Fuld tid fra: skriv en dato som ÅÅÅÅ-MM-DD."}
    assert _minutes_errors(**{"step-0-from": "2026-12-20", "step-0-hours": "10",
                              "full_time_from": "2026-12-20"}) == {
        "full_time_from": "Fuld tid fra: skal ligge efter planens sidste trin."}


def test_the_intervention_form_names_its_fields() -> None:
    parsed, errors = parse_form(InterventionForm, {"started_on": "", "kind": "ukendt",
                                                   "hours_per_week": "100", "ends_on": "x"})
    assert parsed is None
    assert errors == {"started_on": "Indsatsen startede: skal udfyldes.",
                      "kind": "Slags indsats: vælg en af mulighederne.",
                      "hours_per_week": "Timer om ugen: højst 80.",
                      "ends_on": "Slutter: skriv en dato som ÅÅÅÅ-MM-DD."}
    assert not any("Feltet" in message for message in errors.values())


def _marked(html: str, field_id: str) -> str:
    """The message an input points at, asserting it is marked invalid."""
    tag = re.search(rf'<(?:input|select)[^>]*id="{field_id}"[^>]*>', html)
    assert tag is not None, field_id
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described is not None
    message = re.search(rf'<p class="error" id="{described.group(1).split()[0]}">([^<]*)</p>',
                        html)
    assert message is not None, described.group(1)
    return message.group(1)


async def test_the_page_marks_each_wrong_input(staff: Staff, clock: SettableClock) -> None:
    meeting = await _meeting(staff, "mine-1")
    clock.set(meeting.end + timedelta(minutes=5))
    consultant = await staff.login("consultant")
    today = clock.today()
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome", {
        "place": "workplace", "employer_took_part": "ja",
        "agreement-1-what": "Ring til lederen",
        "step-0-from": (today + timedelta(days=7)).isoformat(), "step-0-hours": "100",
        "full_time_from": (today + timedelta(days=28)).isoformat()})
    assert resp.status == 422, html
    assert _marked(html, "f-agreement-1-who") == "Aftale 2, hvem: vælg en af mulighederne."
    assert _marked(html, "f-agreement-1-due") == "Aftale 2, senest: skal udfyldes."
    assert _marked(html, "f-step-0-hours") == \
        "Plan tilbage til fuld tid, trin 1, timer om ugen: højst 80."
    assert 'aria-invalid="true"' not in re.search(r'<input[^>]*id="f-step-0-from"[^>]*>',
                                                  html).group(0)
    assert 'value="Ring til lederen"' in html and 'value="100"' in html  # typed input kept
    summary = re.search(r'id="minutes-errors".*?</div>', html, flags=re.S)
    assert summary is not None
    assert '<a href="#f-agreement-1-who">Aftale 2, hvem: vælg en af mulighederne.</a>' in \
        summary.group(0)
    assert "ikke gyldig" not in html and "Feltet" not in html

    resp, html = await consultant.post("/my-cases/mine-1/intervention", {
        "started_on": today.isoformat(), "kind": "partial_return", "hours_per_week": "100"})
    assert resp.status == 422
    assert _marked(html, "f-hours_per_week") == "Timer om ugen: højst 80."
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": today.isoformat()})
    assert resp.status == 422
    assert _marked(html, "f-kind") == "Slags indsats: vælg en af mulighederne."
