"""The plan: assignments with meetings and reasons, unassigned cases, metrics (spec "Plan").

The reason codes and their meaning are documented in `optimizer.explain`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from optimizer.calendar import short_notice
from optimizer.candidates import Prepared, Schedule
from optimizer.explain import describe, why_not_fixed, why_not_on_time, why_unassigned
from optimizer.instance import Instance, minute_of, moment_of


@dataclass
class PlannedMeeting:
    """A meeting in the plan; travel_minutes is one way (0 for jobcenter meetings)."""

    start: datetime
    end: datetime
    kind: str
    travel_minutes: int

    def to_json(self) -> dict[str, Any]:
        """The spec's meeting object."""
        return {"start": self.start.isoformat(timespec="minutes"),
                "end": self.end.isoformat(timespec="minutes"),
                "kind": self.kind, "travel_minutes": self.travel_minutes}


@dataclass
class PlannedTalk:
    """A private talk in the plan (rule 10): the consultant alone with the citizen, no travel."""

    start: datetime
    end: datetime
    consultant_id: str

    def to_json(self) -> dict[str, Any]:
        """The spec's private_talk object (plus its consultant, the assignment's; so the
        service can pass it back as a kept talk)."""
        return {"start": self.start.isoformat(timespec="minutes"),
                "end": self.end.isoformat(timespec="minutes"), "kind": "private_talk",
                "consultant_id": self.consultant_id}


@dataclass
class Assignment:
    """One case given to one consultant, with its meeting (or None), its private talk (rule
    10, or None) and reason codes."""

    case_id: str
    consultant_id: str
    on_time: bool
    meeting: PlannedMeeting | None
    reasons: list[str] = field(default_factory=list)
    private_talk: PlannedTalk | None = None

    def to_json(self) -> dict[str, Any]:
        """The spec's assignment object plus `reasons`."""
        return {"case_id": self.case_id, "consultant_id": self.consultant_id,
                "on_time": self.on_time,
                "meeting": self.meeting.to_json() if self.meeting else None,
                "private_talk": self.private_talk.to_json() if self.private_talk else None,
                "reasons": list(self.reasons)}


@dataclass
class Unassigned:
    """A case no consultant could take, and why: an English sentence and its reason code."""

    case_id: str
    reason: str
    reason_code: str

    def to_json(self) -> dict[str, Any]:
        """The spec's unassigned object plus `reason_code`."""
        return {"case_id": self.case_id, "reason": self.reason,
                "reason_code": self.reason_code}


