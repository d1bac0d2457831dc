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
    if not instance.cases[target].needs_meeting:
        return []
    p = prepare(instance) if prepared is None else prepared
    return _alone(p, _read(p, data, index), target, count)


# One assignment of the plan as the schedule needs it: (case, consultant, meeting start or
# None, the new private talk (day, start) or None). Assignments naming an unknown case or
# consultant are left out.
_Item = tuple[int, int, int | None, tuple[int, int] | None]


def _read(p: Prepared, data: dict[str, Any], index: dict[str, int]) -> list[_Item]:
    """The plan's assignments, their times in minutes (a kept meeting's time is the
    instance's, so it is not read)."""
    instance = p.instance
    out: list[_Item] = []
    for item in data.get("assignments", []):
        i = index.get(item.get("case_id"))
        c = p.cindex.get(item.get("consultant_id"))
        if i is None or c is None:
            continue
        talk = _talk(instance, item) if p.needs_talk(i) else None
        meeting = item.get("meeting")
        start = None if meeting is None or i in p.kept else \
            minute_of(instance, datetime.fromisoformat(meeting["start"]))
        out.append((i, c, start, talk))
    return out


def _alone(p: Prepared, items: list[_Item], target: int, count: int) -> list[dict[str, Any]]:
    """`alternatives` of case `target` with a schedule of the plan's other meetings built for
    it alone (the reference; `alternatives_for` shares one schedule where that is the same)."""
    schedule = Schedule(p)
    own: tuple[int, int] | None = None
    owner: int | None = None
    after = p.not_before(target)  # rule 10: strictly after the case's talk's date
    for i, c, start, talk in items:
        if i == target:
            owner = c
            if talk is not None:
                after = max(after, talk[0] + 1)
        if start is None:
            continue
        if i == target:
            own = (start, start + p.duration(i))
            continue
        if talk is None and p.needs_talk(i) and schedule.choose_talk(i, c, start // 1440) is None:
            continue  # not a valid plan for this case; its meeting is left out
        schedule.place(i, c, start // 1440, start, talk=talk)
    if owner is None:
        return []
    return _slots(p, schedule, target, owner, after, own, count)


def _slots(p: Prepared, schedule: Schedule, target: int, owner: int, after: int,
           own: tuple[int, int] | None, count: int) -> list[dict[str, Any]]:
    """The slots of case `target` with consultant `owner` on days from `after`, given
    `schedule` (the plan's other meetings and talks) and its own proposed meeting `own`."""
    instance = p.instance
    case = instance.cases[target]
    if target in p.kept:
        own = (p.kept[target][2], p.kept[target][2] + p.duration(target))
    if count <= 0:
        return []
    deadline_day = (case.deadline - instance.as_of).days
    t = p.trip(target, owner)
    dur = p.duration(target)
    free = p.free[owner]
    days = [d for d in p.days if d >= after and d in free]  # a day without free time: no slot
    # Slots on time first, then late; in each the preferred notice first (a lower tier of the
    # objective), then early. From each pool the first slot of each day, then further slots of
    # days already used: so a pool's days are looked at only until `count` days have a slot.
    days.sort(key=lambda d: (d > deadline_day, d in p.short, d))
    chosen: list[tuple[int, int]] = []  # (day, start)
    for pool_days in ([d for d in days if d <= deadline_day],
                      [d for d in days if d > deadline_day]):
        pool: list[tuple[int, int]] = []
        for d in pool_days:
            found = [s for s in schedule.starts(target, owner, d, with_talk=False)
                     # not overlapping the proposed meeting (incl. travel)
                     if own is None or not (s - t < own[1] + t and own[0] - t < s + dur + t)]
            if not found:
                continue
            pool += [(d, s) for s in found]
            chosen.append((d, found[0]))  # a day of this pool: not used before
            if len(chosen) >= count:
                break
        else:  # every day of the pool looked at, too few: further slots of days already used
            for slot in pool:
                if len(chosen) < count and slot not in chosen:
                    chosen.append(slot)
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
                     count: int = 2, prepared: Prepared | None = None
                     ) -> dict[str, list[dict[str, Any]]]:
    """`alternatives` for each of `case_ids`, the instance prepared and the plan read once
    (the same slots as calling `alternatives` per case). `prepared`: `prepare(instance)`
    when the caller has it already (a solved `Plan` carries it: `Plan.prepared`).

    The schedule of the plan's meetings is built once; each case's own meeting and talk are
    taken out while its slots are found, and put back. That is the schedule `alternatives`
    builds for the case alone unless building it chose a talk for some meeting (a plan that
    lacks a needed talk: then the talk chosen depends on what was placed before, the case's
    own meeting included), or the plan names a case twice; then each case gets its own.
    """
    if not case_ids:
        return {}
    if prepared is None and isinstance(plan, Plan):
        prepared = plan.prepared
    if prepared is not None and prepared.instance is not instance:
        prepared = None  # another instance's
    data = plan.to_json() if isinstance(plan, Plan) else plan
    index = {c.id: i for i, c in enumerate(instance.cases)}
    targets = {case_id: index.get(case_id) for case_id in case_ids}
    if all(i is None or not instance.cases[i].needs_meeting for i in targets.values()):
        return {case_id: [] for case_id in case_ids}
    p = prepare(instance) if prepared is None else prepared
    items = _read(p, data, index)
    by_case = {i: (c, start, talk) for i, c, start, talk in items}
    shared = len(by_case) == len(items) and not any(
        start is not None and talk is None and p.needs_talk(i)
        for i, _, start, talk in items)
    if not shared:
        return {case_id: [] if i is None or not instance.cases[i].needs_meeting
                else _alone(p, items, i, count) for case_id, i in targets.items()}
    schedule = Schedule(p)
    for i, c, start, talk in items:
        if start is not None:
            schedule.place(i, c, start // 1440, start, talk=talk)
    out: dict[str, list[dict[str, Any]]] = {}
    for case_id, i in targets.items():
        if i is None or not instance.cases[i].needs_meeting or i not in by_case:
            out[case_id] = []
            continue
        c, start, talk = by_case[i]
        after = p.not_before(i)
        if talk is not None:
            after = max(after, talk[0] + 1)
        if start is None:
            out[case_id] = _slots(p, schedule, i, c, after, None, count)
            continue
        schedule.unplace(i)  # the case's own meeting and talk out while its slots are found
        out[case_id] = _slots(p, schedule, i, c, after, (start, start + p.duration(i)), count)
        schedule.place(i, c, start // 1440, start, talk=talk)
    return out
