"""How a case is shown to staff (API and pages): CPR masked, the decision, owner and meeting."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from service.consultants.choices import WorkplaceRole, holds_workplace_meetings
from service.intake.schemas import mask_cpr
from service.platform.db.engine import as_utc
from service.platform.db.models import Case, Employer, Meeting
from service.text.reasons import decision_reason_in_words


def decision_of(case: Case) -> dict[str, Any]:
    return {
        "status": case.status, "follow_up": case.follow_up,
        "private_talk_first": case.private_talk_first,
        "first_meeting_deadline": case.first_meeting_deadline.isoformat(),
        "intervention_deadline": case.intervention_deadline.isoformat(),
        "reasons": list(case.reasons), "missing": list(case.missing),
        "as_of": case.as_of.isoformat(),
    }


def employer_out(employer: Employer, case: Case | None = None) -> dict[str, Any]:
    """The employer as intake gives it: the shared record's CVR, name and unavailable times,
    with the address and contact of `case` (its own workplace and nearest manager) — or,
    without a case, the company's defaults. `location` is only coordinates that stand for
    the address itself (given, or an exact geocoding), never a town's or postcode's."""
    source: Any = case if case is not None else employer
    address = case.workplace_address if case is not None else employer.address
    lat, lon = (case.workplace_lat, case.workplace_lon) if case is not None else (
        employer.lat, employer.lon)
    precision = case.workplace_precision if case is not None else employer.location_precision
    out: dict[str, Any] = {"cvr": employer.cvr, "name": employer.name, "address": address,
                           "contact_name": source.contact_name,
                           "contact_email": source.contact_email,
                           "contact_phone": source.contact_phone,
                           "unavailable": list(employer.unavailable or [])}
    out["location"] = ({"lat": lat, "lon": lon} if lat is not None and lon is not None
                       and precision in (None, "exact") else None)
    return out


def workplace_out(case: Case) -> dict[str, Any] | None:
    """The case's own workplace on the map: address, coordinates and how precise they are
    (`precision` None: not placed — planned as at the jobcentre)."""
    if case.workplace_address is None and case.workplace_lat is None:
        return None
    placed = case.workplace_lat is not None and case.workplace_lon is not None
    return {"address": case.workplace_address, "lat": case.workplace_lat,
            "lon": case.workplace_lon, "precision": case.workplace_precision if placed else None}


def contact_out(case: Case) -> dict[str, Any] | None:
    """The case's contact person at the employer (the sick employee's nearest manager)."""
    contact = {"name": case.contact_name, "email": case.contact_email,
               "phone": case.contact_phone}
    return contact if any(contact.values()) else None


def meeting_out(meeting: Meeting) -> dict[str, Any]:
    return {
        "status": meeting.status, "kind": meeting.kind,
        "start": meeting.start.isoformat(timespec="minutes"),
        "end": meeting.end.isoformat(timespec="minutes"),
        "consultant_id": meeting.consultant.key, "on_time": meeting.on_time,
        "travel_minutes": meeting.travel_minutes, "alternatives": list(meeting.alternatives),
        "invited_at": as_utc(meeting.invited_at).isoformat() if meeting.invited_at else None,
        "purpose": meeting.purpose or "first_meeting",
    }


# The kinds a follow-up after the first meeting can have (the rules' follow-ups).
FOLLOW_UP_KINDS = ("workplace_meeting", "jobcenter_meeting", "telephone")
# A meeting's purpose (`Meeting.purpose`): the first meeting, or a follow-up after it.
FIRST_MEETING = "first_meeting"
FOLLOW_UP = "follow_up"


def deadline_of(case: Case, meeting: Meeting | None = None) -> date:
    """The day a meeting is on time by: the first meeting's deadline, or a follow-up's due
    date. Without a meeting, the case's next one: after the first meeting was held (a
    follow-up due), its due date."""
    if meeting is None:
        return case.next_follow_up_due or case.first_meeting_deadline
    if meeting.purpose == FOLLOW_UP and case.next_follow_up_due is not None:
        return case.next_follow_up_due
    return case.first_meeting_deadline


def follow_up_overdue(due: date | None, today: date) -> bool:
    """A follow-up is over time once its due day has passed without it held (holding one
    sets the next due date): a meeting still to come after that day does not make it on
    time. (`service.followup.follow_ups.overdue_condition` is its SQL.)"""
    return due is not None and due < today


class FollowUpState(Protocol):
    """What the next follow-up is read from: a `Case`, or a row of these columns of one."""

    @property
    def next_follow_up_due(self) -> date | None: ...

    @property
    def closed_on(self) -> date | None: ...

    @property
    def status(self) -> str: ...

    @property
    def follow_up(self) -> str | None: ...


def follow_up_kind(rules_kind: str, owner: WorkplaceRole | None, today: date,
                   planned_kind: str | None = None) -> str:
    """The next follow-up's kind, for every screen, the register and planning alike: the kind
    of its meeting once one is planned (`planned_kind`); else the rules' — except that a
    workplace meeting is held at the jobcentre while the case's consultant holds no workplace
    meetings (`today`: a caseworker not in the new role, or one whose role begins later), for
    with them it could never be planned at the workplace (planning rule 2)."""
    if planned_kind is not None:
        return planned_kind
    if rules_kind == "workplace_meeting" and owner is not None \
            and not holds_workplace_meetings(owner, today):
        return "jobcenter_meeting"
    return rules_kind


def next_follow_up(case: FollowUpState, *, owner: WorkplaceRole | None, today: date,
                   planned_kind: str | None = None) -> dict[str, Any] | None:
    """Follow-ups until recovery (`service.followup.follow_ups`): `{"due": date, "kind": ...}`
    of an open target case whose first meeting was held, else None. The kind: the rules'
    (telephone while a firm plan for full recovery within 4 weeks holds) as `follow_up_kind`
    says it — `owner` is the case's consultant, `planned_kind` the kind of the follow-up
    meeting planned (proposed or confirmed), if any."""
    if case.next_follow_up_due is None or case.closed_on is not None \
            or case.status != "target" or case.follow_up not in FOLLOW_UP_KINDS:
        return None
    return {"due": case.next_follow_up_due.isoformat(),
            "kind": follow_up_kind(case.follow_up, owner, today, planned_kind)}


def planned_follow_up_kind(meeting: Meeting | None) -> str | None:
    """The kind of a case's active meeting when it is its follow-up meeting (else None)."""
    return meeting.kind if meeting is not None and meeting.purpose == FOLLOW_UP else None


