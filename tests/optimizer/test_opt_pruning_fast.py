"""The candidate pruning's fast paths give exactly what trying every grid start gives (issue
22: the simulation spent most of its planning time there)."""

from __future__ import annotations

import math
import random

import numpy as np

import optimizer
from optimizer.candidates import DAY, Prepared, best_margin, feasible_starts, prepare
from optimizer.generator import generate_instance


def _margin_by_trying_every_start(base: int, g: int, a: int, last: int) -> int:
    """The pruning's definition: the largest min(s - a, last - s) over grid starts."""
    best = -1
    s = base + math.ceil((a - base) / g) * g
    while s <= last:
        best = max(best, min(s - a, last - s))
        s += g
    return best


def test_best_margin_is_the_best_of_every_grid_start() -> None:
    rng = random.Random(22)
    for _ in range(20000):
        g = rng.choice([5, 7, 10, 15, 30, 60])
        base = rng.randrange(0, 60) * DAY
        a = base + rng.randrange(-120, 1500)
        last = a + rng.randrange(-240, 720)
        assert best_margin(base, g, a, last) == _margin_by_trying_every_start(base, g, a, last), \
            (base, g, a, last)


def _tmax_by_trying_every_start(p: Prepared, kind: str) -> np.ndarray:
    g, dur = p.instance.slot_minutes, p.instance.meeting_minutes[kind]
    out = np.full((len(p.instance.consultants), len(p.days)), -1, dtype=np.int64)
    for c, per_day in enumerate(p.free):
        for k, d in enumerate(p.days):
            for a, b in per_day.get(d, ()):
                out[c, k] = max(out[c, k], _margin_by_trying_every_start(d * DAY, g, a, b - dur))
    return out


def _starts_by_trying_every_start(p: Prepared, i: int, c: int, d: int) -> list[int]:
    g, dur, t = p.instance.slot_minutes, p.duration(i), p.trip(i, c)
    unavailable = [u for u in p.unavailable[i] if u[1] > d * DAY and u[0] < (d + 1) * DAY]
    if not optimizer.candidates.meeting_allowed(p.instance, p.instance.cases[i], c):
        return []
    out = []
    for a, b in p.free[c].get(d, ()):
        s = d * DAY + math.ceil((a + t - d * DAY) / g) * g
        while s + dur + t <= b:
            if not any(s < u[1] and u[0] < s + dur for u in unavailable):
                out.append(s)
            s += g
    return out


def test_prepared_tmax_and_feasible_starts_match_the_definitions() -> None:
    instance = optimizer.parse_instance(generate_instance(60, 6, seed=7, talk_share=0.2))
    p = prepare(instance)
    for kind in instance.meeting_minutes:
        assert (p.tmax[kind] == _tmax_by_trying_every_start(p, kind)).all(), kind
    checked = 0
    for i, case in enumerate(instance.cases):
        if not case.needs_meeting:
            continue
        for c in p.eligible[i]:
            for d in p.days[:10]:
                assert feasible_starts(p, i, c, d) == _starts_by_trying_every_start(p, i, c, d)
                checked += 1
    assert checked > 500


def test_alternatives_for_many_cases_are_each_case_s_alternatives() -> None:
    instance = optimizer.parse_instance(generate_instance(80, 6, seed=11, talk_share=0.2))
    plan = optimizer.solve(instance, solver="greedy")
    ids = [a.case_id for a in plan.assignments if a.meeting is not None]
    assert len(ids) > 20
    together = optimizer.alternatives_for(instance, plan, ids, count=2)
    assert together == {case_id: optimizer.alternatives(instance, plan, case_id, count=2)
                        for case_id in ids}
    assert sum(1 for slots in together.values() if slots) > 10
