"""Other free slots for a planned meeting, offered to the employer with the proposal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from optimizer.candidates import Prepared, Schedule, prepare
from optimizer.instance import Instance, minute_of, moment_of
from optimizer.plan import Plan


def alternatives(instance: Instance, plan: Plan | dict[str, Any], case_id: str,
                 count: int = 2, prepared: Prepared | None = None) -> list[dict[str, Any]]:
    """Up to `count` other slots of the case's consultant that keep every hard rule.

    The slots respect all the plan's other meetings and private talks and do not overlap the
    case's own proposed meeting; a case with a private talk (planned or kept) gets slots only
    on later dates than the talk (rule 10). Slots on or before the deadline come first (else
    the earliest after), with the preferred notice before short notice, preferably on
    different days. Each is {"start", "end",
    "travel_minutes"}. `prepared`: `prepare(instance)` when the caller has it already (it
    is the same for every case of the plan).
    """
    data = plan.to_json() if isinstance(plan, Plan) else plan
    index = {c.id: i for i, c in enumerate(instance.cases)}
    if case_id not in index:
        return []
    target = index[case_id]
    case = instance.cases[target]
    if not case.needs_meeting:
        return []
    p = prepare(instance) if prepared is None else prepared
    schedule = Schedule(p)
    own: tuple[int, int] | None = None
    owner: int | None = None
    after = p.not_before(target)  # rule 10: strictly after the case's talk's date
    for item in data.get("assignments", []):
        i = index.get(item.get("case_id"))
        c = p.cindex.get(item.get("consultant_id"))
        if i is None or c is None:
            continue
        if i == target:
            owner = c
        meeting = item.get("meeting")
        talk = _talk(instance, item) if p.needs_talk(i) else None
        if i == target and talk is not None:
            after = max(after, talk[0] + 1)
        if meeting is None or i in p.kept:
            continue
        start = minute_of(instance, datetime.fromisoformat(meeting["start"]))
        if i == target:
            own = (start, start + p.duration(i))
            continue
        if talk is None and p.needs_talk(i) and schedule.choose_talk(i, c, start // 1440) is None:
            continue  # not a valid plan for this case; its meeting is left out
        schedule.place(i, c, start // 1440, start, talk=talk)
    if owner is None:
        return []
    if target in p.kept:
        own = (p.kept[target][2], p.kept[target][2] + p.duration(target))
    deadline_day = (case.deadline - instance.as_of).days
    t = p.trip(target, owner)
    found: list[tuple[int, int]] = []  # (day, start)
    for d in p.days:
        if d < after:
            continue
        for s in schedule.starts(target, owner, d, with_talk=False):
            if own is not None and s - t < own[1] + t and own[0] - t < s + p.duration(target) + t:
                continue  # not overlapping the proposed meeting (incl. travel)
            found.append((d, s))
    # the preferred notice first (a lower tier of the objective), then early
    found.sort(key=lambda f: (f[0] in p.short, f))
    on_time = [f for f in found if f[0] <= deadline_day]
    late = [f for f in found if f[0] > deadline_day]
    chosen: list[tuple[int, int]] = []
    for pool in (on_time, late):
        # first one per day, then fill with further slots of days already used
        used_days = {d for d, _ in chosen}
        for d, s in pool:
            if len(chosen) < count and d not in used_days:
                chosen.append((d, s))
                used_days.add(d)
        for d, s in pool:
            if len(chosen) < count and (d, s) not in chosen:
                chosen.append((d, s))
        if len(chosen) >= count:
            break
    chosen.sort()
    return [{"start": moment_of(instance, s).isoformat(timespec="minutes"),
             "end": moment_of(instance, s + p.duration(target)).isoformat(timespec="minutes"),
             "travel_minutes": t} for _, s in chosen[:count]]


def _talk(instance: Instance, item: dict[str, Any]) -> tuple[int, int] | None:
    """The (day, start) of an assignment's new private talk in the plan, if any."""
    talk = item.get("private_talk")
    if not isinstance(talk, dict) or not isinstance(talk.get("start"), str):
        return None
    start = minute_of(instance, datetime.fromisoformat(talk["start"]))
    return start // 1440, start


def alternatives_for(instance: Instance, plan: Plan | dict[str, Any], case_ids: list[str],
                     count: int = 2) -> dict[str, list[dict[str, Any]]]:
    """`alternatives` for each of `case_ids`, the instance prepared and the plan read once
    (the same slots as calling `alternatives` per case)."""
    if not case_ids:
        return {}
    data = plan.to_json() if isinstance(plan, Plan) else plan
    p = prepare(instance)
    return {case_id: alternatives(instance, data, case_id, count, prepared=p)
            for case_id in case_ids}
