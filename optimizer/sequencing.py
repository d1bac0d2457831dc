"""Stage 2: exact sequencing of the cases a model put on each consultant-day (rules 5-7), each
with its private talk on an earlier day (rule 10; consultant-days are sequenced in date order,
so a talk goes into time the earlier days' meetings left free)."""

from __future__ import annotations

import itertools

from optimizer.candidates import Prepared, Schedule, feasible_starts


def _sequence(p: Prepared, c: int, d: int, cases: list[int],
              fixed: list[tuple[int, int]]) -> dict[int, int] | None:
    """Exact-enough sequencing: starts for all `cases` on consultant c's day d, or None.

    Tries orders of the cases, each placed at its earliest start free of the ones before.
    """
    for order in itertools.islice(itertools.permutations(cases), 720):
        taken = list(fixed)
        starts: dict[int, int] = {}
        for i in order:
            found = feasible_starts(p, i, c, d, taken)
            if not found:
                break
            s = found[0]
            starts[i] = s
            t = p.trip(i, c)
            taken.append((s - t, s + p.duration(i) + t))
        else:
            return starts
    return None


def _place_day(p: Prepared, schedule: Schedule, c: int, d: int, cases: list[int],
               weight: dict[int, int], talk_day: dict[int, int]) -> list[int]:
    """Place the best-weighing subset of `cases` that sequences; return the ones left out
    (also a case whose private talk finds no free slot on an earlier day, rule 10)."""
    for size in range(len(cases), 0, -1):
        subsets = sorted(itertools.combinations(cases, size),
                         key=lambda sub: -sum(weight[i] for i in sub))
        for sub in subsets[:50]:
            starts = _sequence(p, c, d, list(sub), schedule.taken.get((c, d), []))
            if starts is not None:
                placed = []
                for i in sub:
                    if not schedule.talk_allows(i, c, d):
                        continue
                    schedule.place(i, c, d, starts[i], talk_day=talk_day.get(i))
                    placed.append(i)
                return [i for i in cases if i not in placed]
    return list(cases)


def sequence_all(p: Prepared, chosen_cd: dict[tuple[int, int], list[int]],
                 weight: dict[int, int], talk_day: dict[int, int] | None = None
                 ) -> tuple[Schedule, list[int]]:
    """Stage 2: sequence each consultant-day exactly; returns the schedule and the left-outs.

    `talk_day`: the day the model chose for a case's private talk (used when it has room).
    """
    schedule = Schedule(p)
    left_out: list[int] = []
    for (c, d), cases in sorted(chosen_cd.items()):
        for i in cases:
            schedule.assign(i, c)
        left_out += _place_day(p, schedule, c, d, sorted(cases), weight, talk_day or {})
    return schedule, left_out
