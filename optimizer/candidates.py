"""Pruning and the consultant-day schedule shared by the solvers.

`Prepared` holds what every solver needs, computed once: the planning days (rule 5), each
consultant's free time per day (working hours minus busy minus kept meetings, rules 7 and 9),
travel minutes (rule 6), the eligible consultants per case (rule 2) and room (rule 3), and
for rule 10 the days and open time on which private talks may be held (kept talks taken out).
`Schedule` is a mutable calendar of placed meetings and private talks with exact feasibility
checks; the greedy baseline, the CP-SAT repair step and `alternatives` all place meetings
through it, and a meeting that needs a private talk is placed with its talk on an earlier day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimizer.calendar import (
    DAY,
    EARTH_RADIUS_KM,
    occupied,
    overlaps,
    planning_days,
    short_notice_days,
    subtract,
    talk_days,
    to_minutes,
    travel_minutes,
    working_window,
)
from optimizer.instance import Case, Instance, minute_of


@dataclass
class Prepared:
    """Instance-derived data for the solvers (indices into instance.consultants/cases)."""

    instance: Instance
    days: list[int]
    # free[c][d]: free intervals (absolute minutes) of consultant c on day index d
    free: list[dict[int, list[tuple[int, int]]]]
    kept_count: dict[tuple[int, int], int]
    travel: np.ndarray  # travel[i, c] one-way minutes, case i's employer to consultant c
    eligible: list[list[int]]
    room: list[int]  # rule 3: how many more new cases consultant c may take
    unavailable: list[list[tuple[int, int]]]  # per case, employer unavailable (minutes)
    kept: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # i -> (c, d, start)
    # tmax[kind][c, k]: largest one-way travel with which some meeting of that kind still fits
    # into consultant c's free time on day days[k] (-1: none fits); monotone in travel.
    tmax: dict[str, np.ndarray] = field(default_factory=dict)
    cindex: dict[str, int] = field(default_factory=dict)
    # Rule 10, private talks: the days they may be on, each consultant's open time on those
    # days (working hours minus busy, kept meetings and kept talks; not closed by rule 8,
    # talks do not count there), kept talks i -> (c, d, start), the cases a kept talk alone
    # ties to a new owner (i -> c, room already used), and per consultant the first talk day
    # with a free talk slot before anything is planned (None: none).
    talk_days: list[int] = field(default_factory=list)
    open: list[dict[int, list[tuple[int, int]]]] = field(default_factory=list)
    kept_talk: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    pinned: dict[int, int] = field(default_factory=dict)
    first_talk_day: list[int | None] = field(default_factory=list)
    # Objective, lower tiers: days with less notice than preferred; and rule 11, per case with
    # a proposal whether its time was still possible when planning began (`optimizer.proposals`)
    short: frozenset[int] = frozenset()
    proposal_possible: dict[int, bool] = field(default_factory=dict)
    # per case, `unavailable` by day index: the intervals that touch the day, in their order
    unavailable_days: list[dict[int, list[tuple[int, int]]]] = field(default_factory=list)

    def day_order(self, i: int, days: list[int] | None = None) -> list[int]:
        """`days` (default: all planning days) in the order case i's meeting prefers them:
        on time before late, then enough notice before short notice, then early."""
        due = (self.instance.cases[i].deadline - self.instance.as_of).days
        days = self.days if days is None else days
        if not self.short:
            return days
        return sorted(days, key=lambda d: (d > due, d in self.short, d))

    def fixed_rank(self, i: int, c: int) -> int:
        """Rule 2 under "preferred": 2 for case i's fixed consultant, 1 for one of that
        consultant's team, 0 otherwise (always 0 under "hard")."""
        inst = self.instance
        return inst.fixed_rank(inst.cases[i], inst.consultants[c])

    def duration(self, i: int) -> int:
        """Meeting minutes of case i's kind."""
        return self.instance.meeting_minutes[self.instance.cases[i].follow_up]

    def trip(self, i: int, c: int) -> int:
        """One-way travel that occupies the consultant (0 for jobcenter meetings, rule 6)."""
        if self.instance.cases[i].follow_up == "workplace_meeting":
            return int(self.travel[i, c])
        return 0

    def occupied_minutes(self, i: int, c: int) -> int:
        """Minutes case i's meeting occupies consultant c incl. travel both ways (rule 6)."""
        return self.duration(i) + 2 * self.trip(i, c)

    def is_new(self, i: int) -> bool:
        """A case without a current owner uses capacity when assigned (rule 3); a case tied to
        its consultant by a kept talk alone used it already (`pinned`)."""
        return self.instance.cases[i].consultant_id is None and i not in self.pinned

    @property
    def talk_minutes(self) -> int:
        """Length of a private talk (rule 10)."""
        return self.instance.private_talk_minutes

    def needs_talk(self, i: int) -> bool:
        """Rule 10: case i's new workplace meeting needs a new private talk before it."""
        return self.instance.cases[i].wants_new_talk

    def not_before(self, i: int) -> int:
        """The first day index case i's new meeting may be on after its kept talk, if any
        (rule 10: strictly after the talk's date); 0 otherwise."""
        kept = self.kept_talk.get(i)
        return 0 if kept is None else kept[1] + 1


