"""CP-SAT planner, decomposed so it scales to thousands of cases.

Stage 1 (CP-SAT): boolean x[case, consultant, day] only for candidates that can hold the
meeting (pruned by `candidates.day_feasible`), with capacity (rule 3), the per-day maximum
(rule 8), a per consultant-day budget of occupied minutes (rule 7, a relaxation of the exact
sequence) and eligibility (rule 2) built into the candidate set. Lexicographic objective:
on-time meetings, then meetings at all, then diagnosis-group match and short travel.

Stage 2 (exact): per consultant-day the cases stage 1 put there are sequenced on the slot
grid (rules 5-7); a case that does not fit is repaired: moved to another day or consultant
with room, on time if possible. The result is always a valid plan; it is compared with the
greedy baseline and never returned worse on on-time meetings.

Upper bound on on-time meetings: a max-flow relaxation over all eligible (consultant, day)
pairs (cases -> consultant-days -> consultants, with per-day and capacity limits), and, when
the CP-SAT model is not pruned, CP-SAT's own objective bound (exact by the weights).
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


def solve_cpsat(instance: Instance, time_limit: float | None = 10, seed: int = 0,
                started: float | None = None) -> Plan:
    """Plan with the two-stage CP-SAT method (see the module docstring)."""
    started = time.perf_counter() if started is None else started
    limit = 10.0 if time_limit is None else float(time_limit)
    p = prepare(instance)
    inst = p.instance
    n, m = len(inst.cases), len(inst.consultants)
    ok_day = day_feasible(p)
    on_day = _on_time_mask(p)
    greedy = greedy_schedule(p)
    greedy_on = _count_on_time(p, greedy)

    kept_on_time = sum(1 for i, (_, d, _) in p.kept.items()
                       if d <= (inst.cases[i].deadline - inst.as_of).days)
    bound = kept_on_time + flow_bound(p, ok_day, on_day)

    # -- candidates x[i, c, g] on free gaps g of consultant c ----------------------------------
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

    keys_all = list(zip(*(a.tolist() for a in np.nonzero(ok)), strict=True))
    on_set = {key for key in keys_all if on[key]}
    remaining = max(0.5, limit - (time.perf_counter() - started) - 0.12 * limit - 0.4)
    hint = _greedy_hint(p, greedy, gaps)
    slack = inst.slot_minutes - 1
    status = cp_model.OPTIMAL
    chosen: set[tuple[int, int, int]] = set()
    w_on = 1
    if keys_all and not pruned and len(keys_all) < SMALL_MODEL:
        # First a valid relaxation (exact minutes) whose bound bounds the on-time count ...
        share = 0.4 * remaining
        status, chosen, best_bound, w_on = _stage1(p, keys_all, on_set, gaps, hint, 0, share,
                                                  seed, small=len(keys_all) < SMALL_MODEL)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bound = min(bound, kept_on_time + int(best_bound // w_on))
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
    status_name = getattr(status, "name", str(status))

    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) and not chosen:
        return build_plan(p, greedy, "cpsat", f"{status_name} (greedy fallback)",
                          time.perf_counter() - started, bound)
    w_meet = 1

    # -- stage 2: exact sequencing per consultant-day, then repair -----------------------------
    schedule = Schedule(p)
    chosen_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    weight: dict[int, int] = {}
    for i, c, g in chosen:
        chosen_cd[c, p.days[gaps[c][g][0]]].append(i)
        weight[i] = (w_on if on[i, c, g] else 0) + w_meet
    left_out: list[int] = []
    for (c, d), cases in sorted(chosen_cd.items()):
        for i in cases:
            schedule.assign(i, c)
        left_out += _place_day(p, schedule, c, d, sorted(cases), weight)
    needing = [i for i, case in enumerate(inst.cases)
               if case.needs_meeting and i not in schedule.meeting]
    _repair(p, schedule, needing, on_day)
    greedy_schedule(p, schedule)  # everything still without consultant: least loaded
    # OPTIMAL only when nothing was pruned or left out and the on-time bound is reached.
    exact = status == cp_model.OPTIMAL and not pruned and not left_out and \
        _count_on_time(p, schedule) >= bound
    final_status = "OPTIMAL" if exact else "FEASIBLE"

    ours = (_count_on_time(p, schedule), len(schedule.meeting))
    theirs = (greedy_on, len(greedy.meeting))
    seconds = time.perf_counter() - started
    if ours < theirs:
        return build_plan(p, greedy, "cpsat", f"{final_status} (greedy plan kept)", seconds,
                          bound)
    return build_plan(p, schedule, "cpsat", final_status, seconds, bound)


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
