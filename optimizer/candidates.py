"""Pruning and the consultant-day schedule shared by the solvers.

`Prepared` holds what every solver needs, computed once: the planning days (rule 5), each
consultant's free time per day (working hours minus busy minus kept meetings, rules 7 and 9),
travel minutes (rule 6), the eligible consultants per case (rule 2) and room (rule 3).
`Schedule` is a mutable calendar of placed meetings with exact feasibility checks; the greedy
baseline, the CP-SAT repair step and `alternatives` all place meetings through it.
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
    subtract,
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
        """A case without a current owner uses capacity when assigned (rule 3)."""
        return self.instance.cases[i].consultant_id is None


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
    """Rule 2: kept owner; else a fixed-employer consultant if any; workplace-capable only."""
    consultants = instance.consultants
    if case.meeting is not None:
        pool = [k for k, c in enumerate(consultants) if c.id == case.meeting.consultant_id]
    elif case.consultant_id is not None:
        pool = [k for k, c in enumerate(consultants) if c.id == case.consultant_id]
    else:
        fixed = [k for k, c in enumerate(consultants) if case.employer.cvr in c.fixed_employers]
        pool = fixed or list(range(len(consultants)))
    if case.follow_up == "workplace_meeting" and case.consultant_id is None \
            and case.meeting is None:
        pool = [k for k in pool if consultants[k].workplace_meetings]
    return pool


def meeting_allowed(instance: Instance, case: Case, consultant: int) -> bool:
    """Rule 2: a workplace meeting only with a workplace-capable consultant (a kept owner who
    is not keeps the case, without a meeting)."""
    return case.follow_up != "workplace_meeting" or \
        instance.consultants[consultant].workplace_meetings


def prepare(instance: Instance) -> Prepared:
    """Compute the shared, solver-independent data (see the module docstring)."""
    days = planning_days(instance)
    cindex = {c.id: k for k, c in enumerate(instance.consultants)}
    travel = travel_matrix(instance)
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

    free: list[dict[int, list[tuple[int, int]]]] = []
    for k, consultant in enumerate(instance.consultants):
        per_day: dict[int, list[tuple[int, int]]] = {}
        for d in days:
            window = working_window(instance, consultant, d)
            if window is None:
                continue
            if kept_count.get((k, d), 0) >= consultant.max_meetings_per_day:
                continue  # rule 8: the day is full already
            gaps = subtract([window], [b for b in blocks[k]
                                       if b[1] > window[0] and b[0] < window[1]])
            if gaps:
                per_day[d] = gaps
        free.append(per_day)

    prepared = Prepared(
        instance=instance, days=days, free=free, kept_count=kept_count, travel=travel,
        eligible=[eligible_consultants(instance, case) for case in instance.cases],
        room=room,
        unavailable=[to_minutes(instance, case.employer.unavailable) for case in instance.cases],
        kept=kept, cindex=cindex)
    prepared.tmax = {kind: _tmax(prepared, kind) for kind in instance.meeting_minutes}
    return prepared


def _tmax(p: Prepared, kind: str) -> np.ndarray:
    g = p.instance.slot_minutes
    dur = p.instance.meeting_minutes[kind]
    out = np.full((len(p.instance.consultants), len(p.days)), -1, dtype=np.int64)
    for c, per_day in enumerate(p.free):
        for k, d in enumerate(p.days):
            best = -1
            for a, b in per_day.get(d, ()):
                s = d * DAY + math.ceil((a - d * DAY) / g) * g
                while s + dur <= b:
                    best = max(best, min(s - a, b - dur - s))
                    s += g
            out[c, k] = best
    return out


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
    unavailable = [u for u in p.unavailable[i] if u[1] > d * DAY and u[0] < (d + 1) * DAY] \
        if employer else []
    out = []
    for a, b in p.free[c].get(d, ()):
        s = d * DAY + math.ceil((a + t - d * DAY) / g) * g
        while s + dur + t <= b:
            occ = occupied(kind, s, dur, t)
            if not any(overlaps((s, s + dur), u) for u in unavailable) and \
                    not any(overlaps(occ, x) for x in taken):
                out.append(s)
            s += g
    return out


class Schedule:
    """Meetings placed so far, per consultant-day, with the assignment loads (rules 3, 7, 8)."""

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self.count: dict[tuple[int, int], int] = dict(p.kept_count)
        self.room = list(p.room)
        self.new_load = [0] * len(p.instance.consultants)
        self.meeting: dict[int, tuple[int, int, int]] = {}  # i -> (c, d, start)
        self.owner: dict[int, int] = {}
        for i, (c, d, start) in p.kept.items():
            self.meeting[i] = (c, d, start)
            self.owner[i] = c
            if p.is_new(i):
                self.new_load[c] += 1

    def has_room(self, i: int, c: int) -> bool:
        """Rule 3: a new case needs room; a kept owner's case does not."""
        return not self.p.is_new(i) or self.room[c] > 0

    def day_open(self, c: int, d: int) -> bool:
        """Rule 8: fewer than max_meetings_per_day meetings that day."""
        return self.count.get((c, d), 0) < self.p.instance.consultants[c].max_meetings_per_day

    def starts(self, i: int, c: int, d: int) -> list[int]:
        """Feasible starts for case i at consultant c on day d given what is placed."""
        if not self.day_open(c, d):
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

    def place(self, i: int, c: int, d: int, start: int) -> None:
        """Put case i's meeting at start (caller checked feasibility)."""
        self.assign(i, c)
        kind = self.p.instance.cases[i].follow_up
        self.taken.setdefault((c, d), []).append(
            occupied(kind, start, self.p.duration(i), self.p.trip(i, c)))
        self.count[c, d] = self.count.get((c, d), 0) + 1
        self.meeting[i] = (c, d, start)

    def unplace(self, i: int) -> None:
        """Remove case i's (non-kept) meeting, keeping the assignment."""
        if i in self.p.kept or i not in self.meeting:
            return
        c, d, start = self.meeting.pop(i)
        kind = self.p.instance.cases[i].follow_up
        self.taken[c, d].remove(occupied(kind, start, self.p.duration(i), self.p.trip(i, c)))
        self.count[c, d] -= 1

    def earliest(self, i: int, c: int, days: list[int] | None = None) -> tuple[int, int] | None:
        """Earliest (day, start) for case i at consultant c, or None."""
        for d in self.p.days if days is None else days:
            if d not in self.p.free[c]:
                continue
            found = self.starts(i, c, d)
            if found:
                return d, found[0]
        return None
