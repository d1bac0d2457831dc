"""CP-SAT planner, decomposed so it scales to thousands of cases.

Small instances (up to PAIR_KEYS on-time (case, consultant, day) candidates): a day-level
model x[case, consultant, day] with room (rule 3), the per-day maximum (rule 8), the day's
free minutes and, per consultant-day, "at most one of two candidates that cannot both be
sequenced" (rules 5-7, computed exactly from each candidate's earliest end and latest start).
With at most two meetings per day this model is exact. It is solved first for on-time
meetings only (all on-time candidates, so its objective bound is a proven upper bound), then
with late candidates for meetings and the secondary goals at that on-time count.

Larger instances, stage 1 (CP-SAT): boolean x[case, consultant, gap] only for candidates
that can hold the meeting in that free gap, with capacity (rule 3), the per-day maximum
(rule 8), a per-gap budget of occupied minutes (rule 7, a relaxation of the exact sequence)
and eligibility (rule 2) built into the candidate set. Lexicographic objective: on-time
meetings, then meetings at all, then diagnosis-group match and short travel.

Stage 2 (exact): per consultant-day the cases the model put there are sequenced on the slot
grid (rules 5-7); a case that does not fit is repaired: moved to another day or consultant
with room, on time if possible. Then a local search (`_improve`) turns late or missing
meetings into on-time ones, directly or by moving one other meeting away. The greedy
baseline improved by the same local search is the models' hint and a fallback. The result
is always a valid plan, never worse than the greedy baseline on on-time meetings.

Upper bound on on-time meetings: the minimum of a max-flow relaxation over all eligible
(consultant, day) pairs (cases -> consultant-days -> consultants, with per-day and capacity
limits) and, when its candidates are complete (never pruned), the objective bound of the
on-time relaxation (pair model, or the gap model with exact minutes).
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import numpy as np
from ortools.graph.python import max_flow
from ortools.sat.python import cp_model

from optimizer.calendar import DAY
from optimizer.candidates import Prepared, Schedule, day_feasible, feasible_starts, prepare
from optimizer.greedy import greedy_schedule, load_ratio
from optimizer.instance import Instance
from optimizer.plan import Plan, build_plan

MAX_VARIABLES = 120_000  # stage-1 booleans; beyond this consultants per case are pruned
SMALL_MODEL = 30_000  # below: interleaved (deterministic) search and a bound pass
LATE_GAPS = 4  # late candidate gaps kept per (case, consultant)
PAIR_KEYS = 12_000  # on-time (case, consultant, day) candidates up to which the pair model
SECONDARY_MAX = 40  # per meeting: 20 for a skill match + up to 20 for short travel


def _on_time_mask(p: Prepared) -> np.ndarray:
    """on[i, k]: day days[k] is on or before case i's deadline."""
    deadline = np.array([(c.deadline - p.instance.as_of).days for c in p.instance.cases],
                        dtype=np.int64)
    return np.array(p.days, dtype=np.int64)[None, :] <= deadline[:, None]


