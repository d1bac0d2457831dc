"""What an access request hands over (the CPR number travels in a POST body only), as JSON
and as the printable page: per case the citizen's details, the facts, the decisions, the
meetings with their minutes, the interventions, the messages sent, the consultant's tasks and
the look-ups of the case (when, by which role, what — not who: the staff member's name is the
municipality's to give or withhold). Danish words beside each code, as the pages show them."""

from __future__ import annotations

from pydantic import BaseModel


class AccessLabelledValue(BaseModel):
    label: str
    value: str


class AccessDecisionOut(BaseModel):
    at: str
    trigger: str
    status_before: str | None
    status_after: str
    changed_facts: list[str]
    reasons: list[str]


class AccessMeetingOut(BaseModel):
    kind: str
    purpose: str
    status: str
    start: str
    end: str
    consultant: str | None
    place: str | None
    employer_took_part: bool | None
    employer_answer: str | None
    held_at: str | None
    agreements: list[AccessLabelledValue]
    return_plan: list[AccessLabelledValue]
    retention_plan_requested: bool | None
    minutes_note: str | None
    decline_reason: str | None
    decline_note: str | None
    cancel_reason: str | None


class AccessInterventionOut(BaseModel):
    kind: str
    started_on: str
    ends_on: str | None
    hours_per_week: float | None


class AccessMessageOut(BaseModel):
    created_at: str
    channel: str
    kind: str
    recipient: str
    subject: str
    status: str
    sent_at: str | None
    body_text: str


class AccessTaskOut(BaseModel):
    created_at: str
    text: str
    due_on: str | None
    done_at: str | None


class AccessLookupOut(BaseModel):
    at: str
    role: str
    action: str


class AccessCaseReportOut(BaseModel):
    case_id: str
    registered_at: str
    status: str
    follow_up: str | None
    first_meeting_deadline: str
    intervention_deadline: str
    reasons: list[str]
    consultant: str | None
    employer: str | None
    citizen: list[AccessLabelledValue]
    workplace: list[AccessLabelledValue]
    facts: list[AccessLabelledValue]
    closed_on: str | None
    close_outcome: str | None
    close_note: str | None
    decisions: list[AccessDecisionOut]
    meetings: list[AccessMeetingOut]
    interventions: list[AccessInterventionOut]
    messages: list[AccessMessageOut]
    tasks: list[AccessTaskOut]
    lookups: list[AccessLookupOut]


class AccessAboutOut(BaseModel):
    heading: str
    text: str


class AccessReportOut(BaseModel):
    made_at: str
    municipality: str
    cpr: str
    cases: list[AccessCaseReportOut]
    about: list[AccessAboutOut]
