"""The consultant's **next action** on a case, defined once: the one thing to do next, in the
order the model's work goes, and whether it is urgent. My cases and the case page show it
("Næste skridt", bold and counted as "haster" when urgent); the Slack Home tab lists the
cases whose next action is urgent ("Kræver handling") in the same words.

It takes plain values, among them the two signals it builds on — the deadline at risk
(`service.intake.signals`) and the employer's silence (`service.meetings.signals`) — so it
says exactly what those say.

Urgent: a meeting whose time has come and is not registered, an employer to chase, an
employer's decline waiting for the consultant's call (issue 19: "Ring til arbejdsgiveren —
afslag: <reason>, frist <the grace's end>"), any step before the first meeting while the
deadline is at risk, a follow-up due today or earlier, and the workplace-oriented
intervention when its deadline (end of week 13) is at most `INTERVENTION_SOON_DAYS` away.

The states of issues 19 and 20 each have their words here, so every screen (Mine sager, the
case page, the Slack Home tab and case messages) says the same: an invitation held until the
calls (`after_calls`: "Ring til borgeren og arbejdsgiveren, og send så invitationen"), a
pending decline, and after the first meeting the next follow-up ("Opfølgning senest …" for a
meeting, "Ring til borgeren (opfølgning) …" by telephone) with its follow-up meeting's own
steps (agree, await, chase, hold) as before the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from service.intake.views import FOLLOW_UP_KINDS
from service.text.danish import short_date

# The intervention's registration is urgent this close to its deadline (end of week 13).
INTERVENTION_SOON_DAYS = 14


@dataclass(frozen=True)
class NextAction:
    """What to do next on a case: a code (for tests and styling), Danish words, and whether
    it is urgent."""

    code: str
    text: str
    urgent: bool = False


@dataclass(frozen=True)
class CaseWork:
    """What the next action depends on, as plain values (meeting times local wall-clock)."""

    follow_up: str | None
    held: bool  # the first meeting was held
    citizen_called: bool
    employer_called: bool
    intervention_started: bool
    intervention_deadline: date
    meeting_kind: str | None = None  # the active (proposed or confirmed) meeting, if any
    meeting_status: str | None = None
    meeting_start: datetime | None = None
    meeting_invited: bool = False  # its invitation (or the citizen's letter) went out
    unanswered: bool = False  # `meetings.signals.UnansweredRule`: the employer is silent
    at_risk: bool = False  # `intake.signals.deadline_at_risk`
    # `after_calls`: the meeting's employer invitation waits for the consultant's calls
    invitation_held: bool = False
    # a pending employer decline: the reason's words and the day the grace ends (None: none)
    decline_reason: str | None = None
    decline_ends: date | None = None
    # after the first meeting: the next follow-up's due date and kind
    # (`service.intake.views.follow_up_kind`)
    follow_up_due: date | None = None
    follow_up_kind: str | None = None
    closed: bool = False  # the case is closed: nothing is left to do


class _CaseFacts(Protocol):
    """What `case_work` reads of a case (a `Case` row or a page's view of one)."""

    @property
    def closed_on(self) -> date | None: ...
    @property
    def follow_up(self) -> str | None: ...
    @property
    def citizen_called_at(self) -> datetime | None: ...
    @property
    def employer_called_at(self) -> datetime | None: ...
    @property
    def intervention_started_on(self) -> date | None: ...
    @property
    def intervention_deadline(self) -> date: ...
    @property
    def next_follow_up_due(self) -> date | None: ...


class _MeetingFacts(Protocol):
    """What `case_work` reads of the active meeting (`service.followup.my_work.MeetingView`:
    the staff pages' and Slack's view of a meeting row)."""

    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def invited_at(self) -> datetime | None: ...
    @property
    def invitation_held(self) -> bool: ...
    @property
    def decline_pending(self) -> bool: ...
    @property
    def decline_reason(self) -> str: ...
    @property
    def decline_ends(self) -> date | None: ...


def case_work(case: _CaseFacts, meeting: _MeetingFacts | None, *, held: bool,
              unanswered: bool, at_risk: bool, follow_up_kind: str | None) -> CaseWork:
    """`CaseWork` of a case and its active meeting (if any), for every screen alike;
    `follow_up_kind`: its next follow-up's (`service.intake.views.next_follow_up`), if any."""
    pending = meeting is not None and meeting.decline_pending
    follow_up = held and case.follow_up in FOLLOW_UP_KINDS
    return CaseWork(
        follow_up=case.follow_up, held=held,
        citizen_called=case.citizen_called_at is not None,
        employer_called=case.employer_called_at is not None,
        intervention_started=case.intervention_started_on is not None,
        intervention_deadline=case.intervention_deadline,
        meeting_kind=meeting.kind if meeting else None,
        meeting_status=meeting.status if meeting else None,
        meeting_start=meeting.start if meeting else None,
        meeting_invited=meeting is not None and meeting.invited_at is not None,
        unanswered=unanswered, at_risk=at_risk,
        invitation_held=meeting is not None and meeting.invitation_held,
        decline_reason=(meeting.decline_reason or "Andet") if meeting and pending else None,
        decline_ends=meeting.decline_ends if meeting and pending else None,
        follow_up_due=case.next_follow_up_due if follow_up else None,
        follow_up_kind=follow_up_kind if follow_up else None,
        closed=case.closed_on is not None)


def next_action(work: CaseWork, *, today: date, now: datetime) -> NextAction:
    """The one thing to do next (`now`: local wall-clock time, as meetings are stored)."""
    if work.closed:  # follow-ups end with the case (its meetings were cancelled)
        return NextAction("closed", "Ingen – sagen er afsluttet")
    risk = work.at_risk
    # A meeting whose time has come comes first: what happened must be registered (a
    # meeting not held is planned again at once).
    if work.meeting_start is not None and work.meeting_start <= now:
        return NextAction("register_outcome", "Registrér, hvordan samtalen gik", True)
    if work.decline_reason is not None:
        ends = f", frist {short_date(work.decline_ends)}" if work.decline_ends else ""
        return NextAction("call_employer_declined",
                          f"Ring til arbejdsgiveren — afslag: {work.decline_reason}{ends}",
                          True)
    if not work.held:
        if work.invitation_held:
            return NextAction("calls_then_invite", "Ring til borgeren og arbejdsgiveren, og "
                              "send så invitationen", risk)
        if not work.citizen_called:
            return NextAction("call_citizen", "Ring til borgeren", risk)
        if not work.employer_called:
            return NextAction("call_employer", "Ring til arbejdsgiveren", risk)
        meeting = _meeting_step(work, risk)
        if meeting is not None:
            return meeting
        if work.follow_up == "telephone":
            return NextAction("hold_meeting", "Hold den telefoniske opfølgning", risk)
        return NextAction("await_planning", "Afvent et forslag til tidspunkt", risk)
    due = work.follow_up_due
    overdue = due is not None and due <= today
    if overdue and work.follow_up == "telephone":
        return _follow_up(work, due, urgent=True)
    if work.invitation_held:
        return NextAction("calls_then_invite", "Ring til borgeren og arbejdsgiveren, og send "
                          "så invitationen", overdue)
    meeting = _meeting_step(work, overdue)
    if meeting is not None:
        return meeting
    if due is not None and (overdue or work.intervention_started):
        return _follow_up(work, due, urgent=overdue)
    if not work.intervention_started:
        soon = work.intervention_deadline - today <= timedelta(days=INTERVENTION_SOON_DAYS)
        return NextAction("register_intervention",
                          "Registrér start på virksomhedsrettet indsats", soon)
    return NextAction("follow", "Følg sagen; afslut den ved raskmelding")


# A follow-up meeting's kind in the next action's words.
_FOLLOW_UP_MEETING = {"workplace_meeting": "møde på arbejdspladsen",
                      "jobcenter_meeting": "møde i jobcentret"}


def _follow_up(work: CaseWork, due: date, *, urgent: bool) -> NextAction:
    """The next follow-up after the first meeting: a call, or a meeting to be planned."""
    if work.follow_up == "telephone":
        return NextAction("follow_up_call",
                          f"Ring til borgeren (opfølgning) senest {short_date(due)}", urgent)
    kind = _FOLLOW_UP_MEETING.get(work.follow_up_kind or "", "opfølgning")
    return NextAction("follow_up_due", f"Opfølgning senest {short_date(due)}: {kind}", urgent)


def _meeting_step(work: CaseWork, risk: bool) -> NextAction | None:
    """The step an active (first or follow-up) meeting asks for, if any."""
    if work.meeting_kind == "workplace_meeting" and work.meeting_status == "proposed" \
            and work.meeting_invited:
        if work.unanswered:
            return NextAction("chase_employer",
                              "Arbejdsgiveren har ikke svaret: ring og aftal tiden", True)
        return NextAction("await_employer", "Afvent arbejdsgiverens svar", risk)
    if work.meeting_status == "confirmed" or (work.meeting_status is not None
                                              and work.meeting_invited):
        # Confirmed, or a jobcentre meeting whose time the citizen was told.
        return NextAction("hold_meeting", "Hold samtalen", risk)
    if work.meeting_status is not None:
        return NextAction("agree_time", "Aftal tidspunktet med arbejdsgiveren", risk)
    return None
