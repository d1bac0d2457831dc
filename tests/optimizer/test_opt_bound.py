"""`upper_bound_on_time` is a proven upper bound: above both solvers, and above the true optimum
found by brute force on tiny instances."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

import optimizer
from optimizer.calendar import occupied, overlaps
from optimizer.candidates import Prepared, Schedule, feasible_starts, prepare
from optimizer.generator import generate_instance
from optimizer.plan import build_plan
from tests.optimizer.opt_helpers import HERNING, IKAST, NEAR, case, consultant, instance


@pytest.mark.parametrize("seed,cases,consultants,tight", [
    (s, n, m, t) for s, (n, m, t) in enumerate(
        [(12, 2, True), (20, 2, False), (25, 3, True), (30, 3, False), (18, 1, True),
         (35, 4, True), (15, 2, False), (28, 2, True), (40, 5, False), (22, 3, True)], 1)])
def test_bound_above_both_solvers(seed: int, cases: int, consultants: int,
                                  tight: bool) -> None:
    inst = optimizer.parse_instance(generate_instance(cases, consultants, seed=seed,
                                                      tight=tight))
    greedy = optimizer.solve(inst, solver="greedy")
    cpsat = optimizer.solve(inst, solver="cpsat", time_limit=2, seed=0)
    assert optimizer.validate(inst, greedy) == []
    assert optimizer.validate(inst, cpsat) == []
    bound = cpsat.metrics["upper_bound_on_time"]
    assert bound >= cpsat.metrics["meetings_on_time"] >= greedy.metrics["meetings_on_time"]
    assert bound <= cpsat.metrics["meetings_needed"]


def _tiny(rng: random.Random) -> dict[str, Any]:
    """A random tiny instance: 3 planning days (Wed-Fri), short days, few slots."""
    places = [HERNING, NEAR, IKAST, {"lat": 56.25, "lon": 8.80}]
    people = []
    for k in range(rng.choice([1, 2, 2, 3])):
        start = rng.choice(["08:00", "09:00"])
        end = rng.choice(["10:30", "11:00", "12:00"])
        busy = []
        for day in ("04", "05", "06"):
            if rng.random() < 0.5:
                h = rng.choice(["08:30", "09:00", "09:30", "10:00"])
                busy.append({"start": f"2026-03-{day}T{h}",
                             "end": f"2026-03-{day}T{h[:2]}:{'45' if h[3] == '0' else '55'}"})
        people.append(consultant(
            f"c{k + 1}", location=dict(rng.choice(places[:2])),
            workplace_meetings=rng.random() < 0.8, max_meetings_per_day=rng.choice([1, 2, 3]),
            max_active_cases=rng.choice([2, 3, 4, 10]), active_cases=rng.choice([0, 1]),
            working_hours={d: [start, end] for d in ("mon", "tue", "wed", "thu", "fri")},
            busy=busy, fixed_employers=["77"] if rng.random() < 0.3 else []))
    items = []
    for n in range(rng.choice([3, 4, 5, 5])):
        extra: dict[str, Any] = {}
        if rng.random() < 0.15:
            extra["consultant_id"] = rng.choice(people)["id"]
        item = case(f"k{n + 1}", deadline=f"2026-03-0{rng.choice([3, 4, 4, 5, 5, 6, 8])}",
                    follow_up=rng.choice(["workplace_meeting", "workplace_meeting",
                                          "jobcenter_meeting", "telephone"]),
                    cvr=rng.choice(["77", "88", "99"]), location=dict(rng.choice(places)),
                    **extra)
        if rng.random() < 0.2:
            item["employer"]["unavailable"] = [{"start": "2026-03-05T08:00",
                                                "end": "2026-03-05T10:00"}]
        if item.get("consultant_id") and item["follow_up"] == "workplace_meeting":
            owner = next(c for c in people if c["id"] == item["consultant_id"])
            owner["workplace_meetings"] = True
        items.append(item)
    return instance(items, people, horizon_days=7)


def _fits(p: Prepared, c: int, d: int, cases: list[int]) -> bool:
    """Exact: explicit grid starts for all `cases` on consultant c's day d, pairwise apart."""
    inst = p.instance
    options = [feasible_starts(p, i, c, d) for i in cases]
    intervals = [[occupied(inst.cases[i].follow_up, s, p.duration(i), p.trip(i, c))
                  for s in opts] for i, opts in zip(cases, options, strict=True)]
    for combo in itertools.product(*intervals):
        if all(not overlaps(a, b) for a, b in itertools.combinations(combo, 2)):
            return True
    return False