@dataclass
class Plan:
    """A complete plan for an instance; `prepared` is the instance's `prepare(instance)` the
    solver made it from (passed on to `alternatives_for`, which need not prepare it again)."""

    assignments: list[Assignment]
    unassigned: list[Unassigned]
    metrics: dict[str, Any]
    prepared: Prepared | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The plan JSON of the spec (assignments, unassigned, metrics)."""
        return {"assignments": [a.to_json() for a in self.assignments],
                "unassigned": [u.to_json() for u in self.unassigned],
                "metrics": dict(self.metrics)}

    def assignment(self, case_id: str) -> Assignment | None:
        """The assignment of a case, if any."""
        for a in self.assignments:
            if a.case_id == case_id:
                return a
        return None


def plan_metrics(instance: Instance, plan_json: dict[str, Any]) -> dict[str, int]:
    """Counts of the spec's metrics recomputed from a plan JSON (solver fields excluded).

    With `preferred_notice_working_days` also `meetings_short_notice` (new meetings with less
    notice than preferred); with proposals (rule 11) also `proposals_moved`.
    """
    cases = instance.case_by_id
    needed = sum(1 for c in instance.cases if c.needs_meeting)
    on_time = late = travel = talks = short = moved = follow_ups_on_time = 0
    for item in plan_json.get("assignments", []):
        if item.get("private_talk") is not None:
            talks += 1
        meeting = item.get("meeting")
        case = cases.get(item.get("case_id"))
        if case is not None and case.proposal is not None and (
                not meeting or item.get("consultant_id") != case.proposal.consultant_id
                or meeting.get("start") != case.proposal.start.isoformat(timespec="minutes")):
            moved += 1
        if not meeting or case is None:
            continue
        when = datetime.fromisoformat(meeting["start"]).date()
        if when <= case.deadline:
            on_time += 1
            follow_ups_on_time += not case.first_meeting
        else:
            late += 1
        if case.meeting is None and short_notice(instance, when):
            short += 1
        if meeting.get("kind") == "workplace_meeting":
            travel += 2 * int(meeting.get("travel_minutes", 0))
    out = {"cases": len(instance.cases), "meetings_needed": needed,
           "meetings_on_time": on_time, "meetings_late": late,
           "meetings_missing": needed - on_time - late, "travel_minutes": travel,
           "private_talks": talks}
    if instance.has_follow_ups:
        out["follow_ups_on_time"] = follow_ups_on_time  # of meetings_on_time
    if instance.preferred_notice_working_days:
        out["meetings_short_notice"] = short
    if any(c.proposal is not None for c in instance.cases):
        out["proposals_moved"] = moved
    return out


def build_plan(p: Prepared, schedule: Schedule, solver: str, status: str, seconds: float,
               bound: int | None) -> Plan:
    """Turn a finished schedule into a Plan with reasons and metrics."""
    inst = p.instance
    loads = [(c.active_cases + schedule.new_load[k]) / max(1, c.max_active_cases)
             for k, c in enumerate(inst.consultants)]
    assignments: list[Assignment] = []
    unassigned: list[Unassigned] = []
    for i, case in enumerate(inst.cases):
        c = schedule.owner.get(i)
        if c is None:
            code = why_unassigned(p, schedule, i)
            unassigned.append(Unassigned(case.id, describe(code), code))
            continue
        consultant = inst.consultants[c]
        meeting = None
        on_time = not case.needs_meeting
        if i in schedule.meeting:
            _, d, start = schedule.meeting[i]
            dur = p.duration(i)
            meeting = PlannedMeeting(start=moment_of(inst, start),
                                     end=moment_of(inst, start + dur), kind=case.follow_up,
                                     travel_minutes=p.trip(i, c))
            on_time = meeting.start.date() <= case.deadline
        talk = None
        if i in p.kept_talk:
            talk_start = p.kept_talk[i][2]
        elif i in schedule.talk:
            talk_start = schedule.talk[i][2]
        else:
            talk_start = None
        if talk_start is not None:
            talk = PlannedTalk(start=moment_of(inst, talk_start),
                               end=moment_of(inst, talk_start + p.talk_minutes),
                               consultant_id=consultant.id)
        reasons: list[str] = []
        if case.consultant_id is not None:
            reasons.append("kept_owner")
        if case.employer.cvr in consultant.fixed_employers:
            reasons.append("fixed_employer")
        if case.diagnosis_group in consultant.skills:
            reasons.append(f"skill_match:{case.diagnosis_group}")
        pool = p.eligible[i]
        if case.consultant_id is None and len(pool) > 1 and \
                loads[c] <= min(loads[k] for k in pool) + 1e-9:
            reasons.append("least_loaded")
        if case.follow_up == "workplace_meeting":
            if len(pool) > 1 and p.travel[i, c] <= min(int(p.travel[i, k]) for k in pool) + 5:
                reasons.append("near")
            if consultant.workplace_meetings:
                reasons.append("workplace_capable")
        if not inst.fixed_is_hard and case.consultant_id is None and \
                case.pinned_consultant is None and inst.fixed_consultants(case.employer.cvr) \
                and case.employer.cvr not in consultant.fixed_employers:
            reasons.append(why_not_fixed(p, schedule, i, c))
        if case.proposal is not None:
            # rule 11: the proposal sent stays, or why it moved
            proposed = (p.cindex[case.proposal.consultant_id],
                        minute_of(inst, case.proposal.start))
            here = None if i not in schedule.meeting else \
                (schedule.meeting[i][0], schedule.meeting[i][2])
            if here == proposed:
                reasons.append("proposal_kept")
            elif not p.proposal_possible.get(i, False):
                reasons.append("proposal_moved:impossible")
            else:
                reasons.append("proposal_moved:on_time")
        if case.needs_meeting and not on_time:
            reasons.append("late")  # kept: the service and older readers look for it
            reasons.append(why_not_on_time(p, schedule, i))
        assignments.append(Assignment(case.id, consultant.id, on_time, meeting, reasons, talk))
    plan = Plan(assignments, unassigned, {}, prepared=p)
    metrics: dict[str, Any] = dict(plan_metrics(inst, plan.to_json()))
    metrics.update({"solver": solver, "status": status, "solve_seconds": round(seconds, 3),
                    "upper_bound_on_time": bound})
    plan.metrics = metrics
    return plan
