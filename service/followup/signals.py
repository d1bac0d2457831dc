"""The consultant's **next action** on a case, defined once: the one thing to do next, in the
order the model's work goes, and whether it is urgent. My cases and the case page show it
("Næste skridt", bold and counted as "haster" when urgent); the Slack Home tab lists the
cases whose next action is urgent ("Kræver handling") in the same words.

It takes plain values, among them the two signals it builds on — the deadline at risk
(`service.intake.signals`) and the employer's silence (`service.meetings.signals`) — so it
says exactly what those say.

Urgent: a meeting whose time has come and is not registered, an employer to chase, any step
before the first meeting while the deadline is at risk, and the workplace-oriented
intervention when its deadline (end of week 13) is at most `INTERVENTION_SOON_DAYS` away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

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


class _CaseFacts(Protocol):
    """What `case_work` reads of a case (a `Case` row or a page's view of one)."""

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


class _MeetingFacts(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def invited_at(self) -> datetime | None: ...


def case_work(case: _CaseFacts, meeting: _MeetingFacts | None, *, held: bool,
              unanswered: bool, at_risk: bool) -> CaseWork:
    """`CaseWork` of a case and its active meeting (if any), for every screen alike."""
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
        unanswered=unanswered, at_risk=at_risk)


def next_action(work: CaseWork, *, today: date, now: datetime) -> NextAction:
    """The one thing to do next (`now`: local wall-clock time, as meetings are stored)."""
    risk = work.at_risk
    if not work.held:
        # A meeting whose time has come comes first: what happened must be registered (a
        # meeting not held is planned again at once).
        if work.meeting_start is not None and work.meeting_start <= now:
            return NextAction("register_outcome", "Registrér, hvordan samtalen gik", True)
        if not work.citizen_called:
            return NextAction("call_citizen", "Ring til borgeren", risk)
        if not work.employer_called:
            return NextAction("call_employer", "Ring til arbejdsgiveren", risk)
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
        if work.follow_up == "telephone":
            return NextAction("hold_meeting", "Hold den telefoniske opfølgning", risk)
        return NextAction("await_planning", "Afvent et forslag til tidspunkt", risk)
    if not work.intervention_started:
        soon = work.intervention_deadline - today <= timedelta(days=INTERVENTION_SOON_DAYS)
        return NextAction("register_intervention",
                          "Registrér start på virksomhedsrettet indsats", soon)
    return NextAction("follow", "Følg sagen; afslut den ved raskmelding")