def travel_matrix(instance: Instance) -> np.ndarray:
    """Rule 6 for every case employer x consultant pair, vectorised (same formula)."""
    cases, consultants = instance.cases, instance.consultants
    if not cases or not consultants:
        return np.zeros((len(cases), len(consultants)), dtype=np.int64)
    lat1 = np.radians([c.employer.location.lat for c in cases])[:, None]
    lon1 = np.radians([c.employer.location.lon for c in cases])[:, None]
    lat2 = np.radians([c.location.lat for c in consultants])[None, :]
    lon2 = np.radians([c.location.lon for c in consultants])[None, :]
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    minutes = np.ceil(np.round(km * instance.road_factor / instance.speed_kmh * 60, 9))
    out = minutes.astype(np.int64)
    # the scalar formula is the reference; numpy's trig may differ in the last ulp
    for i, j in zip(*np.nonzero(np.abs(km * instance.road_factor / instance.speed_kmh * 60
                                       - np.round(km * instance.road_factor
                                                  / instance.speed_kmh * 60)) < 1e-6),
                    strict=True):
        out[i, j] = travel_minutes(instance, cases[i].employer.location,
                                   consultants[j].location)
    return out


def eligible_consultants(instance: Instance, case: Case) -> list[int]:
    """Rule 2: kept owner; else a fixed-employer consultant if any; workplace-capable only.
    A kept meeting (rule 9) or a kept talk (rule 10: same consultant) ties the case."""
    consultants = instance.consultants
    pinned = case.pinned_consultant
    if pinned is not None:
        pool = [k for k, c in enumerate(consultants) if c.id == pinned]
    elif case.consultant_id is not None:
        pool = [k for k, c in enumerate(consultants) if c.id == case.consultant_id]
    else:
        fixed = [k for k, c in enumerate(consultants) if case.employer.cvr in c.fixed_employers]
        if not instance.fixed_is_hard:
            fixed = []  # "preferred": anyone, the fixed consultant first (objective)
        pool = fixed or list(range(len(consultants)))
    if case.follow_up == "workplace_meeting" and case.consultant_id is None \
            and pinned is None:
        pool = [k for k in pool if consultants[k].workplace_meetings]
    return pool


def meeting_allowed(instance: Instance, case: Case, consultant: int) -> bool:
    """Rule 2: a workplace meeting only with a workplace-capable consultant (a kept owner who
    is not keeps the case, without a meeting)."""
    return case.follow_up != "workplace_meeting" or \
        instance.consultants[consultant].workplace_meetings


