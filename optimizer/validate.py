"""An independent check of a plan against hard rules 1-10 and its own metrics.

Re-derives everything from the instance (travel, grid, working days with Danish holidays,
closed dates, busy, employer unavailability, overlaps with travel buffers, per-day maximum,
capacity, fixed employers, kept owners and meetings, private talks and kept talks) and shares
no state with the solvers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from optimizer.calendar import in_planning_window, in_talk_window, is_working_day, travel_minutes
from optimizer.instance import Case, Consultant, Instance
from optimizer.plan import Plan, plan_metrics

# (consultant, date) -> occupied intervals: (start, end, label, kept, is a private talk)
Occupied = dict[tuple[str, Any], list[tuple[datetime, datetime, str, bool, bool]]]


def _eligible(instance: Instance, case: Case) -> list[Consultant]:
    """Rule 2, read directly from the instance (a kept meeting or talk ties the case)."""
    if case.pinned_consultant is not None:
        return [instance.consultant_by_id[case.pinned_consultant]]
    if case.consultant_id is not None:
        return [instance.consultant_by_id[case.consultant_id]]
    fixed = instance.fixed_consultants(case.employer.cvr) if instance.fixed_is_hard else []
    pool = fixed or list(instance.consultants)
    if case.follow_up == "workplace_meeting":
        pool = [c for c in pool if c.workplace_meetings]
    return pool


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def validate(instance: Instance, plan: Plan | dict[str, Any]) -> list[str]:
    """All problems of `plan` for `instance` in words (empty list: the plan is valid)."""
    data = plan.to_json() if isinstance(plan, Plan) else plan
    problems: list[str] = []
    cases = instance.case_by_id
    consultants = instance.consultant_by_id

    # Rule 1: every case exactly once, assigned or unassigned.
    seen: dict[str, int] = defaultdict(int)
    for item in data.get("assignments", []) + data.get("unassigned", []):
        seen[item.get("case_id")] += 1
    for case_id, times in seen.items():
        if case_id not in cases:
            problems.append(f"{case_id}: not a case of the instance")
        elif times > 1:
            problems.append(f"{case_id}: appears {times} times in the plan (rule 1)")
    for case in instance.cases:
        if case.id not in seen:
            problems.append(f"{case.id}: neither assigned nor unassigned (rule 1)")

    new_cases: dict[str, int] = defaultdict(int)
    occupied: Occupied = defaultdict(list)
    for item in data.get("assignments", []):
        case = cases.get(item.get("case_id"))
        consultant = consultants.get(item.get("consultant_id"))
        if case is None:
            continue
        if consultant is None:
            problems.append(f"{case.id}: unknown consultant {item.get('consultant_id')!r}")
            continue
        cid = consultant.id
        # Rule 2: kept owner, fixed employer, workplace-capable.
        if case.consultant_id is not None and cid != case.consultant_id:
            problems.append(f"{case.id}: must keep consultant {case.consultant_id}, "
                            f"got {cid} (rule 2)")
        if case.meeting is not None and cid != case.meeting.consultant_id:
            problems.append(f"{case.id}: kept meeting belongs to {case.meeting.consultant_id}, "
                            f"case given to {cid} (rule 9)")
        fixed = instance.fixed_consultants(case.employer.cvr) if instance.fixed_is_hard \
            else []  # "preferred": the fixed consultant is an objective, not a rule
        if case.consultant_id is None and case.pinned_consultant is None and fixed and \
                consultant not in fixed:
            problems.append(f"{case.id}: employer {case.employer.cvr} is fixed to "
                            f"{', '.join(c.id for c in fixed)}, got {cid} (rule 2)")
        if case.consultant_id is None:
            new_cases[cid] += 1
        if case.follow_up == "workplace_meeting" and case.consultant_id is None and \
                case.pinned_consultant is None and not consultant.workplace_meetings:
            problems.append(f"{case.id}: workplace case given to {cid}, who holds no "
                            "workplace meetings (rule 2)")

        problems += _check_talk(instance, case, consultant, item, occupied)
        meeting = item.get("meeting")
        # Rule 4: telephone cases get no meeting; others at most one, of their own kind.
        if case.follow_up == "telephone":
            if meeting is not None:
                problems.append(f"{case.id}: telephone case has a meeting (rule 4)")
            if item.get("on_time") is not True:
                problems.append(f"{case.id}: telephone case must have on_time true")
            continue
        if case.meeting is not None and meeting is None:
            problems.append(f"{case.id}: kept meeting {case.meeting.start:%Y-%m-%dT%H:%M} "
                            "missing (rule 9)")
            continue
        if meeting is None:
            if item.get("on_time") is not False:
                problems.append(f"{case.id}: on_time must be false without a meeting")
            continue
        start, end = _parse_time(meeting.get("start")), _parse_time(meeting.get("end"))
        if start is None or end is None:
            problems.append(f"{case.id}: malformed meeting times")
            continue
        kind = meeting.get("kind")
        if kind != case.follow_up:
            problems.append(f"{case.id}: meeting kind {kind!r} but follow_up "
                            f"{case.follow_up!r} (rule 4)")
        duration = instance.meeting_minutes.get(case.follow_up, 0)
        if end - start != timedelta(minutes=duration):
            problems.append(f"{case.id}: meeting lasts {end - start}, expected {duration} min")
        if item.get("on_time") != (start.date() <= case.deadline):
            problems.append(f"{case.id}: on_time is {item.get('on_time')} but the meeting "
                            f"is on {start.date()} and the deadline {case.deadline}")
        # Rule 6: travel minutes.
        t = travel_minutes(instance, consultant.location, case.employer.location) \
            if case.follow_up == "workplace_meeting" else 0
        if meeting.get("travel_minutes") != t:
            problems.append(f"{case.id}: travel_minutes {meeting.get('travel_minutes')}, "
                            f"expected {t} (rule 6)")
        occ_start, occ_end = start - timedelta(minutes=t), end + timedelta(minutes=t)
        kept = case.meeting is not None
        occupied[cid, start.date()].append((occ_start, occ_end, case.id, kept, False))
        if kept:
            # Rule 9: the kept meeting unchanged; it is a fact, not checked against 5-7.
            if start != case.meeting.start:
                problems.append(f"{case.id}: kept meeting moved from "
                                f"{case.meeting.start:%Y-%m-%dT%H:%M} to "
                                f"{start:%Y-%m-%dT%H:%M} (rule 9)")
            continue
        if case.follow_up == "workplace_meeting" and not consultant.workplace_meetings:
            problems.append(f"{case.id}: workplace meeting with {cid}, who holds no "
                            "workplace meetings (rule 2)")
        # Rule 5: grid, notice and horizon, working day.
        day = start.date()
        if (start.hour * 60 + start.minute) % instance.slot_minutes or start.second:
            problems.append(f"{case.id}: {start:%H:%M} is off the {instance.slot_minutes}-minute "
                            "grid (rule 5)")
        # Rule 11: a proposal kept where it was needs no new notice (it was given when sent).
        as_proposed = case.proposal is not None and start == case.proposal.start and \
            cid == case.proposal.consultant_id and day > instance.as_of and \
            (day - instance.as_of).days < instance.horizon_days
        if not as_proposed and not in_planning_window(instance, day):
            problems.append(f"{case.id}: {day} outside the planning window (notice "
                            f"{instance.min_notice_days}"
                            f"{' working' if instance.notice_in_working_days else ''} days, "
                            f"horizon {instance.horizon_days}) (rule 5)")
        if not is_working_day(instance, day):
            problems.append(f"{case.id}: {day} is not a working day (weekend, Danish holiday "
                            "or closed) (rule 5)")
        # Rule 7: inside working hours, not over busy time or employer unavailability.
        problems += _hours_and_busy(consultant, cid, day, occ_start, occ_end,
                                    f"{case.id}: occupied", f"{case.id}: overlaps", "rule 7")
        for un in case.employer.unavailable:
            if start < un.end and un.start < end:
                problems.append(f"{case.id}: employer unavailable "
                                f"{un.start:%Y-%m-%dT%H:%M}-{un.end:%Y-%m-%dT%H:%M} (rule 7)")

    # Rule 7 (and 10): no overlap between occupied intervals of one consultant, meetings with
    # their travel and private talks alike; rule 8: per-day max, private talks not counted.
    for (cid, day), items in occupied.items():
        items.sort()
        for a_index, a in enumerate(items):
            for b in items[a_index + 1:]:
                if b[0] >= a[1]:
                    break
                if not (a[3] and b[3]):
                    rule = "rule 10" if a[4] or b[4] else "rule 7"
                    problems.append(f"{a[2]} and {b[2]}: {cid}'s occupied times overlap on "
                                    f"{day} ({rule})")
        meetings = [x for x in items if not x[4]]
        limit = consultants[cid].max_meetings_per_day
        if len(meetings) > limit and not all(x[3] for x in meetings):
            problems.append(f"{cid} has {len(meetings)} meetings on {day}, max {limit} "
                            "(rule 8)")

    # Rule 3: capacity.
    for cid, count in new_cases.items():
        consultant = consultants[cid]
        if consultant.active_cases + count > consultant.max_active_cases:
            problems.append(f"{cid}: {consultant.active_cases} active + {count} new > "
                            f"{consultant.max_active_cases} (rule 3)")

    # Rule 1: unassigned only when no eligible consultant has room.
    for item in data.get("unassigned", []):
        case = cases.get(item.get("case_id"))
        if case is None:
            continue
        if not item.get("reason"):
            problems.append(f"{case.id}: unassigned without a reason (rule 1)")
        if case.consultant_id is not None or case.pinned_consultant is not None:
            problems.append(f"{case.id}: has an owner but is unassigned (rule 1)")
            continue
        roomy = [c.id for c in _eligible(instance, case)
                 if c.active_cases + new_cases[c.id] < c.max_active_cases]
        if roomy:
            problems.append(f"{case.id}: unassigned although {roomy[0]} has room (rule 1)")

    # Metrics recomputed.
    metrics = data.get("metrics", {})
    for key, value in plan_metrics(instance, data).items():
        if metrics.get(key) != value:
            problems.append(f"metrics.{key} is {metrics.get(key)!r}, recomputed {value}")
    bound = metrics.get("upper_bound_on_time")
    if bound is not None and bound < metrics.get("meetings_on_time", 0):
        problems.append(f"metrics.upper_bound_on_time {bound} < meetings_on_time")
    return problems


def _hours_and_busy(consultant: Consultant, cid: str, day: date, start: datetime,
                    end: datetime, what: str, overlap: str, rule: str) -> list[str]:
    """Rules 7 and 10 alike: the interval inside the consultant's working hours that day, over
    none of their busy time."""
    problems = []
    hours = consultant.working_hours.get(day.weekday())
    base = datetime.combine(day, datetime.min.time())
    if hours is None or start < base + timedelta(minutes=hours[0]) or \
            end > base + timedelta(minutes=hours[1]):
        problems.append(f"{what} {start:%Y-%m-%dT%H:%M}-{end:%H:%M} outside {cid}'s working "
                        f"hours ({rule})")
    problems += [f"{overlap} {cid}'s busy time {busy.start:%Y-%m-%dT%H:%M} ({rule})"
                 for busy in consultant.busy if start < busy.end and busy.start < end]
    return problems


def _check_talk(instance: Instance, case: Case, consultant: Consultant, item: dict[str, Any],
                occupied: Occupied) -> list[str]:
    """Rule 10 for one assignment: the private talk where it must be, nowhere else."""
    problems: list[str] = []
    cid = consultant.id
    talk = item.get("private_talk")
    meeting = item.get("meeting")
    meeting_start = _parse_time(meeting.get("start")) if isinstance(meeting, dict) else None
    new_meeting = meeting is not None and case.meeting is None
    kept = case.private_talk
    if talk is not None and not isinstance(talk, dict):
        return [f"{case.id}: private_talk is not an object (rule 10)"]
    talk_start = _parse_time(talk.get("start")) if talk else None
    talk_end = _parse_time(talk.get("end")) if talk else None
    if talk is not None and (talk_start is None or talk_end is None):
        return [f"{case.id}: malformed private talk times (rule 10)"]
    if talk is not None and talk.get("consultant_id", cid) != cid:
        problems.append(f"{case.id}: private talk with {talk.get('consultant_id')}, but the "
                        f"case is {cid}'s (same consultant, rule 10)")

    if kept is not None:
        # The agreed talk unchanged (a fact, not checked against the calendar); a new meeting
        # strictly after its date.
        if talk is None or talk_start is None:
            return [f"{case.id}: kept private talk {kept.start:%Y-%m-%dT%H:%M} missing "
                    "(rule 10)"]
        if talk_start != kept.start:
            problems.append(f"{case.id}: kept private talk moved from "
                            f"{kept.start:%Y-%m-%dT%H:%M} to {talk_start:%Y-%m-%dT%H:%M} "
                            "(rule 10)")
        if cid != kept.consultant_id:
            problems.append(f"{case.id}: kept private talk belongs to {kept.consultant_id}, "
                            f"case given to {cid} (rule 10)")
        if new_meeting and meeting_start is not None and \
                meeting_start.date() <= kept.start.date():
            problems.append(f"{case.id}: meeting on {meeting_start.date()} is not after the "
                            f"agreed private talk on {kept.start.date()} (rule 10)")
        occupied[cid, kept.start.date()].append(
            (kept.start, kept.start + timedelta(minutes=instance.private_talk_minutes),
             f"{case.id} (private talk)", True, True))
        return problems

    wanted = case.private_talk_first and case.follow_up == "workplace_meeting" and new_meeting
    if not wanted:
        if talk is not None:
            if not case.private_talk_first:
                why = "the citizen did not ask for one"
            elif case.follow_up != "workplace_meeting":
                why = f"its follow-up is {case.follow_up}"
            elif case.meeting is not None:
                why = "its workplace meeting is a kept one"
            else:
                why = "it has no new workplace meeting"
            problems.append(f"{case.id}: has a private talk although {why} (rule 10)")
        return problems
    if talk is None or talk_start is None or talk_end is None:
        return [f"{case.id}: new workplace meeting without the private talk the citizen asked "
                "for (rule 10)"]

    if talk.get("kind", "private_talk") != "private_talk":
        problems.append(f"{case.id}: private talk of kind {talk.get('kind')!r} (rule 10)")
    length = instance.private_talk_minutes
    if talk_end - talk_start != timedelta(minutes=length):
        problems.append(f"{case.id}: private talk lasts {talk_end - talk_start}, expected "
                        f"{length} min (rule 10)")
    day = talk_start.date()
    if (talk_start.hour * 60 + talk_start.minute) % instance.slot_minutes or talk_start.second:
        problems.append(f"{case.id}: private talk at {talk_start:%H:%M} is off the "
                        f"{instance.slot_minutes}-minute grid (rule 10)")
    if not in_talk_window(instance, day):
        problems.append(f"{case.id}: private talk on {day} outside the talk window (from the "
                        f"day after {instance.as_of}, horizon {instance.horizon_days}) "
                        "(rule 10)")
    if not is_working_day(instance, day):
        problems.append(f"{case.id}: private talk on {day}, not a working day (weekend, "
                        "Danish holiday or closed) (rule 10)")
    if meeting_start is not None and day >= meeting_start.date():
        problems.append(f"{case.id}: private talk on {day} is not before the meeting's date "
                        f"{meeting_start.date()} (rule 10)")
    problems += _hours_and_busy(consultant, cid, day, talk_start, talk_end,
                                f"{case.id}: private talk", f"{case.id}: private talk overlaps",
                                "rule 10")
    occupied[cid, day].append((talk_start, talk_end, f"{case.id} (private talk)", False, True))
    return problems