def case_out(case: Case, today: date, meeting: Meeting | None = None, cpr: str | None = None
             ) -> dict[str, Any]:
    """The case for staff; `cpr` is its decrypted CPR number, shown masked."""
    citizen = {"name": case.citizen_name, "email": case.citizen_email,
               "phone": case.citizen_phone, "address": case.citizen_address}
    return {
        "case_id": case.case_ref,
        "facts": case.facts,
        "cpr": mask_cpr(cpr),
        "citizen": citizen if any(citizen.values()) else None,
        "employer": employer_out(case.employer, case) if case.employer else None,
        "workplace": workplace_out(case),
        "contact": contact_out(case),
        "decision": decision_of(case) | {
            "reasons_text": [decision_reason_in_words(r) for r in case.reasons]},
        "owner": {
            "consultant_id": case.owner.key, "name": case.owner.name,
            "reasons": list(case.owner_reasons), "overridden": case.owner_overridden,
        } if case.owner else None,
        # Why nobody owns the case yet (the planner's words), for staff to act on.
        "unassigned_reasons": [] if case.owner else list(case.owner_reasons or []),
        "meeting": meeting_out(meeting) if meeting is not None else None,
        "next_follow_up": next_follow_up(case, owner=case.owner, today=today,
                                         planned_kind=planned_follow_up_kind(meeting)),
        "closed": {"on": case.closed_on.isoformat(), "outcome": case.close_outcome,
                   "note": case.close_note} if case.closed_on is not None else None,
        "erased_at": _instant(case.erased_at),
        "progress": {
            "citizen_called_at": _instant(case.citizen_called_at),
            "employer_called_at": _instant(case.employer_called_at),
            "intervention_started_on": (case.intervention_started_on.isoformat()
                                        if case.intervention_started_on else None),
        },
        "created_at": as_utc(case.created_at).isoformat(),
        "updated_at": as_utc(case.updated_at).isoformat(),
    }


def _instant(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None
