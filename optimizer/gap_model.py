"""Gap model for larger instances (stage 1 of the CP-SAT planner), then exact sequencing.

Boolean x[case, consultant, gap] only for candidates that can hold the meeting in that free
gap, with capacity (rule 3), the per-day maximum (rule 8), a per-gap budget of occupied
minutes (rule 7, a relaxation of the exact sequence) and eligibility (rule 2) built into the
candidate set; rule 10's private talks are their own family (`add_private_talks`, on days).
Lexicographic objective: on-time meetings, then meetings at all, then diagnosis-group match and
short travel.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from ortools.sat.python import cp_model

from optimizer import timing
from optimizer.bounds import day_capacity
from optimizer.calendar import DAY
from optimizer.candidates import Prepared, Schedule, feasible_starts
from optimizer.greedy import load_ratio
from optimizer.model_terms import (
    LATE_GAPS,
    SECONDARY_MAX,
    PairOptions,
    add_private_talks,
    hint_talks,
    maximize,
    new_bool_vars,
    secondary,
)
from optimizer.sequencing import sequence_all

MAX_VARIABLES = 120_000  # stage-1 booleans; beyond this consultants per case are pruned
# Rule 10 in the planning model: talk days per (case, consultant), the earliest ones (which
# keeps every meeting day possible). The bound pass has them all when that stays below
# TALK_BOUND_VARIABLES, else none (a relaxation, so its bound stays valid).
TALK_DAYS_PER_PAIR = 5
TALK_BOUND_VARIABLES = 20_000
SMALL_MODEL = 30_000  # below: interleaved (deterministic) search and a bound pass

# Time budget of the models, out of the solve's limit L (seconds); see also cpsat.py.
# Kept back for what follows the models: sequencing, repair, the local search (until cpsat's
# finish reserve) and the plan. Less than the pair model keeps back: on large instances the
# model is where the plan is made (its choice reserves each meeting's grid slack, so it nearly
# always sequences), and the local search has less left to repair.
GAP_RESERVE_SHARE = 0.12
GAP_RESERVE_SECONDS = 0.4
# Building the model and presolve are not in CP-SAT's time limit: ~25 us per variable.
BUILD_SECONDS_PER_VARIABLE = 2.5e-5
MIN_MODEL_SECONDS = 0.5  # the models always get this much, even when the limit is used up
# The bound pass (exact minutes, a relaxation) only proves the bound; the planning model after
# it, which the plan is made from, gets the larger part.
BOUND_PASS_SHARE = 0.4


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
            small: bool, talks: str = "pruned", talk_hint: dict[int, int] | None = None
            ) -> tuple[int, set[tuple[int, int, int]], float, int, dict[int, int]]:
    """Solve the stage-1 model; returns (status, chosen keys, objective bound, W_ON, chosen
    talk day per case).

    With slack 0 the model is a relaxation of the real problem (its bound is valid); with
    slack = slot-1 each meeting reserves the minutes it may lose to the slot grid. `talks`:
    rule 10's family with all talk days ("all"), the earliest TALK_DAYS_PER_PAIR ("pruned"),
    or left out ("none", a relaxation).
    """
    model = cp_model.CpModel()
    x = dict(zip(keys_all, new_bool_vars(model, len(keys_all)), strict=True))
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
        cap = day_capacity(p, c, p.days[k])
        if len(keys) > cap:
            model.add(sum(x[key] for key in keys) <= cap)
    # Rule 7: occupied intervals (meeting + travel both ways) fit side by side into the gap.
    for (c, g), keys in by_gap.items():
        length = gaps[c][g][2] - gaps[c][g][1]
        if sum(p.occupied_minutes(key[0], c) + slack for key in keys) > length:
            model.add(sum((p.occupied_minutes(key[0], c) + slack) * x[key] for key in keys)
                      <= length)
    # Rule 10: a new workplace meeting of a case that asked for a private talk has the talk
    # with the same consultant on an earlier day, in the consultant's free time.
    talk_vars: dict[tuple[int, int, int], cp_model.IntVar] = {}
    if talks != "none":
        talk_options: PairOptions = defaultdict(list)
        day_load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
        for (i, c, g), var in x.items():
            day = p.days[gaps[c][g][0]]
            day_load[c, day].append((var, p.occupied_minutes(i, c)))
            if p.needs_talk(i):
                talk_options[i, c].append((day, var, p.occupied_minutes(i, c)))
        talk_vars, _ = add_private_talks(
            model, p, talk_options, day_load,
            days_per_pair=TALK_DAYS_PER_PAIR if talks == "pruned" else None)
        hint_talks(model, talk_vars, talk_hint)

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
        coefs.append(w_meet + secondary(p, i, c, p.days[gaps[c][g][0]])
                     + (w_on * p.instance.on_time_weights[i] if (i, c, g) in on_set else 0))
    maximize(model, terms, coefs)

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
    timing.limit_solver(params, seconds)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, set(), 0.0, w_on, {}
    chosen = {key for key, var in x.items() if solver.boolean_value(var)}
    chosen_talks = {i: d for (i, _, d), var in talk_vars.items() if solver.boolean_value(var)}
    return status, chosen, solver.best_objective_bound, w_on, chosen_talks


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
            cs.sort(key=lambda c, i=i: (not has_on[i, c], -secondary(p, i, c),
                                        load_ratio(greedy, c), c))
            chosen = set(cs[:keep])
            if i in greedy.meeting:
                chosen.add(greedy.meeting[i][0])
            drop = [c for c in cs if c not in chosen]
            ok[i, drop] = False

    return gaps, ok, on, ok_on_full, pruned


def solve_gaps(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, greedy: Schedule,
                started: float, limit: float, seed: int
                ) -> tuple[Schedule, int | None, bool] | None:
    """Large instances: the gap-level stage-1 model (`_stage1`), then exact sequencing.

    Returns (schedule, bound on new on-time meetings or None, exact) or None.
    """
    inst = p.instance
    gaps, ok, on, _, pruned = _candidates(p, ok_day, greedy)
    keys_all = list(zip(*(a.tolist() for a in np.nonzero(ok)), strict=True))
    on_set = {key for key in keys_all if on[key]}
    remaining = max(MIN_MODEL_SECONDS,
                    limit - (timing.now() - started) - GAP_RESERVE_SHARE * limit
                    - GAP_RESERVE_SECONDS - BUILD_SECONDS_PER_VARIABLE * len(keys_all))
    hint = _greedy_hint(p, greedy, gaps)
    talk_hint = {i: d for i, (_, d, _) in greedy.talk.items()}
    slack = inst.slot_minutes - 1
    status = cp_model.OPTIMAL
    chosen: set[tuple[int, int, int]] = set()
    talks: dict[int, int] = {}
    w_on = 1
    model_bound = None
    talk_pairs = {(i, c) for i, c, _ in keys_all if p.needs_talk(i)}
    bound_talks = "all" if len(talk_pairs) * len(p.talk_days) <= TALK_BOUND_VARIABLES \
        else "none"
    if keys_all and not pruned and len(keys_all) < SMALL_MODEL:
        # First a valid relaxation (exact minutes) whose bound bounds the on-time count ...
        share = BOUND_PASS_SHARE * remaining
        status, chosen, best_bound, w_on, talks = _stage1(
            p, keys_all, on_set, gaps, hint, 0, share, seed, small=True, talks=bound_talks,
            talk_hint=talk_hint)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            # with follow-ups (weighted on-time tiers) the bound bounds no count
            model_bound = None if inst.has_follow_ups else int(best_bound // w_on)
            hint, talk_hint = chosen, talks
        remaining -= share
    if keys_all:
        # ... then the planning model: each meeting may lose up to slot-1 minutes to the grid,
        # so what it chooses sequences (stage 2) almost always.
        status, chosen_b, _, w_on, talks_b = _stage1(
            p, keys_all, on_set, gaps, hint, slack, max(MIN_MODEL_SECONDS, remaining), seed,
            small=len(keys_all) < SMALL_MODEL, talk_hint=talk_hint)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            chosen, talks = chosen_b, talks_b
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) and not chosen:
        return None
    chosen_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    weight: dict[int, int] = {}
    for i, c, g in chosen:
        chosen_cd[c, p.days[gaps[c][g][0]]].append(i)
        weight[i] = (w_on * inst.on_time_weights[i] if on[i, c, g] else 0) + 1
    schedule, left_out = sequence_all(p, chosen_cd, weight, talks)
    # with talks the planning model keeps only some talk days: its optimum is not proven
    exact = status == cp_model.OPTIMAL and not pruned and not left_out and not talk_pairs
    return schedule, model_bound, exact
