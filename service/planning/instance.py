"""Build a planning instance (the planning contract's JSON shape) from the database.

Consultants and their calendars, caseloads, fixed employers and teams, existing owners
(kept), confirmed meetings (pinned), invitations already sent (the contract's `proposal`: kept
unless impossible or moving it makes a meeting on time, rule 11), employers' known unavailable
times and the preferences an employer gave when asking for other times.

A proposal the employer declined is pinned like a confirmed meeting while the decline waits
for the consultant's call (`service.meetings.declines`, the grace period): the decline, its
reason, the owner's task and the restore button belong to that meeting, and the employer was
told the consultant will call about it — so the planner never moves it meanwhile (not even
when its time became impossible: the grace is short, and it ends by a restore — after which
rule 11 applies again — or by the move to a jobcentre meeting).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import MunicipalityConfig
from service.consultants.caseload import caseloads
from service.consultants.choices import holds_workplace_meetings
from service.followup.follow_ups import follow_up_kind, follow_up_to_plan
from service.meetings.booking import DECLINED
from service.meetings.declines import pending_decline
from service.meetings.talk_kinds import KEPT_TALK, PRIVATE_TALK, TALK_HELD, TALK_PLANNED
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantAbsence,
    Employer,
    Meeting,
)

MEETING_FOLLOW_UPS = ("workplace_meeting", "jobcenter_meeting")
PLANNED_FOLLOW_UPS = (*MEETING_FOLLOW_UPS, "telephone")
# Parts of the day an employer can prefer on the link page.
PARTS_OF_DAY = {"morning": (time(0, 0), time(12, 0)), "afternoon": (time(12, 0), time(23, 59))}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PlannedCase(NamedTuple):
    """A case as the instance read it: the columns planning reads (a case has over 50: CPR,
    contact, minutes, outcomes …), its employer's CVR and unavailable times, and its
    diagnosis group (read from the facts in the database, not the whole facts parsed). Read
    as plain columns, not as ORM rows: those who use the instance's cases read only their id
    (the plan store reads each case again, locked)."""

    id: int
    case_ref: str
    status: str
    follow_up: str | None
    first_meeting_deadline: date
    next_follow_up_due: date | None
    owner_id: int | None
    workplace_lat: float | None
    workplace_lon: float | None
    diagnosis_group: str | None
    private_talk_first: bool
    employer_cvr: str | None
    employer_unavailable: list[Any] | None


_PLANNED_CASE = (
    Case.id, Case.case_ref, Case.status, Case.follow_up, Case.first_meeting_deadline,
    Case.next_follow_up_due, Case.owner_id, Case.workplace_lat, Case.workplace_lon,
    Case.facts["diagnosis_group"].as_string(), Case.private_talk_first, Employer.cvr,
    Employer.unavailable)


class PlannedMeeting(NamedTuple):
    """An active meeting or a kept talk as the instance read it: the columns planning reads
    (a meeting has over 40, several of them JSON) as plain values, not ORM rows (each row
    joined its case and consultant again). `meeting_state`, `pending_decline` and the plan
    store's checks read these alike on a meeting row."""

    id: int
    case_id: int
    consultant_id: int
    kind: str
    status: str
    start: datetime
    end: datetime
    invited_at: datetime | None
    invitation_held_at: datetime | None
    employer_answer: str | None
    decline_outcome: str | None


_PLANNED_MEETING = (
    Meeting.id, Meeting.case_id, Meeting.consultant_id, Meeting.kind, Meeting.status,
    Meeting.start, Meeting.end, Meeting.invited_at, Meeting.invitation_held_at,
    Meeting.employer_answer, Meeting.decline_outcome)


async def _planned_meetings(session: AsyncSession, *where: Any) -> dict[int, PlannedMeeting]:
    """The meetings `where` says, by case (the latest of a case's, in id order)."""
    return {m.case_id: m for m in (PlannedMeeting._make(row) for row in await session.execute(
        select(*_PLANNED_MEETING).where(*where).order_by(Meeting.id)))}


