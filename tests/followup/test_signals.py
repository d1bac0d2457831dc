"""The consultant's next action, pinned once (`service.followup.signals.next_action`): the
order of the work, what is urgent (a meeting to register, a silent employer, any step while
the deadline is at risk, the intervention near week 13), and a jobcentre meeting the citizen
was summoned to is held, not awaited from the employer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from service.followup.follow_ups import follow_up_kind, follow_up_overdue
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


def test_a_closed_case_has_nothing_left_to_do() -> None:
    """Whatever else is open: closing ends the follow-ups and cancels the meetings."""
    for work in (NEW, INVITED, replace(INVITED, meeting_start=NOW - timedelta(minutes=5)),
                 replace(CALLED, held=True, follow_up_due=TODAY - timedelta(days=3),
                         follow_up_kind="workplace_meeting")):
        assert act(replace(work, closed=True)) == ("closed", False)


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


def words(work: CaseWork, today: date = TODAY) -> tuple[str, str, bool]:
    action = next_action(work, today=today, now=NOW)
    return action.code, action.text, action.urgent


def test_an_invitation_held_until_the_calls() -> None:
    """`after_calls`: the proposal is planned, its invitation waits for the consultant's
    calls — the step is the calls and then the invitation, not "agree the time"."""
    held = replace(NEW, meeting_kind="workplace_meeting", meeting_status="proposed",
                   meeting_start=NOW + timedelta(days=5), invitation_held=True)
    assert words(held) == ("calls_then_invite", "Ring til borgeren og arbejdsgiveren, og send "
                           "så invitationen", False)
    assert words(replace(held, at_risk=True))[2]


def test_a_pending_decline_is_the_call_to_the_employer() -> None:
    """An employer's decline within the grace: call them, with the reason and the day the
    case moves to the jobcentre — urgent, before anything but a meeting to register."""
    declined = replace(INVITED, decline_reason="Ingen egnede lokaler",
                       decline_ends=date(2026, 12, 2))
    assert words(declined) == ("call_employer_declined", "Ring til arbejdsgiveren — afslag: "
                               "Ingen egnede lokaler, frist 2. december", True)
    # Also for a follow-up meeting the employer declined.
    assert words(replace(declined, held=True))[0] == "call_employer_declined"


def test_follow_ups_after_the_first_meeting() -> None:
    """After the first meeting the next follow-up is the step: its date and kind; a
    telephone follow-up due (or overdue) is urgent and comes before the intervention."""
    held = replace(CALLED, held=True, intervention_started=True,
                   follow_up_due=TODAY + timedelta(days=20), follow_up_kind="workplace_meeting")
    assert words(held) == ("follow_up_due", "Opfølgning senest 21. december: møde på "
                           "arbejdspladsen", False)
    # The kind is the next follow-up's (`follow_up_kind`): at the jobcentre when the rules
    # say so, or when the case's consultant holds no workplace meetings yet.
    assert words(replace(held, follow_up_kind="jobcenter_meeting"))[1].endswith(
        "møde i jobcentret")
    phone = replace(held, follow_up="telephone", follow_up_kind="telephone")
    assert words(phone) == ("follow_up_call", "Ring til borgeren (opfølgning) senest "
                            "21. december", False)
    due = replace(phone, follow_up_due=TODAY, intervention_started=False)
    assert words(due) == ("follow_up_call", "Ring til borgeren (opfølgning) senest "
                          "1. december", True)
    # A meeting follow-up overdue and not yet planned: urgent too.
    assert words(replace(held, follow_up_due=TODAY - timedelta(days=1)))[::2] == (
        "follow_up_due", True)
    # The intervention not registered comes before a follow-up weeks away.
    assert words(replace(held, intervention_started=False))[0] == "register_intervention"
    # A follow-up meeting planned: its own steps, as before the first meeting.
    planned = replace(held, meeting_kind="workplace_meeting", meeting_status="proposed",
                      meeting_start=NOW + timedelta(days=9), meeting_invited=True)
    assert words(planned)[0] == "await_employer"
    assert words(replace(planned, unanswered=True))[0] == "chase_employer"
    assert words(replace(planned, meeting_status="confirmed"))[0] == "hold_meeting"
    assert words(replace(planned, meeting_invited=False, invitation_held=True))[0] == \
        "calls_then_invite"
    assert words(replace(planned, meeting_start=NOW - timedelta(minutes=1)))[0] == \
        "register_outcome"


def test_a_follow_up_is_over_time_the_day_after_it_was_due() -> None:
    due = date(2027, 1, 11)
    assert not follow_up_overdue(due, due)
    assert follow_up_overdue(due, due + timedelta(days=1))
    assert not follow_up_overdue(None, due)


@dataclass
class _Role:
    workplace_meetings: bool
    workplace_meetings_from: date | None = None


def test_the_next_follow_up_s_kind_is_one_rule() -> None:
    """The planned follow-up meeting's kind once there is one; else the rules' — but at the
    jobcentre while the case's consultant holds no workplace meetings (planning's rule: with
    them it could never be planned at the workplace)."""
    in_role, caseworker = _Role(True), _Role(False)
    later = _Role(True, TODAY + timedelta(days=10))
    assert follow_up_kind("workplace_meeting", in_role, TODAY) == "workplace_meeting"
    assert follow_up_kind("workplace_meeting", caseworker, TODAY) == "jobcenter_meeting"
    assert follow_up_kind("workplace_meeting", later, TODAY) == "jobcenter_meeting"
    assert follow_up_kind("workplace_meeting", later, TODAY + timedelta(days=10)) == \
        "workplace_meeting"
    assert follow_up_kind("workplace_meeting", None, TODAY) == "workplace_meeting"
    assert follow_up_kind("telephone", caseworker, TODAY) == "telephone"
    assert follow_up_kind("jobcenter_meeting", in_role, TODAY) == "jobcenter_meeting"
    assert follow_up_kind("workplace_meeting", caseworker, TODAY,
                          planned_kind="workplace_meeting") == "workplace_meeting"