def _optimum(p: Prepared) -> tuple[int, dict[int, tuple[int, int]]]:
    """Brute force: the most on-time meetings over all (consultant, day) choices per case."""
    inst = p.instance
    due = [(c.deadline - inst.as_of).days for c in inst.cases]
    free = [i for i, c in enumerate(inst.cases) if c.needs_meeting and i not in p.kept]
    options = {i: [(c, d) for c in p.eligible[i] for d in p.days
                   if d <= due[i] and feasible_starts(p, i, c, d)] for i in free}
    room = list(p.room)
    per_cd: dict[tuple[int, int], list[int]] = {}
    best: list[Any] = [-1, {}]
    chosen: dict[int, tuple[int, int]] = {}

    def dfs(pos: int) -> None:
        if len(chosen) + len(free) - pos <= best[0]:
            return
        if pos == len(free):
            best[0], best[1] = len(chosen), dict(chosen)
            return
        i = free[pos]
        for c, d in options[i]:
            cap = inst.consultants[c].max_meetings_per_day - p.kept_count.get((c, d), 0)
            here = per_cd.get((c, d), [])
            if len(here) >= cap or (p.is_new(i) and room[c] <= 0):
                continue
            if not _fits(p, c, d, here + [i]):
                continue
            per_cd[c, d] = here + [i]
            room[c] -= p.is_new(i)
            chosen[i] = (c, d)
            dfs(pos + 1)
            del chosen[i]
            room[c] += p.is_new(i)
            per_cd[c, d] = here
        dfs(pos + 1)

    dfs(0)
    kept_on = sum(1 for i, (_, d, _) in p.kept.items() if d <= due[i])
    return kept_on + best[0], best[1]


def _as_plan(p: Prepared, chosen: dict[int, tuple[int, int]]) -> optimizer.Plan:
    """The brute-force optimum as a plan (so `validate` can confirm it is real)."""
    schedule = Schedule(p)
    by_cd: dict[tuple[int, int], list[int]] = {}
    for i, cd in sorted(chosen.items()):
        by_cd.setdefault(cd, []).append(i)
    for (c, d), cases in by_cd.items():
        for order in itertools.permutations(cases):
            placed = []
            for i in order:
                starts = schedule.starts(i, c, d)
                if not starts:
                    break
                schedule.place(i, c, d, starts[0])
                placed.append(i)
            if len(placed) == len(cases):
                break
            for i in placed:
                schedule.unassign(i)
    for i in range(len(p.instance.cases)):  # the rest: any consultant with room
        if i not in schedule.owner:
            for c in p.eligible[i]:
                if schedule.has_room(i, c):
                    schedule.assign(i, c)
                    break
    return build_plan(p, schedule, "brute", "OPTIMAL", 0.0, None)


@pytest.mark.parametrize("seed", range(30))
def test_bound_above_true_optimum_on_tiny_instances(seed: int) -> None:
    data = _tiny(random.Random(seed))
    inst = optimizer.parse_instance(data)
    p = prepare(inst)
    optimum, chosen = _optimum(p)
    brute = _as_plan(p, chosen)
    assert optimizer.validate(inst, brute) == []
    assert brute.metrics["meetings_on_time"] == optimum
    cpsat = optimizer.solve(inst, solver="cpsat", time_limit=2, seed=0)
    greedy = optimizer.solve(inst, solver="greedy")
    assert optimizer.validate(inst, cpsat) == []
    assert cpsat.metrics["upper_bound_on_time"] >= optimum
    assert optimum >= cpsat.metrics["meetings_on_time"] >= greedy.metrics["meetings_on_time"]