def prepare(instance: Instance, like: Prepared | None = None) -> Prepared:
    """Compute the shared, solver-independent data (see the module docstring).

    `like`: the Prepared of an instance with the same employers (the very objects, case by
    case), consultants, day and travel settings (`keep_proposals`' derived instance): its
    travel minutes and employer unavailability are taken over instead of computed again.
    """
    days = planning_days(instance)
    cindex = {c.id: k for k, c in enumerate(instance.consultants)}
    reuse = like if like is not None and _same_employers(like.instance, instance) else None
    travel = reuse.travel if reuse is not None else travel_matrix(instance)
    room = [max(0, c.max_active_cases - c.active_cases) for c in instance.consultants]

    kept: dict[int, tuple[int, int, int]] = {}
    blocks: list[list[tuple[int, int]]] = [to_minutes(instance, c.busy)
                                           for c in instance.consultants]
    kept_count: dict[tuple[int, int], int] = {}
    for i, case in enumerate(instance.cases):
        if case.meeting is None:
            continue
        c = cindex[case.meeting.consultant_id]
        start = minute_of(instance, case.meeting.start)
        d = start // DAY
        kept[i] = (c, d, start)
        t = int(travel[i, c])
        blocks[c].append(occupied(case.follow_up, start,
                                  instance.meeting_minutes[case.follow_up], t))
        kept_count[c, d] = kept_count.get((c, d), 0) + 1
        if case.consultant_id is None:
            room[c] -= 1  # a kept meeting with a new owner uses that owner's room (rule 3)

    # Rule 10: kept talks occupy their consultant from start to end (no travel); a kept talk
    # without a kept meeting ties a new case to its consultant, who gives it room (rule 3).
    kept_talk: dict[int, tuple[int, int, int]] = {}
    pinned: dict[int, int] = {}
    talk_len = instance.private_talk_minutes
    for i, case in enumerate(instance.cases):
        if case.private_talk is None:
            continue
        c = cindex[case.private_talk.consultant_id]
        start = minute_of(instance, case.private_talk.start)
        kept_talk[i] = (c, start // DAY, start)
        blocks[c].append((start, start + talk_len))
        if case.consultant_id is None and case.meeting is None:
            pinned[i] = c
            room[c] -= 1

    t_days = talk_days(instance)
    free: list[dict[int, list[tuple[int, int]]]] = []
    open_time: list[dict[int, list[tuple[int, int]]]] = []
    meeting_days = set(days)
    for k, consultant in enumerate(instance.consultants):
        per_day: dict[int, list[tuple[int, int]]] = {}
        open_day: dict[int, list[tuple[int, int]]] = {}
        for d in sorted(meeting_days.union(t_days)):
            window = working_window(instance, consultant, d)
            if window is None:
                continue
            gaps = subtract([window], [b for b in blocks[k]
                                       if b[1] > window[0] and b[0] < window[1]])
            if not gaps:
                continue
            if d in meeting_days and \
                    kept_count.get((k, d), 0) < consultant.max_meetings_per_day:
                per_day[d] = gaps  # rule 8: a day full of kept meetings takes no more
            open_day[d] = gaps
        free.append(per_day)
        open_time.append({d: v for d, v in open_day.items() if d in t_days})

    unavailable, unavailable_days = (reuse.unavailable, reuse.unavailable_days) \
        if reuse is not None else _unavailable_minutes(instance)
    prepared = Prepared(
        instance=instance, days=days, free=free, kept_count=kept_count, travel=travel,
        eligible=[eligible_consultants(instance, case) for case in instance.cases],
        room=room,
        unavailable=unavailable, unavailable_days=unavailable_days,
        kept=kept, cindex=cindex, talk_days=t_days, open=open_time, kept_talk=kept_talk,
        pinned=pinned, short=short_notice_days(instance))
    prepared.tmax = {kind: _tmax(prepared, kind) for kind in instance.meeting_minutes}
    prepared.first_talk_day = [
        next((d for d in t_days if talk_starts(prepared, c, d)), None)
        for c in range(len(instance.consultants))]
    return prepared


def _same_employers(a: Instance, b: Instance) -> bool:
    """Whether the travel minutes and employer unavailability of `a` are `b`'s."""
    return a.consultants is b.consultants and a.as_of == b.as_of and \
        a.road_factor == b.road_factor and a.speed_kmh == b.speed_kmh and \
        len(a.cases) == len(b.cases) and \
        all(x.employer is y.employer for x, y in zip(a.cases, b.cases, strict=True))


def _unavailable_minutes(instance: Instance
                         ) -> tuple[list[list[tuple[int, int]]],
                                    list[dict[int, list[tuple[int, int]]]]]:
    """Per case, its employer's unavailability in minutes (`to_minutes`) and those by the day
    indices they touch, computed once per distinct list of intervals: cases of one employer
    share their Interval objects (`parse_instance` reads each interval once), and so these."""
    memo: dict[tuple[int, ...], tuple[list[tuple[int, int]],
                                      dict[int, list[tuple[int, int]]]]] = {}
    minutes_out, days_out = [], []
    for case in instance.cases:
        intervals = case.employer.unavailable
        # the objects are alive throughout, so their ids name them
        key = tuple(map(id, intervals))
        found = memo.get(key)
        if found is None:
            minutes = to_minutes(instance, intervals)
            by_day: dict[int, list[tuple[int, int]]] = {}
            for a, b in minutes:
                # [a, b) touches day d iff b > d * DAY and a < (d + 1) * DAY
                for d in range(a // DAY, (b - 1) // DAY + 1):
                    by_day.setdefault(d, []).append((a, b))
            found = memo[key] = (minutes, by_day)
        minutes_out.append(found[0])
        days_out.append(found[1])
    return minutes_out, days_out


def talk_starts(p: Prepared, c: int, d: int,
                taken: list[tuple[int, int]] = ()) -> list[int]:  # type: ignore[assignment]
    """Rule 10: grid starts for a private talk of consultant c on talk day d, inside open
    time (working hours, no busy time, no kept meeting or talk) and avoiding `taken`."""
    g, length = p.instance.slot_minutes, p.talk_minutes
    out = []
    for a, b in p.open[c].get(d, ()):
        s = d * DAY + math.ceil((a - d * DAY) / g) * g
        while s + length <= b:
            if not any(overlaps((s, s + length), x) for x in taken):
                out.append(s)
            s += g
    return out


def talk_capacity(p: Prepared, c: int, d: int) -> int:
    """An upper bound on the private talks consultant c can hold on day d (rule 10)."""
    g, length = p.instance.slot_minutes, p.talk_minutes
    total = 0
    for a, b in p.open[c].get(d, ()):
        first = d * DAY + math.ceil((a - d * DAY) / g) * g
        total += max(0, (b - first) // length)
    return total


def _tmax(p: Prepared, kind: str) -> np.ndarray:
    g = p.instance.slot_minutes
    dur = p.instance.meeting_minutes[kind]
    out = np.full((len(p.instance.consultants), len(p.days)), -1, dtype=np.int64)
    for c, per_day in enumerate(p.free):
        for k, d in enumerate(p.days):
            best = -1
            for a, b in per_day.get(d, ()):
                best = max(best, best_margin(d * DAY, g, a, b - dur))
            out[c, k] = best
    return out


def best_margin(base: int, g: int, a: int, last: int) -> int:
    """max over grid starts s (base + m*g, a <= s <= last) of min(s - a, last - s); -1 when
    there is none. The margin is concave in s and peaks at (a + last) / 2, so the best start
    is the grid start just below or just above the peak (within the range): the same value
    as trying every start, in constant time."""
    first = -((base - a) // g)  # ceil((a - base) / g)
    final = (last - base) // g
    if first > final:
        return -1
    below = min(max((a + last - 2 * base) // (2 * g), first), final)
    best = -1
    for m in (below, min(below + 1, final)):
        s = base + m * g
        best = max(best, min(s - a, last - s))
    return best


def day_feasible(p: Prepared) -> np.ndarray:
    """ok[i, c, k]: some start for case i with consultant c on day days[k] may exist.

    Exact for cases without employer unavailability on that day (by monotonicity of tmax in
    travel); otherwise an over-approximation that `feasible_starts` settles.
    """
    n, m = len(p.instance.cases), len(p.instance.consultants)
    ok = np.zeros((n, m, len(p.days)), dtype=bool)
    for i, case in enumerate(p.instance.cases):
        if not case.needs_meeting or i in p.kept:
            continue
        elig = [c for c in p.eligible[i] if meeting_allowed(p.instance, case, c)]
        if not elig:
            continue
        tm = p.tmax[case.follow_up][elig]  # (len(elig), days)
        need = p.travel[i, elig][:, None] if case.follow_up == "workplace_meeting" else 0
        ok[i, elig] = tm >= need
        # Rule 10: a meeting that needs a talk only after the consultant's first talk day; a
        # case with a kept talk only after the talk's date.
        day_arr = np.array(p.days, dtype=np.int64)
        if p.needs_talk(i):
            for c in elig:
                first = p.first_talk_day[c]
                ok[i, c] &= day_arr > (first if first is not None else 1 << 30)
        elif i in p.kept_talk:
            ok[i, elig] &= day_arr[None, :] >= p.not_before(i)
    return ok


def feasible_starts(p: Prepared, i: int, c: int, d: int,
                    taken: list[tuple[int, int]] = (),  # type: ignore[assignment]
                    employer: bool = True) -> list[int]:
    """Grid starts (rules 5-7) for case i with consultant c on day d, avoiding `taken`.

    With `employer` False the employer's unavailability is ignored (the consultant's side
    alone, which `explain` uses to tell the two apart).
    """
    inst = p.instance
    g = inst.slot_minutes
    dur = p.duration(i)
    t = p.trip(i, c)
    kind = inst.cases[i].follow_up
    if not meeting_allowed(inst, inst.cases[i], c):
        return []
    unavailable = p.unavailable_days[i].get(d, ()) if employer else ()
    out: list[int] = []
    for a, b in p.free[c].get(d, ()):
        s = d * DAY + math.ceil((a + t - d * DAY) / g) * g
        if not unavailable and not taken:  # every grid start of the gap fits
            out.extend(range(s, b - dur - t + 1, g))
            continue
        while s + dur + t <= b:
            occ = occupied(kind, s, dur, t)
            if not any(overlaps((s, s + dur), u) for u in unavailable) and \
                    not any(overlaps(occ, x) for x in taken):
                out.append(s)
            s += g
    return out


def start_span(p: Prepared, i: int, c: int, d: int) -> tuple[int, int] | None:
    """The first and the last of `feasible_starts(p, i, c, d)` (None when there is none),
    found without listing the starts between them."""
    inst = p.instance
    case = inst.cases[i]
    if not meeting_allowed(inst, case, c):
        return None
    gaps = p.free[c].get(d)
    if not gaps:
        return None
    g = inst.slot_minutes
    dur = inst.meeting_minutes[case.follow_up]
    t = int(p.travel[i, c]) if case.follow_up == "workplace_meeting" else 0
    base = d * DAY
    unavailable = p.unavailable_days[i].get(d, ())
    first: int | None = None
    for a, b in gaps:  # the first gap with a start, its first start that fits
        s = base - ((base - a - t) // g) * g  # the first grid start at a + t or later
        while s + dur + t <= b:
            if not any(s < u[1] and u[0] < s + dur for u in unavailable):
                first = s
                break
            s += g
        if first is not None:
            break
    if first is None:
        return None
    for a, b in reversed(gaps):  # the last gap with a start, its last start that fits
        lowest = base - ((base - a - t) // g) * g
        s = lowest + ((b - dur - t - lowest) // g) * g  # the last grid start that ends in time
        while s >= lowest:
            if not any(s < u[1] and u[0] < s + dur for u in unavailable):
                return first, s
            s -= g
    return None  # not reached: `first` is a start


# (day, start) of a private talk; a schedule keeps it with its consultant (rule 10)
Talk = tuple[int, int]


class Schedule:
    """Meetings and private talks placed so far, per consultant-day, with the assignment loads
    (rules 3, 7, 8 and 10). Talks take time in `taken` but do not count in `count`."""

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self.count: dict[tuple[int, int], int] = dict(p.kept_count)
        self.room = list(p.room)
        self.new_load = [0] * len(p.instance.consultants)
        self.meeting: dict[int, tuple[int, int, int]] = {}  # i -> (c, d, start)
        self.talk: dict[int, tuple[int, int, int]] = {}  # i -> (c, d, start), new talks only
        self.owner: dict[int, int] = {}
        # consultant -> first talk day with a free talk slot given what is placed (a cache)
        self._first_talk: dict[int, int | None] = {}
        for i, (c, d, start) in p.kept.items():
            self.meeting[i] = (c, d, start)
            self.owner[i] = c
            if p.is_new(i):
                self.new_load[c] += 1
        for i, c in p.pinned.items():  # a kept talk ties the case (its room is used already)
            self.owner[i] = c
            self.new_load[c] += 1

    def has_room(self, i: int, c: int) -> bool:
        """Rule 3: a new case needs room; a kept owner's case does not."""
        return not self.p.is_new(i) or self.room[c] > 0

    def day_open(self, c: int, d: int) -> bool:
        """Rule 8: fewer than max_meetings_per_day meetings that day."""
        return self.count.get((c, d), 0) < self.p.instance.consultants[c].max_meetings_per_day

    # -- rule 10: private talks ------------------------------------------------------------------

    def talk_starts(self, c: int, d: int, ignore: int | None = None) -> list[int]:
        """Free grid starts for a private talk of consultant c on day d given what is placed
        (with case `ignore`'s own meeting and talk taken out, if given)."""
        taken = self.taken.get((c, d), [])
        if ignore is not None:
            own = self._own_intervals(ignore, c, d)
            if own:
                taken = [x for x in taken if x not in own]
        return talk_starts(self.p, c, d, taken)

    def _own_intervals(self, i: int, c: int, d: int) -> list[tuple[int, int]]:
        out = []
        if i in self.meeting and i not in self.p.kept and self.meeting[i][:2] == (c, d):
            start = self.meeting[i][2]
            out.append(occupied(self.p.instance.cases[i].follow_up, start,
                                self.p.duration(i), self.p.trip(i, c)))
        if i in self.talk and self.talk[i][:2] == (c, d):
            out.append((self.talk[i][2], self.talk[i][2] + self.p.talk_minutes))
        return out

    def first_talk_day(self, c: int) -> int | None:
        """The first day on which consultant c has a free talk slot (None: no day)."""
        if c not in self._first_talk:
            self._first_talk[c] = next(
                (d for d in self.p.talk_days if self.talk_starts(c, d)), None)
        return self._first_talk[c]

    def talk_allows(self, i: int, c: int, d: int, ignore_own: bool = False) -> bool:
        """Rule 10 for case i's meeting with consultant c on day d: a kept talk is on an
        earlier date; a talk still needed has a free slot with c on an earlier day."""
        if d < self.p.not_before(i):
            return False
        if not self.p.needs_talk(i):
            return True
        if ignore_own:
            return any(self.talk_starts(c, t, ignore=i) for t in self.p.talk_days if t < d)
        first = self.first_talk_day(c)
        return first is not None and first < d

    def choose_talk(self, i: int, c: int, d: int, prefer_day: int | None = None
                    ) -> Talk | None:
        """A free talk slot with consultant c before day d for case i, or None.

        The model's day (`prefer_day`) if it has room; else the slot that costs the meetings
        least: on a day that takes no more meetings or in a gap too short for any meeting
        first, then at a gap's edge, then anywhere; among equals the latest day (early days
        are the ones on-time meetings compete for) and the earliest start.
        """
        if prefer_day is not None and prefer_day < d:
            found = self._best_talk_on(c, prefer_day)
            if found is not None:
                return prefer_day, found[1]
        best: tuple[int, int, int] | None = None  # (cost, day, start)
        for t in reversed(self.p.talk_days):
            if t >= d:
                continue
            found = self._best_talk_on(c, t)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], t, found[1])
                if best[0] == 0:
                    break
        return None if best is None else (best[1], best[2])

    def _best_talk_on(self, c: int, d: int) -> tuple[int, int] | None:
        """The cheapest free talk start of consultant c on day d as (cost, start): cost 0 when
        no meeting could use the slot, 1 at the edge of a free gap, 2 inside one."""
        g, length = self.p.instance.slot_minutes, self.p.talk_minutes
        harmless = d not in self.p.free[c] or not self.day_open(c, d)
        shortest = min(self.p.instance.meeting_minutes.values())
        best: tuple[int, int] | None = None
        for a, b in subtract(self.p.open[c].get(d, []), self.taken.get((c, d), [])):
            s = d * DAY + math.ceil((a - d * DAY) / g) * g
            while s + length <= b:
                if harmless or b - a < shortest:
                    return 0, s
                cost = 1 if s - a < g or b - (s + length) < g else 2
                if best is None or cost < best[0]:
                    best = (cost, s)
                s += g
        return best

    def _take(self, c: int, d: int, interval: tuple[int, int]) -> None:
        self.taken.setdefault((c, d), []).append(interval)
        self._first_talk.pop(c, None)

    def _free(self, c: int, d: int, interval: tuple[int, int]) -> None:
        self.taken[c, d].remove(interval)
        self._first_talk.pop(c, None)

    # -- meetings --------------------------------------------------------------------------------

    def starts(self, i: int, c: int, d: int, with_talk: bool = True) -> list[int]:
        """Feasible starts for case i at consultant c on day d given what is placed (rule 10's
        talk included unless `with_talk` is False)."""
        if not self.day_open(c, d):
            return []
        if with_talk and not self.talk_allows(i, c, d):
            return []
        return feasible_starts(self.p, i, c, d, self.taken.get((c, d), []))

    def assign(self, i: int, c: int) -> None:
        """Give case i to consultant c (uses room when the case is new, rule 3)."""
        if i in self.owner:
            return
        self.owner[i] = c
        if self.p.is_new(i):
            self.room[c] -= 1
            self.new_load[c] += 1

    def unassign(self, i: int) -> None:
        """Undo `assign` (and drop the meeting)."""
        self.unplace(i)
        c = self.owner.pop(i, None)
        if c is not None and self.p.is_new(i):
            self.room[c] += 1
            self.new_load[c] -= 1

    def place(self, i: int, c: int, d: int, start: int, talk: Talk | None = None,
              talk_day: int | None = None) -> None:
        """Put case i's meeting at start (caller checked feasibility, e.g. with `starts`).

        A meeting that needs a private talk (rule 10) gets it too: at `talk` if given, else
        the slot `choose_talk` picks (on `talk_day` when that day has one).
        """
        if self.p.needs_talk(i):
            talk = talk or self.choose_talk(i, c, d, talk_day)
            if talk is None:
                raise ValueError(f"case {self.p.instance.cases[i].id}: no free slot for its "
                                 "private talk before the meeting (rule 10)")
        self.assign(i, c)
        kind = self.p.instance.cases[i].follow_up
        self._take(c, d, occupied(kind, start, self.p.duration(i), self.p.trip(i, c)))
        self.count[c, d] = self.count.get((c, d), 0) + 1
        self.meeting[i] = (c, d, start)
        if self.p.needs_talk(i) and talk is not None:
            self._take(c, talk[0], (talk[1], talk[1] + self.p.talk_minutes))
            self.talk[i] = (c, talk[0], talk[1])

    def unplace(self, i: int) -> None:
        """Remove case i's (non-kept) meeting and its private talk, keeping the assignment."""
        if i in self.p.kept or i not in self.meeting:
            return
        c, d, start = self.meeting.pop(i)
        kind = self.p.instance.cases[i].follow_up
        self._free(c, d, occupied(kind, start, self.p.duration(i), self.p.trip(i, c)))
        self.count[c, d] -= 1
        if i in self.talk:
            tc, td, ts = self.talk.pop(i)
            self._free(tc, td, (ts, ts + self.p.talk_minutes))

    def saved(self, i: int) -> tuple[tuple[int, int, int] | None, Talk | None]:
        """Case i's meeting and talk as they are, for `restore` after a trial move."""
        talk = self.talk.get(i)
        return self.meeting.get(i), (None if talk is None else (talk[1], talk[2]))

    def restore(self, i: int, saved: tuple[tuple[int, int, int] | None, Talk | None]) -> None:
        """Put back what `saved` returned (the case is assigned to that consultant)."""
        meeting, talk = saved
        if meeting is not None:
            self.place(i, *meeting, talk=talk)

    def earliest(self, i: int, c: int, days: list[int] | None = None) -> tuple[int, int] | None:
        """The first feasible (day, start) for case i at consultant c, or None: days in the
        order the case prefers them (`Prepared.day_order`: on time, enough notice, early)."""
        for d in self.p.day_order(i, days):
            if d not in self.p.free[c]:
                continue
            found = self.starts(i, c, d)
            if found:
                return d, found[0]
        return None