def _minute(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M")


def meeting_state(meeting: Meeting | PlannedMeeting | None) -> tuple[Any, ...] | None:
    """What of a case's active meeting the plan was made against: storing the plan skips a
    case whose meeting changed since (confirmed, moved, answered, cancelled, replaced)."""
    if meeting is None:
        return None
    return (meeting.id, meeting.status, meeting.start, meeting.end, meeting.consultant_id,
            meeting.kind, meeting.invited_at, meeting.employer_answer)


@dataclass(frozen=True)
class CaseState:
    """A case as the instance saw it; `PlanStore` re-checks it in its own transaction."""

    owner_id: int | None
    status: str
    follow_up: str | None
    meeting: tuple[Any, ...] | None


@dataclass
class InstanceContext:
    """The instance plus what the service needs to map the plan back to rows."""

    instance: dict[str, Any]
    cases: dict[str, PlannedCase] = field(default_factory=dict)  # instance case id -> case
    consultants: dict[str, Consultant] = field(default_factory=dict)
    consultant_keys: dict[int, str] = field(default_factory=dict)  # row id -> consultant id
    # case row id -> its active meeting
    active_meetings: dict[int, PlannedMeeting] = field(default_factory=dict)
    # invited proposals sent as the contract's `proposal` (rule 11): case id -> the meeting
    pinned_invitations: set[str] = field(default_factory=set)
    talks: dict[int, PlannedMeeting] = field(default_factory=dict)  # case row id -> kept talk
    # cases planned for a follow-up meeting (their first was held): instance case ids
    follow_ups: set[str] = field(default_factory=set)
    # case row ids whose follow-up the rules want at the workplace, planned at the jobcentre
    # with their consultant (`_at_the_jobcentre`)
    at_the_jobcentre: set[int] = field(default_factory=set)
    seen: dict[int, CaseState] = field(default_factory=dict)  # case row id -> as planned


@lru_cache(maxsize=8)
def _days(start: date, days: int) -> tuple[tuple[str, str, str], ...]:
    """The horizon's days: each one's weekday key, date and the next day's date, written."""
    return tuple((WEEKDAY_KEYS[day.weekday()], day.isoformat(),
                  (day + timedelta(days=1)).isoformat())
                 for day in (start + timedelta(days=n) for n in range(days)))


def preference_unavailability(preferences: dict[str, Any], start: date, days: int
                              ) -> list[dict[str, str]]:
    """Turn "we prefer Tuesdays, mornings" into unavailable intervals for the other times."""
    weekdays = tuple(preferences.get("weekdays") or WEEKDAY_KEYS)
    parts = tuple(preferences.get("parts_of_day") or ())
    return [{"start": first, "end": last}
            for first, last in _unavailable(weekdays, parts, start, days)]


@lru_cache(maxsize=4096)
def _unavailable(weekdays: tuple[str, ...], parts_of_day: tuple[str, ...], start: date,
                 days: int) -> tuple[tuple[str, str], ...]:
    """`preference_unavailability`'s intervals, made once per wish and day (every planning
    run asked again for every employer's wishes)."""
    wanted = set(weekdays)
    parts = [PARTS_OF_DAY[p] for p in parts_of_day if p in PARTS_OF_DAY]
    partly = bool(parts) and len(parts) < len(PARTS_OF_DAY)
    out: list[tuple[str, str]] = []
    for weekday, day, next_day in _days(start, days):
        if weekday not in wanted:
            out.append((f"{day}T00:00", f"{next_day}T00:00"))
            continue
        if partly:
            allowed = parts[0]
            if allowed[0] > time(0, 0):
                out.append((f"{day}T00:00", f"{day}T{allowed[0]:%H:%M}"))
            if allowed[1] < time(23, 59):
                out.append((f"{day}T{allowed[1]:%H:%M}", f"{next_day}T00:00"))
    return tuple(out)


def _at_the_jobcentre(owner: Consultant | None, meeting: PlannedMeeting | None, as_of: date
                      ) -> bool:
    """Whether a follow-up the rules want at the workplace is held at the jobcentre: its
    case's own consultant holds no workplace meetings (yet: a caseworker not in the new role,
    or one whose role begins later) — as a workplace meeting it could never be planned with
    them (rule 2), and the citizen went without a follow-up — and, once one is confirmed
    there, it stays there (the day the consultant's role begins does not move it). The rule is
    `service.intake.views.follow_up_kind`, which every screen and the register show."""
    if owner is None:
        return False
    kept = meeting is not None and meeting.status == "confirmed" \
        and meeting.kind == "jobcenter_meeting" and meeting.consultant_id == owner.id
    return follow_up_kind("workplace_meeting", owner, as_of,
                          "jobcenter_meeting" if kept else None) == "jobcenter_meeting"


async def build_instance(session: AsyncSession, config: MunicipalityConfig, as_of: date
                         ) -> InstanceContext:
    """Read everything planning needs for one municipality into an instance dict."""
    municipality = config.municipality.id
    planning = config.planning
    horizon_end = as_of + timedelta(days=planning.horizon_days)
    followup = config.followup

    consultants = list((await session.execute(
        select(Consultant).where(Consultant.municipality_id == municipality,
                                 Consultant.active.is_(True)).order_by(Consultant.key)
    )).scalars())
    by_id = {c.id: c for c in consultants}
    caseload = await caseloads(session, municipality)
    busy: dict[int, list[dict[str, str]]] = defaultdict(list)
    for consultant_id, start, end in await session.execute(select(
            CalendarEntry.consultant_id, CalendarEntry.start, CalendarEntry.end).where(
            CalendarEntry.municipality_id == municipality,
            CalendarEntry.end > datetime.combine(as_of, time(0)),
            CalendarEntry.start < datetime.combine(horizon_end, time(0)))
            .order_by(CalendarEntry.id)):
        busy[consultant_id].append({"start": _minute(start), "end": _minute(end)})
    # Absences (service.consultants): each day away is busy from midnight to midnight.
    for consultant_id, first_day, last_day in await session.execute(select(
            ConsultantAbsence.consultant_id, ConsultantAbsence.first_day,
            ConsultantAbsence.last_day).where(
            ConsultantAbsence.municipality_id == municipality,
            ConsultantAbsence.deleted_at.is_(None), ConsultantAbsence.last_day >= as_of,
            ConsultantAbsence.first_day < horizon_end).order_by(ConsultantAbsence.id)):
        day = max(first_day, as_of)
        while day <= last_day and day < horizon_end:
            busy[consultant_id].append({"start": f"{day}T00:00",
                                        "end": f"{day + timedelta(days=1)}T00:00"})
            day += timedelta(days=1)

    planned = (Case.municipality_id == municipality, Case.status == "target",
               Case.follow_up.in_(PLANNED_FOLLOW_UPS), Case.closed_on.is_(None))
    # The planned cases' ids, for reading only their meetings' history below (a
    # municipality's meetings held and wishes given grow with every month).
    planned_ids = select(Case.id).where(*planned)
    cases = [PlannedCase._make(row) for row in await session.execute(
        select(*_PLANNED_CASE).outerjoin(Employer, Employer.id == Case.employer_id)
        .where(*planned).order_by(Case.first_meeting_deadline, Case.id))]
    meetings = await _planned_meetings(session, Meeting.municipality_id == municipality,
                                       Meeting.status.in_(ACTIVE_MEETING))
    # Cases whose first meeting was already held need an owner, not another first meeting;
    # their next follow-up (service.followup.follow_ups) is planned like a first meeting from
    # `[followup] plan_days_before` days before it is due (`follow_up_to_plan`): its due date
    # is the deadline, and first meetings come first in the objective
    # (`"first_meeting": false`).
    # (asked per planned case: the held meetings of a municipality grow without end)
    held = set((await session.execute(select(Case.id).where(*planned, exists().where(
        Meeting.case_id == Case.id, Meeting.municipality_id == municipality,
        Meeting.status == "held")))).scalars())
    talks = await _planned_meetings(session, Meeting.municipality_id == municipality,
                                    Meeting.kind == PRIVATE_TALK, Meeting.status.in_(KEPT_TALK))
    # The employer's last wishes per case, and every time declined for it (`DECLINED`)
    preferences: dict[int, dict[str, Any]] = {}
    declined: dict[int, list[dict[str, str]]] = defaultdict(list)
    after = f"{as_of.isoformat()}T00:00"
    for case_id, wishes in (await session.execute(
            select(Meeting.case_id, Meeting.employer_preferences).where(
                Meeting.municipality_id == municipality, Meeting.case_id.in_(planned_ids),
                Meeting.employer_preferences.is_not(None)).order_by(Meeting.id))):
        if wishes.keys() - {DECLINED}:  # (a cancelled time alone leaves the wishes)
            preferences[case_id] = wishes
        declined[case_id] += [t for t in wishes.get(DECLINED) or () if t["end"] > after]

    ctx = InstanceContext(instance={}, consultants={c.key: c for c in consultants},
                          consultant_keys={c.id: c.key for c in consultants})
    instance_cases: list[dict[str, Any]] = []
    for case in cases:
        kind = case.follow_up
        deadline = case.first_meeting_deadline
        meeting = meetings.get(case.id)
        follow_up = case.id in held
        if follow_up:
            due = case.next_follow_up_due
            if due is not None and (meeting is not None or (
                    due < horizon_end
                    and follow_up_to_plan(due, as_of, followup.plan_days_before))):
                deadline = due
                if kind == "workplace_meeting" and _at_the_jobcentre(
                        by_id.get(case.owner_id), meeting, as_of):
                    kind = "jobcenter_meeting"
                    ctx.at_the_jobcentre.add(case.id)
            else:
                kind = "telephone"  # no follow-up to plan yet: the owner only
        if kind == "telephone" and meeting is None and case.owner_id in by_id:
            # Nothing to plan: no meeting (a telephone follow-up, or the first meeting was
            # held) and an active owner kept. It counts in its owner's `active_cases` only.
            continue
        pinned = None
        if meeting is not None and meeting.kind == kind and meeting.consultant_id in by_id and (
                meeting.status == "confirmed" or meeting.invited_at is not None
                or meeting.invitation_held_at is not None):
            # Confirmed meetings are pinned (rule 9); a proposal already sent to the employer
            # is a `proposal` (rule 11): the planner keeps it unless its time became
            # impossible or moving it makes a meeting on time, each one on its own. A proposal
            # whose invitation is held for the consultant's calls is kept (reserved) alike.
            pinned = {"start": _minute(meeting.start),
                      "consultant_id": by_id[meeting.consultant_id].key}
            if meeting.status != "confirmed" and not pending_decline(meeting):
                ctx.pinned_invitations.add(case.case_ref)
        if meeting is not None:
            ctx.active_meetings[case.id] = meeting
        location = None
        unavailable: list[dict[str, str]] = []
        if case.workplace_lat is not None and case.workplace_lon is not None:
            # The case's own workplace, placed on the map (service.places).
            location = {"lat": case.workplace_lat, "lon": case.workplace_lon}
        if case.employer_cvr is not None:
            unavailable = list(case.employer_unavailable or [])
        if case.id in preferences and preferences[case.id]:
            unavailable += preference_unavailability(preferences[case.id], as_of,
                                                     planning.horizon_days)
        unavailable += declined.get(case.id, ())
        if location is None:
            # Without a placed address the meeting is planned as if at the jobcentre (no
            # travel), never at a guessed place; the case page and the intake channel say so.
            location = config.jobcentre.location.model_dump()
        owner = by_id[case.owner_id].key if case.owner_id in by_id else None
        if pinned is not None and owner is not None and pinned["consultant_id"] != owner:
            if meeting is not None and (meeting.status == "confirmed"
                                        or pending_decline(meeting)):
                owner = pinned["consultant_id"]  # a confirmed meeting is never moved
            else:
                pinned = None  # the owner was changed by hand: re-plan with the new owner
                ctx.pinned_invitations.discard(case.case_ref)
        sent = pinned is not None and case.case_ref in ctx.pinned_invitations
        talk = talks.get(case.id)
        # The citizen's private talk (rule 10) before the case's first workplace meeting: the
        # first meeting's, or — when that was not at the workplace (at the jobcentre: the
        # old way, an employer's decline) and no talk was held — a workplace follow-up's.
        wants_talk = bool(case.private_talk_first) and (not follow_up or (
            kind == "workplace_meeting" and (talk is None or talk.status != TALK_HELD)))
        kept_talk = None
        if talk is not None and talk.consultant_id in by_id and kind == "workplace_meeting" \
                and (not follow_up or (wants_talk and talk.status == TALK_PLANNED)):
            talk_key = by_id[talk.consultant_id].key
            # A kept talk is the case's consultant's (rule 10); one left with another
            # consultant (the owner changed) is planned anew and replaced when stored.
            if talk_key == (owner or talk_key) and (pinned is None or sent
                                                     or pinned["consultant_id"] == talk_key):
                kept_talk = {"start": _minute(talk.start), "consultant_id": talk_key}
                ctx.talks[case.id] = talk
        if follow_up:
            ctx.follow_ups.add(case.case_ref)
        instance_cases.append({
            "id": case.case_ref,
            "follow_up": kind,
            "deadline": deadline.isoformat(),
            "diagnosis_group": case.diagnosis_group or "other",
            "employer": {"cvr": case.employer_cvr if case.employer_cvr is not None
                         else "00000000",
                         "location": location, "unavailable": unavailable},
            "consultant_id": owner,
            "meeting": None if sent else pinned,
            "proposal": pinned if sent else None,
            "private_talk_first": wants_talk,
            "private_talk": kept_talk,
            **({"first_meeting": False} if follow_up else {}),
        })
        ctx.cases[case.case_ref] = case
        ctx.seen[case.id] = CaseState(case.owner_id, case.status, case.follow_up,
                                      meeting_state(meeting))

    instance_consultants = []
    for c in consultants:
        instance_consultants.append({
            "id": c.key,
            "location": {"lat": c.lat, "lon": c.lon},
            "workplace_meetings": holds_workplace_meetings(c, as_of),
            "skills": list(c.skills),
            "max_active_cases": c.max_active_cases,
            "active_cases": caseload.get(c.id, 0),
            "max_meetings_per_day": c.meetings_per_day,
            "working_hours": c.working_hours,
            "busy": busy.get(c.id, []),
            "fixed_employers": list(c.fixed_employers),
            "team": c.team or None,
        })
    ctx.instance = {
        "as_of": as_of.isoformat(),
        "horizon_days": planning.horizon_days,
        "slot_minutes": planning.slot_minutes,
        "min_notice_days": planning.min_notice_days,
        "notice_in_working_days": True,  # issue 18: notice people can live with
        "preferred_notice_working_days": planning.preferred_notice_working_days,
        "fixed_employers_rule": planning.fixed_employers,
        "meeting_minutes": planning.meeting_minutes.model_dump(),
        "private_talk_minutes": planning.private_talk_minutes,
        "working_hours": config.working_hours.as_dict(),
        # the closed days in the planning window (the recurring ones are spelled out for a
        # century: the instance carries only those it can plan on)
        "closed_dates": [d.isoformat() for d in sorted(planning.closed())
                         if as_of <= d <= horizon_end],
        "travel": planning.travel.model_dump(),
        "consultants": instance_consultants,
        "cases": instance_cases,
    }
    return ctx
