"""The minutes on the consultant's case page (issue 20): the guide as a checklist (from the
configuration), agreements, the plan back to work, a retention plan and the staff-only note
sent with the meeting form; shown on the page afterwards; the consultant's agreement a task
with its due date on "Mine sager"; the intervention's kind asked for."""

from __future__ import annotations

import re
from datetime import timedelta

from service.clock import SettableClock
from service.config import DEFAULT_MEETING_GUIDE
from tests.followup.test_pages import _meeting, clock, staff
from tests.support import Staff

__all__ = ["clock", "staff"]  # the fixtures of the case pages' tests


async def test_minutes_from_the_case_page(staff: Staff, clock: SettableClock) -> None:
    consultant = await staff.login("consultant")
    resp, html = await consultant.get("/my-cases/mine-1")
    assert resp.status == 200
    for topic in DEFAULT_MEETING_GUIDE:
        assert topic in html
    assert 'name="agreement-0-what"' in html and 'form="meeting-form"' in html
    # Repeated labels name their row to a screen reader ("Aftale 2: Hvem", "Trin 1: Fra").
    for field, words in (("agreement-1-who", "Aftale 2: "), ("agreement-2-due", "Aftale 3: "),
                         ("step-0-from", "Trin 1: "), ("step-1-hours", "Trin 2: ")):
        assert re.search(rf'<label for="f-{field}"><span class="visually-hidden">{words}'
                         r'</span>', html), field
    assert "Afkrydsningerne gemmes ikke." in html  # the guide is a checklist, not saved
    meeting = await _meeting(staff, "mine-1")
    clock.set(meeting.end + timedelta(minutes=5))
    consultant = await staff.login("consultant")
    today = clock.today()
    due = (today + timedelta(days=3)).isoformat()
    minutes = {"place": "workplace", "employer_took_part": "ja",
               "agreement-0-what": "Ring til lederen om skånejob", "agreement-0-who": "consultant",
               "agreement-0-due": due,
               "agreement-1-what": "Afprøv 3 timer om dagen", "agreement-1-who": "citizen",
               "agreement-1-due": due,
               "step-0-from": (today + timedelta(days=7)).isoformat(), "step-0-hours": "18,5",
               "full_time_from": (today + timedelta(days=28)).isoformat(),
               "retention_plan_requested": "ja", "minutes_note": "Kun til os"}
    # A wrong row is said in Danish and nothing is registered.
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome",
                                       {**minutes, "step-0-hours": "mange", "guide": ["2", "3"]})
    assert resp.status == 422 and "Referatet kunne ikke gemmes" in html, html
    assert 'value="Ring til lederen om skånejob"' in html  # what was typed is kept
    # ... and the guide's ticks (sent with the form, never stored)
    ticked = re.findall(r'<input type="checkbox" id="guide-(\d+)" name="guide"[^>]*checked', html)
    assert ticked == ["2", "3"]
    assert 'href="#f-step-0-hours"' in html  # the summary at the top links the field
    resp, html = await consultant.post("/my-cases/mine-1/meeting-outcome", minutes)
    assert resp.status == 200 and "registreret som holdt" in html, html
    assert "Ring til lederen om skånejob" in html and "18,5 timer om ugen" in html
    assert "Fuld tid fra" in html and "Kun til os" in html
    _, html = await consultant.get("/my-cases")
    assert "Aftale: Ring til lederen om skånejob" in html and "frist" in html
    # The intervention's kind is asked for; a partial return is one of them.
    resp, html = await consultant.post("/my-cases/mine-1/intervention",
                                       {"started_on": today.isoformat()})
    assert resp.status == 422 and "Slags indsats: vælg en af mulighederne." in html
    # The error and the field's hint are both read with the field.
    assert re.search(r'<select id="f-kind" name="kind"[^>]*aria-describedby="e-kind h-kind"',
                     html)
    resp, html = await consultant.post("/my-cases/mine-1/intervention", {
        "started_on": today.isoformat(), "kind": "partial_return", "hours_per_week": "15"})
    assert resp.status == 200 and "Delvis raskmelding" in html and "15 timer om ugen" in html
