"""The consultant's next action, pinned once (`service.followup.signals.next_action`): the
order of the work, what is urgent (a meeting to register, a silent employer, any step while
the deadline is at risk, the intervention near week 13), and a jobcentre meeting the citizen
was summoned to is held, not awaited from the employer."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from service.followup.signals import INTERVENTION_SOON_DAYS, CaseWork, next_action

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 10, 0)
NEW = CaseWork(follow_up="workplace_meeting", held=False, citizen_called=False,
               employer_called=False, intervention_started=False,
               intervention_deadline=TODAY + timedelta(days=60))
CALLED = replace(NEW, citizen_called=True, employer_called=True)
INVITED = replace(CALLED, meeting_kind="workplace_meeting", meeting_status="proposed",
                  meeting_start=NOW + timedelta(days=3), meeting_invited=True)


def act(work: CaseWork) -> tuple[str, bool]:
    action = next_action(work, today=TODAY, now=NOW)
    return action.code, action.urgent


def test_the_order_of_the_work() -> None:
    assert act(NEW) == ("call_citizen", False)
    assert act(replace(NEW, citizen_called=True)) == ("call_employer", False)
    assert act(CALLED) == ("await_planning", False)
    assert act(replace(CALLED, follow_up="telephone")) == ("hold_meeting", False)
    assert act(replace(INVITED, meeting_invited=False)) == ("agree_time", False)
    assert act(INVITED) == ("await_employer", False)
    assert act(replace(INVITED, unanswered=True)) == ("chase_employer", True)
    assert act(replace(INVITED, meeting_status="confirmed")) == ("hold_meeting", False)
    # A meeting whose time has come: register how it went, whatever else is open.
    begun = replace(INVITED, citizen_called=False, meeting_start=NOW - timedelta(minutes=5))
    assert act(begun) == ("register_outcome", True)
    held = replace(CALLED, held=True)
    assert act(held) == ("register_intervention", False)
    assert act(replace(held, intervention_deadline=TODAY + timedelta(
        days=INTERVENTION_SOON_DAYS))) == ("register_intervention", True)
    assert act(replace(held, intervention_started=True)) == ("follow", False)


def test_a_jobcentre_meeting_is_not_awaited_from_the_employer() -> None:
    """The citizen is told the time of a jobcentre meeting; the employer answers nothing, so
    the consultant is never sent to chase them (my cases did, after 2 working days)."""
    summoned = replace(INVITED, meeting_kind="jobcenter_meeting", follow_up="jobcenter_meeting")
    assert act(summoned) == ("hold_meeting", False)


def test_urgent_while_the_deadline_is_at_risk() -> None:
    for work in (NEW, CALLED, INVITED, replace(INVITED, meeting_invited=False)):
        code, urgent = act(replace(work, at_risk=True))
        assert urgent, code
