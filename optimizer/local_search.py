"""Local search on a schedule: repair missing meetings, turn late or missing ones on time.

Every move goes through `Schedule`, so rules 1-10 hold throughout (a meeting
moves with its private talk).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from optimizer import timing
from optimizer.candidates import Prepared, Schedule
from optimizer.greedy import load_ratio


def repair(p: Prepared, schedule: Schedule, missing: list[int], on: np.ndarray) -> None:
    """Insert meetings for `missing` cases: on time anywhere first, then the earliest late."""
    inst = p.instance
    missing = sorted(missing, key=inst.priority)
    for late_pass in (False, True):
        for i in missing:
            if i in schedule.meeting:
                continue
            owner = schedule.owner.get(i)
            pool = [owner] if owner is not None else \
                [c for c in p.eligible[i] if schedule.has_room(i, c)]
            pool.sort(key=lambda c: (load_ratio(schedule, c), inst.consultants[c].id))
            days = [d for k, d in enumerate(p.days) if on[i, k] != late_pass]
            best: tuple[int, int, int] | None = None
            best_key: tuple[int, bool, int] | None = None
            for c in pool:
                slot = schedule.earliest(i, c, days)
                # the lower tiers: fixed consultant (or team), preferred notice, then early
                key = None if slot is None else \
                    (-p.fixed_rank(i, c), slot[0] in p.short, slot[0])
                if key is not None and (best_key is None or key < best_key):
                    best, best_key = (c, slot[0], slot[1]), key
            if best is not None:
                if owner is None:
                    schedule.assign(i, best[0])
                schedule.place(i, *best)


def improve(p: Prepared, schedule: Schedule, ok_day: np.ndarray, stop: float) -> None:
    """Local search: make late or missing meetings on time (never losing a meeting).

    Per such case i (first meetings first, then earliest deadline), over consultant-days on
    time for i: place i directly if it fits; else eject one meeting j of that day whose case
    can be re-placed elsewhere, on time if it was on time (any slot otherwise) — or late, when
    i weighs more than j (`Instance.on_time_weights`: a first meeting displacing a
    follow-up) — and put i in its place. So each step raises the weighted on-time count.
    Every move keeps rules 1-10 (all placements go through `Schedule`).
    """
    inst = p.instance
    due = [(case.deadline - inst.as_of).days for case in inst.cases]
    targets = sorted((i for i, case in enumerate(inst.cases)
                      if case.needs_meeting and i not in p.kept
                      and not (i in schedule.meeting and schedule.meeting[i][1] <= due[i])),
                     key=inst.priority)
    for i in targets:
        if timing.now() > stop:
            return
        _lift(p, schedule, i, ok_day, due, stop)


def _lift(p: Prepared, schedule: Schedule, i: int, ok_day: np.ndarray, due: list[int],
          stop: float) -> bool:
    """One `improve` step for case i; True when i got an on-time meeting."""
    inst = p.instance
    owner = schedule.owner.get(i)
    options: list[tuple[int, int]] = []  # on-time (consultant, day) pairs for i
    for c, k in zip(*(a.tolist() for a in np.nonzero(ok_day[i])), strict=True):
        if p.days[k] <= due[i] and (c == owner or not p.is_new(i) or schedule.room[c] > 0):
            options.append((c, p.days[k]))
    if not options:
        return False
    options.sort(key=lambda cd: (-p.fixed_rank(i, cd[0]), cd[1] in p.short, cd[1],
                                 inst.consultants[cd[0]].id))
    before_owner, before = owner, schedule.saved(i)
    weights = inst.on_time_weights

    def move_i(c: int, d: int, start: int) -> None:
        if schedule.owner.get(i) != c:
            schedule.unassign(i)
        else:
            schedule.unplace(i)
        schedule.place(i, c, d, start)

    def restore_i() -> None:
        schedule.unassign(i)
        if before_owner is not None:
            schedule.assign(i, before_owner)
            schedule.restore(i, before)

    for c, d in options:
        found = schedule.starts(i, c, d)
        if found:
            move_i(c, d, found[0])
            return True
    by_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    for j, (c, d, _) in schedule.meeting.items():
        if j not in p.kept and j != i:
            by_cd[c, d].append(j)
    for c, d in options:
        if timing.now() > stop:
            return False
        for j in sorted(by_cd.get((c, d), ())):
            cj = schedule.meeting[j][0]
            saved_j = schedule.saved(j)
            schedule.unplace(j)
            found = schedule.starts(i, c, d)
            if not found:
                schedule.restore(j, saved_j)
                continue
            move_i(c, d, found[0])
            was_on_time = saved_j[0][1] <= due[j]
            if _relocate(p, schedule, j, cj, was_on_time, due):
                return True
            # the first-meeting weighting: a first meeting made on time is worth more than
            # the follow-up on time it displaces (which keeps a meeting, late)
            if was_on_time and weights[i] > weights[j] \
                    and _relocate(p, schedule, j, cj, False, due):
                return True
            # undo in reverse order: i's new meeting and talk out, then both back as they were
            # (their old slots are free again, so their talks fit where they were, rule 10)
            schedule.unplace(i)
            restore_i()
            schedule.restore(j, saved_j)
    return False


def _relocate(p: Prepared, schedule: Schedule, j: int, cj: int, on_time: bool,
              due: list[int]) -> bool:
    """Give unplaced case j (owned by cj) a meeting: on time when `on_time`, else any."""
    inst = p.instance
    days = [d for d in p.days if d <= due[j]] if on_time else p.days
    pool = [cj] + sorted((c for c in p.eligible[j] if c != cj and p.is_new(j)
                          and schedule.room[c] > 0),
                         key=lambda c: (-p.fixed_rank(j, c), load_ratio(schedule, c),
                                        inst.consultants[c].id))
    for c in pool:
        slot = schedule.earliest(j, c, days)
        if slot is not None:
            if c != cj:
                schedule.unassign(j)
            schedule.place(j, c, slot[0], slot[1])
            return True
    return False