def _day_capacity(p: Prepared, c: int, d: int) -> int:
    """A valid upper bound on meetings of consultant c on day d (rules 7 and 8)."""
    shortest = min(p.instance.meeting_minutes.values())
    fit = sum((b - a) // shortest for a, b in p.free[c].get(d, ()))
    left = p.instance.consultants[c].max_meetings_per_day - p.kept_count.get((c, d), 0)
    return max(0, min(fit, left))


def flow_bound(p: Prepared, ok: np.ndarray, on: np.ndarray) -> int:
    """Max-flow upper bound on new on-time meetings (kept ones not included).

    source -> case (1) -> consultant-day (if an on-time start may exist) -> consultant
    (per-day limit) -> sink (room for new cases + the consultant's own cases).
    """
    n, m, nd = ok.shape
    if n == 0 or m == 0 or nd == 0:
        return 0
    arcs = ok & on[:, None, :]
    ci, cc, ck = np.nonzero(arcs)
    if len(ci) == 0:
        return 0
    source, sink = 0, 1
    case_node = 2 + np.arange(n)
    cd_node = 2 + n + np.arange(m * nd).reshape(m, nd)
    cons_node = 2 + n + m * nd + np.arange(m)
    owned = np.zeros(m, dtype=np.int64)
    for i, case in enumerate(p.instance.cases):
        if case.consultant_id is not None and i not in p.kept:
            owned[p.cindex[case.consultant_id]] += 1
    tails = [np.full(n, source), case_node[ci], cd_node.ravel(), cons_node]
    heads = [case_node, cd_node[cc, ck], np.repeat(cons_node, nd), np.full(m, sink)]
    day_caps = np.array([[_day_capacity(p, c, d) for d in p.days] for c in range(m)],
                        dtype=np.int64).ravel()
    caps = [np.ones(n, dtype=np.int64), np.ones(len(ci), dtype=np.int64), day_caps,
            np.maximum(0, np.array(p.room, dtype=np.int64)) + owned]
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(np.concatenate(tails).astype(np.int32),
                                np.concatenate(heads).astype(np.int32),
                                np.concatenate(caps).astype(np.int64))
    if flow.solve(source, sink) != flow.OPTIMAL:
        return n
    return int(flow.optimal_flow())


def _secondary(p: Prepared, i: int, c: int) -> int:
    """Secondary goals per meeting: diagnosis-group match, then less travel (0..40)."""
    case = p.instance.cases[i]
    skill = 20 if case.diagnosis_group in p.instance.consultants[c].skills else 0
    return skill + max(0, 20 - (2 * p.trip(i, c)) // 6)


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
               weight: dict[int, int]) -> list[int]:
    """Place the best-weighing subset of `cases` that sequences; return the ones left out."""
    for size in range(len(cases), 0, -1):
        subsets = sorted(itertools.combinations(cases, size),
                         key=lambda sub: -sum(weight[i] for i in sub))
        for sub in subsets[:50]:
            starts = _sequence(p, c, d, list(sub), schedule.taken.get((c, d), []))
            if starts is not None:
                for i in sub:
                    schedule.place(i, c, d, starts[i])
                return [i for i in cases if i not in sub]
    return list(cases)


def _repair(p: Prepared, schedule: Schedule, missing: list[int], on: np.ndarray) -> None:
    """Insert meetings for `missing` cases: on time anywhere first, then the earliest late."""
    inst = p.instance
    missing = sorted(missing, key=lambda i: (inst.cases[i].deadline, inst.cases[i].id))
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
            for c in pool:
                slot = schedule.earliest(i, c, days)
                if slot is not None and (best is None or slot[0] < best[1]):
                    best = (c, slot[0], slot[1])
            if best is not None:
                if owner is None:
                    schedule.assign(i, best[0])
                schedule.place(i, *best)


def _gaps(p: Prepared) -> tuple[list[list[tuple[int, int, int]]], np.ndarray, np.ndarray]:
    """Free gaps per consultant as (day position k, start, end); padded day and tmax arrays.

    Variables live on gaps rather than days: a meeting with its travel buffers must fit into
    one gap (rule 7), which makes the stage-1 relaxation much tighter than a day budget.
    """
    m = len(p.instance.consultants)
    gaps = [[(k, a, b) for k, d in enumerate(p.days) for a, b in p.free[c].get(d, ())]
            for c in range(m)]
    width = max([len(g) for g in gaps] + [1])
    gap_day = np.full((m, width), -1, dtype=np.int64)
    for c, items in enumerate(gaps):
        for g, (k, _, _) in enumerate(items):
            gap_day[c, g] = k
    return gaps, gap_day, np.zeros(0)


def _gap_tmax(p: Prepared, gaps: list[list[tuple[int, int, int]]], width: int,
              kind: str) -> np.ndarray:
    """Largest one-way travel with which a meeting of `kind` fits into each gap (-1: none)."""
    g_min = p.instance.slot_minutes
    dur = p.instance.meeting_minutes[kind]
    out = np.full((len(gaps), width), -1, dtype=np.int64)
    for c, items in enumerate(gaps):
        for g, (k, a, b) in enumerate(items):
            base = p.days[k] * DAY
            s = base + -(-(a - base) // g_min) * g_min
            best = -1
            while s + dur <= b:
                best = max(best, min(s - a, b - dur - s))
                s += g_min
            out[c, g] = best
    return out


def _greedy_hint(p: Prepared, greedy: Schedule,
                 gaps: list[list[tuple[int, int, int]]]) -> set[tuple[int, int, int]]:
    """The greedy plan as stage-1 keys (so CP-SAT starts from the baseline)."""
    hint = set()
    for i, (c, d, start) in greedy.meeting.items():
        if i in p.kept:
            continue
        t = p.trip(i, c)
        for g, (k, a, b) in enumerate(gaps[c]):
            if p.days[k] == d and a <= start - t and start + p.duration(i) + t <= b:
                hint.add((i, c, g))
    return hint


def _stage1(p: Prepared, keys_all: list[tuple[int, int, int]],
            on_set: set[tuple[int, int, int]], gaps: list[list[tuple[int, int, int]]],
            hint: set[tuple[int, int, int]], slack: int, seconds: float, seed: int,
            small: bool) -> tuple[int, set[tuple[int, int, int]], float, int]:
    """Solve the stage-1 model; returns (status, chosen keys, objective bound, W_ON).

    With slack 0 the model is a relaxation of the real problem (its bound is valid); with
    slack = slot-1 each meeting reserves the minutes it may lose to the slot grid.
    """
    model = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for key in keys_all:
        x[key] = model.new_bool_var(f"x_{key[0]}_{key[1]}_{key[2]}")
    by_case: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    by_cd: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    by_gap: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    by_c_new: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for key in x:
        i, c, g = key
        by_case[i].append(key)
        by_cd[c, gaps[c][g][0]].append(key)
        by_gap[c, g].append(key)
        if p.is_new(i):
            by_c_new[c].append(key)

    # Rule 4: each case gets at most one meeting (rule 1: with one consultant).
    for keys in by_case.values():
        model.add_at_most_one(x[key] for key in keys)
    # Rule 3: new cases given to a consultant fit in the consultant's room.
    for c, keys in by_c_new.items():
        if len(keys) > p.room[c]:
            model.add(sum(x[key] for key in keys) <= max(0, p.room[c]))
    # Rule 8: at most max_meetings_per_day meetings that day, kept ones included.
    for (c, k), keys in by_cd.items():
        cap = _day_capacity(p, c, p.days[k])
        if len(keys) > cap:
            model.add(sum(x[key] for key in keys) <= cap)
    # Rule 7: occupied intervals (meeting + travel both ways) fit side by side into the gap.
    for (c, g), keys in by_gap.items():
        length = gaps[c][g][2] - gaps[c][g][1]
        if sum(p.occupied_minutes(key[0], c) + slack for key in keys) > length:
            model.add(sum((p.occupied_minutes(key[0], c) + slack) * x[key] for key in keys)
                      <= length)

    # Objective, lexicographic by weights: with N candidate cases, secondary <= 40 N and
    # meetings <= N, so W_MEET > 40 N makes one more meeting outweigh any secondary gain and
    # W_ON > (W_MEET + 40) N makes one more on-time meeting outweigh everything below it;
    # hence floor(objective / W_ON) is exactly the on-time count (and of the bound, a bound).
    big_n = max(1, len(by_case))
    w_meet = SECONDARY_MAX * big_n + 1
    w_on = (w_meet + SECONDARY_MAX) * big_n + 1
    terms = []
    coefs = []
    for (i, c, g), var in x.items():
        terms.append(var)
        coefs.append(w_meet + _secondary(p, i, c) + (w_on if (i, c, g) in on_set else 0))
    model.maximize(cp_model.LinearExpr.weighted_sum(terms, coefs))

    for key in hint:
        if key in x:
            model.add_hint(x[key], True)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = seed
    params.num_workers = 2
    # Small models (and tests) run interleaved: deterministic for a fixed seed. Large ones
    # use both workers in parallel; they stop on the time limit anyway.
    params.interleave_search = small
    # The model is a large, easy assignment; heavy presolve would eat the time budget.
    params.cp_model_probing_level = 0
    params.symmetry_level = 0
    params.max_presolve_iterations = 1
    params.find_big_linear_overlap = False
    params.max_time_in_seconds = seconds
    params.max_deterministic_time = 4 * seconds  # reproducible when this limit binds
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, set(), 0.0, w_on
    chosen = {key for key, var in x.items() if solver.boolean_value(var)}
    return status, chosen, solver.best_objective_bound, w_on


def _candidates(p: Prepared, ok_day: np.ndarray, greedy: Schedule
                ) -> tuple[list[list[tuple[int, int, int]]], np.ndarray, np.ndarray,
                           np.ndarray, bool]:
    """Stage-1 candidates x[i, c, g] on free gaps g of consultant c.

    Returns (gaps, ok, on, ok_on_full, pruned): `ok` the (possibly pruned) candidates, `on`
    whether gap g is on time for case i, `ok_on_full` the complete (never pruned) on-time
    candidates, which the bound relaxation uses.
    """
    inst = p.instance
    n, m = len(inst.cases), len(inst.consultants)
    gaps, gap_day, _ = _gaps(p)
    width = gap_day.shape[1]
    tmax = {kind: _gap_tmax(p, gaps, width, kind) for kind in inst.meeting_minutes}
    ok = np.zeros((n, m, width), dtype=bool)
    for i, case in enumerate(inst.cases):
        elig = np.nonzero(ok_day[i].any(axis=1))[0]
        if len(elig) == 0:
            continue
        need = p.travel[i, elig][:, None] if case.follow_up == "workplace_meeting" else 0
        row = tmax[case.follow_up][elig] >= need
        # the gap's day must be a feasible day for the pair (employer unavailability etc.)
        row &= np.take_along_axis(ok_day[i][elig], np.maximum(gap_day[elig], 0), axis=1)
        if p.unavailable[i]:
            for j, c in enumerate(elig.tolist()):
                for g in np.nonzero(row[j])[0].tolist():
                    k, a, b = gaps[c][g]
                    starts = feasible_starts(p, i, c, p.days[k])
                    t = p.trip(i, c)
                    row[j, g] = any(s - t >= a and s + p.duration(i) + t <= b for s in starts)
        ok[i, elig] = row
    deadline_k = np.array([sum(1 for d in p.days if d <= (c.deadline - inst.as_of).days)
                           for c in inst.cases], dtype=np.int64)
    on = (gap_day[None, :, :] < deadline_k[:, None, None]) & (gap_day[None, :, :] >= 0)

    # Late gaps: only the first LATE_GAPS per (case, consultant). On-time options stay
    # complete, so the on-time part of the bound is unaffected (late options only compete).
    ok_on_full = ok & on
    late_rank = np.cumsum(ok & ~on, axis=2)
    ok &= on | (late_rank <= LATE_GAPS)
    pairs = ok.any(axis=2)  # (n, m): consultant c can hold case i's meeting some day
    per_case = pairs.sum(axis=1)
    total = int(ok.sum())
    pruned = False
    if total > MAX_VARIABLES:
        # Too big: keep per case the consultants most likely to be right (on time possible,
        # skill match, short travel, low load) and always greedy's choice.
        pruned = True
        avg = max(1.0, total / max(1, int(per_case.sum())))
        keep = max(3, int(MAX_VARIABLES / max(1, int((per_case > 0).sum())) / avg))
        has_on = (ok & on).any(axis=2)
        for i in np.nonzero(per_case > keep)[0].tolist():
            cs = np.nonzero(pairs[i])[0].tolist()
            cs.sort(key=lambda c, i=i: (not has_on[i, c], -_secondary(p, i, c),
                                        load_ratio(greedy, c), c))
            chosen = set(cs[:keep])
            if i in greedy.meeting:
                chosen.add(greedy.meeting[i][0])
            drop = [c for c in cs if c not in chosen]
            ok[i, drop] = False

    return gaps, ok, on, ok_on_full, pruned


def solve_cpsat(instance: Instance, time_limit: float | None = 10, seed: int = 0,
                started: float | None = None) -> Plan:
    """Plan with the two-stage CP-SAT method (see the module docstring)."""
    started = time.perf_counter() if started is None else started
    limit = 10.0 if time_limit is None else float(time_limit)
    p = prepare(instance)
    inst = p.instance
    ok_day = day_feasible(p)
    on_day = _on_time_mask(p)
    greedy = greedy_schedule(p)
    greedy_on = _count_on_time(p, greedy)

    kept_on_time = sum(1 for i, (_, d, _) in p.kept.items()
                       if d <= (inst.cases[i].deadline - inst.as_of).days)
    bound = kept_on_time + flow_bound(p, ok_day, on_day)
    stop = started + limit - 0.05 * limit - 0.1  # local search ends here

    # The baseline improved by local search: a hint for the models and a fallback.
    improved = greedy_schedule(p)
    _improve(p, improved, ok_day, started + 0.1 * limit)
    if int((ok_day & on_day[:, None, :]).sum()) <= PAIR_KEYS:
        result = _solve_pairs(p, ok_day, on_day, improved, started, limit, seed)
    else:
        result = _solve_gaps(p, ok_day, on_day, improved, started, limit, seed)
    schedule, exact = improved, False
    if result is not None:
        schedule, model_bound, exact = result
        if model_bound is not None:
            bound = min(bound, kept_on_time + model_bound)
        needing = [i for i, case in enumerate(inst.cases)
                   if case.needs_meeting and i not in schedule.meeting]
        _repair(p, schedule, needing, on_day)
        greedy_schedule(p, schedule)  # everything still without consultant: least loaded
        if _count_on_time(p, schedule) < bound:
            _improve(p, schedule, ok_day, stop)
            greedy_schedule(p, schedule)
        if (_count_on_time(p, schedule), len(schedule.meeting)) < \
                (_count_on_time(p, improved), len(improved.meeting)):
            schedule, exact = improved, False
    # OPTIMAL only when the models were exact (nothing pruned or left out) and the on-time
    # bound is reached.
    exact = exact and _count_on_time(p, schedule) >= bound
    final_status = "OPTIMAL" if exact else "FEASIBLE"

    ours = (_count_on_time(p, schedule), len(schedule.meeting))
    theirs = (greedy_on, len(greedy.meeting))
    seconds = time.perf_counter() - started
    if ours < theirs:
        return build_plan(p, greedy, "cpsat", f"{final_status} (greedy plan kept)", seconds,
                          bound)
    return build_plan(p, schedule, "cpsat", final_status, seconds, bound)


def _sequence_all(p: Prepared, chosen_cd: dict[tuple[int, int], list[int]],
                  weight: dict[int, int]) -> tuple[Schedule, list[int]]:
    """Stage 2: sequence each consultant-day exactly; returns the schedule and the left-outs."""
    schedule = Schedule(p)
    left_out: list[int] = []
    for (c, d), cases in sorted(chosen_cd.items()):
        for i in cases:
            schedule.assign(i, c)
        left_out += _place_day(p, schedule, c, d, sorted(cases), weight)
    return schedule, left_out


def _solve_pairs(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, greedy: Schedule,
                 started: float, limit: float, seed: int
                 ) -> tuple[Schedule, int | None, bool] | None:
    """Small instances: the day-level pair model (`_pair_model`), first for on-time only
    (its bound bounds the on-time count), then with late candidates and the secondary goals.

    Returns (schedule, bound on new on-time meetings or None, exact) or None.
    """
    remaining = max(0.5, limit - (time.perf_counter() - started) - 0.3 * limit - 0.3)
    on_keys, _ = _day_keys(p, ok_day, on_day, 0)
    hint = {(i, c, p.days.index(d)) for i, (c, d, _) in greedy.meeting.items()
            if i not in p.kept}
    prefer = frozenset(hint)
    share = 0.6 * remaining
    t0 = time.perf_counter()
    status, chosen, best = _pair_model(p, on_keys, on_day, share, seed, hint)
    remaining -= time.perf_counter() - t0
    model_bound = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        model_bound = int(best + 1e-6)
        hint = chosen
    min_on = sum(1 for i, _, k in hint if on_day[i, k])
    all_keys, late_pruned = _day_keys(p, ok_day, on_day, LATE_GAPS)
    status_b, chosen_b, _ = _pair_model(p, all_keys, on_day, max(0.3, remaining), seed, hint,
                                        min_on=min_on, prefer=prefer)
    if status_b in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = chosen_b
    elif status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    weight: dict[int, int] = {}
    n = len(p.instance.cases)
    for i, c, k in chosen:
        chosen_cd[c, p.days[k]].append(i)
        weight[i] = (n + 1 if on_day[i, k] else 0) + 1
    schedule, left_out = _sequence_all(p, chosen_cd, weight)
    pairs_exact = all(_day_capacity(p, c, d) <= 2 for c, d in chosen_cd)
    exact = status == status_b == cp_model.OPTIMAL and not late_pruned and not left_out and \
        pairs_exact and all(c.max_meetings_per_day <= 2 for c in p.instance.consultants)
    return schedule, model_bound, exact


def _solve_gaps(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, greedy: Schedule,
                started: float, limit: float, seed: int
                ) -> tuple[Schedule, int | None, bool] | None:
    """Large instances: the gap-level stage-1 model (`_stage1`), then exact sequencing.

    Returns (schedule, bound on new on-time meetings or None, exact) or None.
    """
    inst = p.instance
    gaps, ok, on, _, pruned = _candidates(p, ok_day, greedy)
    keys_all = list(zip(*(a.tolist() for a in np.nonzero(ok)), strict=True))
    on_set = {key for key in keys_all if on[key]}
    # model building and presolve are not in CP-SAT's time limit: ~25 us per variable
    remaining = max(0.5, limit - (time.perf_counter() - started) - 0.12 * limit - 0.4
                    - 2.5e-5 * len(keys_all))
    hint = _greedy_hint(p, greedy, gaps)
    slack = inst.slot_minutes - 1
    status = cp_model.OPTIMAL
    chosen: set[tuple[int, int, int]] = set()
    w_on = 1
    model_bound = None
    if keys_all and not pruned and len(keys_all) < SMALL_MODEL:
        # First a valid relaxation (exact minutes) whose bound bounds the on-time count ...
        share = 0.4 * remaining
        status, chosen, best_bound, w_on = _stage1(p, keys_all, on_set, gaps, hint, 0, share,
                                                  seed, small=True)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            model_bound = int(best_bound // w_on)
            hint = chosen
        remaining -= share
    if keys_all:
        # ... then the planning model: each meeting may lose up to slot-1 minutes to the grid,
        # so what it chooses sequences (stage 2) almost always.
        status, chosen_b, _, w_on = _stage1(p, keys_all, on_set, gaps, hint, slack,
                                            max(0.5, remaining), seed,
                                            small=len(keys_all) < SMALL_MODEL)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            chosen = chosen_b
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) and not chosen:
        return None
    chosen_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    weight: dict[int, int] = {}
    for i, c, g in chosen:
        chosen_cd[c, p.days[gaps[c][g][0]]].append(i)
        weight[i] = (w_on if on[i, c, g] else 0) + 1
    schedule, left_out = _sequence_all(p, chosen_cd, weight)
    exact = status == cp_model.OPTIMAL and not pruned and not left_out
    return schedule, model_bound, exact


def _rank(scores: list[tuple]) -> list[int]:
    """Position of each score in sorted order (lower is better)."""
    order = sorted(range(len(scores)), key=lambda j: scores[j])
    rank = [0] * len(scores)
    for pos, j in enumerate(order):
        rank[j] = pos
    return rank


def _count_on_time(p: Prepared, schedule: Schedule) -> int:
    inst = p.instance
    return sum(1 for i, (_, d, _) in schedule.meeting.items()
               if d <= (inst.cases[i].deadline - inst.as_of).days)


def _day_keys(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, late_days: int
              ) -> tuple[dict[tuple[int, int, int], tuple[int, int, int]], bool]:
    """Day-level candidates (i, c, k) with a feasible start, as (min_end, max_start, minutes).

    min_end / max_start: the earliest end and the latest start of the occupied interval over
    all feasible grid starts (rules 5-7, employer unavailability): two meetings fit on one
    consultant-day iff one's earliest end is at most the other's latest start. All on-time
    days are kept; of the late ones only the first `late_days` per (case, consultant)
    (the flag says whether any late day with a feasible start was left out).
    """
    out: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for i, c, k in zip(*(a.tolist() for a in np.nonzero(ok_day)), strict=True):
        if not on_day[i, k]:
            continue
        span = _span(p, i, c, p.days[k])
        if span is not None:
            out[i, c, k] = span
    late = ok_day & ~on_day[:, None, :]
    pruned = False
    for i, c in zip(*(a.tolist() for a in np.nonzero(late.any(axis=2))), strict=True):
        found = 0
        for k in np.nonzero(late[i, c])[0].tolist():
            span = _span(p, i, c, p.days[k])
            if span is None:
                continue
            if found >= late_days:
                pruned = True
                break
            out[i, c, k] = span
            found += 1
    return out, pruned


def _span(p: Prepared, i: int, c: int, d: int) -> tuple[int, int, int] | None:
    starts = feasible_starts(p, i, c, d)
    if not starts:
        return None
    t, dur = p.trip(i, c), p.duration(i)
    return starts[0] + dur + t, starts[-1] - t, dur + 2 * t



def _pair_model(p: Prepared, keys: dict[tuple[int, int, int], tuple[int, int, int]],
                on_day: np.ndarray, seconds: float, seed: int,
                hint: set[tuple[int, int, int]], min_on: int | None = None,
                prefer: frozenset[tuple[int, int, int]] = frozenset()
                ) -> tuple[int, set[tuple[int, int, int]], float]:
    """Day-level model x[i, c, k] with exact pairwise fit per consultant-day.

    Constraints: one meeting per case, room (rule 3), the per-day maximum (rule 8), the day's
    free minutes (rule 7), and for every two candidates of a consultant-day that cannot both
    be sequenced (rules 5-7), at most one of them. With at most two meetings per day this is
    exact; with more, a relaxation. Without `min_on` the objective is the number of on-time
    meetings (then `keys` should be the complete on-time candidates, and the returned bound
    is a proven upper bound on new on-time meetings); with it, on-time >= min_on is required
    and meetings, then the secondary goals, then closeness to `prefer` and early days are
    maximised.
    Returns (status, chosen keys, objective bound).
    """
    model = cp_model.CpModel()
    x = {key: model.new_bool_var(f"y_{key[0]}_{key[1]}_{key[2]}") for key in keys}
    by_case: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_cd: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    by_c_new: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for key, var in x.items():
        by_case[key[0]].append(var)
        by_cd[key[1], key[2]].append(key)
        if p.is_new(key[0]):
            by_c_new[key[1]].append(var)
    for vs in by_case.values():
        model.add_at_most_one(vs)
    for c, vs in by_c_new.items():
        if len(vs) > p.room[c]:
            model.add(sum(vs) <= max(0, p.room[c]))
    for (c, k), ks in by_cd.items():
        d = p.days[k]
        cap = _day_capacity(p, c, d)
        if len(ks) > cap:
            model.add(sum(x[key] for key in ks) <= cap)
        free = sum(b - a for a, b in p.free[c].get(d, ()))
        if sum(keys[key][2] for key in ks) > free:
            model.add(sum(keys[key][2] * x[key] for key in ks) <= free)
        if cap < 2 or len(ks) < 2:
            continue
        span = np.array([keys[key][:2] for key in ks], dtype=np.int64)
        end, start = span[:, 0], span[:, 1]
        proper = start < end
        # a proper candidate always covers [latest start, earliest end): a clique per point
        idx = np.nonzero(proper)[0]
        for tau in sorted(set(start[idx].tolist())):
            clique = idx[(start[idx] <= tau) & (end[idx] > tau)]
            if len(clique) > 1:
                model.add_at_most_one(x[ks[q]] for q in clique.tolist())
        # the other conflicts pairwise: q and r conflict iff start_r < end_q and start_q < end_r
        conflict = (start[None, :] < end[:, None]) & (start[:, None] < end[None, :])
        conflict &= ~(proper[:, None] & proper[None, :])
        for q, r in zip(*np.nonzero(np.triu(conflict, 1)), strict=True):
            model.add_bool_or([x[ks[int(q)]].Not(), x[ks[int(r)]].Not()])

    on_vars = [var for key, var in x.items() if on_day[key[0], key[2]]]
    if min_on is None:
        model.maximize(sum(on_vars))
    else:
        # meetings, then the secondary goals, then (ties) the baseline's choice and early days
        model.add(sum(on_vars) >= min_on)
        big_n, width = max(1, len(by_case)), 2 * len(p.days)
        w_sec = width * big_n + 1
        w_meet = (SECONDARY_MAX * w_sec + width) * big_n + 1
        model.maximize(cp_model.LinearExpr.weighted_sum(
            list(x.values()),
            [w_meet + w_sec * _secondary(p, key[0], key[1]) + len(p.days) - 1 - key[2]
             + (len(p.days) if key in prefer else 0) for key in x]))
    for key in sorted(hint):
        if key in x:
            model.add_hint(x[key], True)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = seed
    params.num_workers = 1  # deterministic for a fixed seed (and fastest on these models)
    params.max_time_in_seconds = max(0.1, seconds)
    params.max_deterministic_time = 4 * max(0.1, seconds)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, set(), float("inf")
    chosen = {key for key, var in x.items() if solver.boolean_value(var)}
    return status, chosen, solver.best_objective_bound


def _improve(p: Prepared, schedule: Schedule, ok_day: np.ndarray, stop: float) -> None:
    """Local search: make late or missing meetings on time (never losing a meeting).

    Per such case i (earliest deadline first), over consultant-days on time for i: place i
    directly if it fits; else eject one meeting j of that day whose case can be re-placed
    elsewhere, on time if it was on time (any slot otherwise), and put i in its place.
    Every move keeps rules 1-9 (all placements go through `Schedule`).
    """
    inst = p.instance
    due = [(case.deadline - inst.as_of).days for case in inst.cases]
    targets = sorted((i for i, case in enumerate(inst.cases)
                      if case.needs_meeting and i not in p.kept
                      and not (i in schedule.meeting and schedule.meeting[i][1] <= due[i])),
                     key=lambda i: (inst.cases[i].deadline, inst.cases[i].id))
    for i in targets:
        if time.perf_counter() > stop:
            return
        _lift(p, schedule, i, ok_day, due, stop)


def _lift(p: Prepared, schedule: Schedule, i: int, ok_day: np.ndarray, due: list[int],
          stop: float) -> bool:
    """One `_improve` step for case i; True when i got an on-time meeting."""
    inst = p.instance
    owner = schedule.owner.get(i)
    options: list[tuple[int, int]] = []  # on-time (consultant, day) pairs for i
    for c, k in zip(*(a.tolist() for a in np.nonzero(ok_day[i])), strict=True):
        if p.days[k] <= due[i] and (c == owner or not p.is_new(i) or schedule.room[c] > 0):
            options.append((c, p.days[k]))
    if not options:
        return False
    options.sort(key=lambda cd: (cd[1], inst.consultants[cd[0]].id))
    before = (owner, schedule.meeting.get(i))

    def move_i(c: int, d: int, start: int) -> None:
        if schedule.owner.get(i) != c:
            schedule.unassign(i)
        else:
            schedule.unplace(i)
        schedule.place(i, c, d, start)

    def restore_i() -> None:
        schedule.unassign(i)
        if before[0] is not None:
            schedule.assign(i, before[0])
        if before[1] is not None:
            schedule.place(i, *before[1])

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
        if time.perf_counter() > stop:
            return False
        for j in sorted(by_cd.get((c, d), ())):
            cj, dj, sj = schedule.meeting[j]
            schedule.unplace(j)
            found = schedule.starts(i, c, d)
            if not found:
                schedule.place(j, cj, dj, sj)
                continue
            move_i(c, d, found[0])
            if _relocate(p, schedule, j, cj, dj <= due[j], due):
                return True
            restore_i()
            schedule.place(j, cj, dj, sj)
    return False


def _relocate(p: Prepared, schedule: Schedule, j: int, cj: int, on_time: bool,
              due: list[int]) -> bool:
    """Give unplaced case j (owned by cj) a meeting: on time when `on_time`, else any."""
    inst = p.instance
    days = [d for d in p.days if d <= due[j]] if on_time else p.days
    pool = [cj] + sorted((c for c in p.eligible[j] if c != cj and p.is_new(j)
                          and schedule.room[c] > 0),
                         key=lambda c: (load_ratio(schedule, c), inst.consultants[c].id))
    for c in pool:
        slot = schedule.earliest(j, c, days)
        if slot is not None:
            if c != cj:
                schedule.unassign(j)
            schedule.place(j, c, slot[0], slot[1])
            return True
    return False
