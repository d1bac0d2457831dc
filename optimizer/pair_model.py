"""Exact day-level pair model for small instances, then exact sequencing.

x[case, consultant, day] only where the case's meeting has a feasible start that day (rules 2,
5, 6, 7 and 9 built into the candidate set), with room (rule 3), the per-day maximum (rule 8),
the day's free minutes and, per consultant-day, "at most one of two candidates that cannot
both be sequenced" (rules 5-7, computed exactly from each candidate's earliest end and latest
start). With at most two meetings per day this model is exact. Rule 10 is its own family
(`add_private_talks`): a talk t[case, consultant, day] before each new meeting that needs one,
sharing the day's free minutes (a relaxation of its exact place, which stage 2 finds).
Lexicographic objective, in two solves: on-time meetings first; then, at that on-time count,
meetings at all, then diagnosis-group match and short travel, proven to within one point of
those goals (`SECOND_SOLVE_GAP_POINTS`; the ties below them steer the search). The second
model is built while CP-SAT searches the first, in a thread.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import LinearExpr

from optimizer import timing
from optimizer.bounds import day_capacity
from optimizer.candidates import Prepared, Schedule, start_span
from optimizer.model_terms import (
    LATE_GAPS,
    NOTICE_WEIGHT,
    SECONDARY_MAX,
    PairOptions,
    add_private_talks,
    hint_talks,
    maximize,
    new_bool_vars,
    secondary,
)
from optimizer.sequencing import sequence_all

# Time budget of the two solves, out of the solve's limit L (seconds); see also cpsat.py.
# Kept back for what follows the models: sequencing, repair, the local search (until cpsat's
# finish reserve) and the plan. More than the gap model keeps back: with three meetings a day
# (the default) this model is a relaxation, so sequencing may leave cases out, and repair and
# the local search are what place them.
PAIR_RESERVE_SHARE = 0.3
PAIR_RESERVE_SECONDS = 0.3
MIN_MODEL_SECONDS = 0.5  # the models always get this much, even when the limit is used up
# The on-time solve proves the bound and is the harder one; the second solve starts from its
# answer (a hint that already meets its on-time constraint) and needs less.
BOUND_SOLVE_SHARE = 0.6
MIN_SECOND_SOLVE_SECONDS = 0.3  # time for the second solve to improve the hint at all
MIN_SOLVE_SECONDS = 0.1  # CP-SAT's floor per solve (a zero limit would return no solution)
# The second solve stops once no plan can beat its own by this many points of the secondary
# goals (0: it proves its whole objective, the ties below them too; see `_PairSolve`).
SECOND_SOLVE_GAP_POINTS = 1


def solve_pairs(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, greedy: Schedule,
                 started: float, limit: float, seed: int
                 ) -> tuple[Schedule, int | None, bool] | None:
    """Small instances: the day-level pair model (`_pair_model`), first for on-time only
    (its bound bounds the on-time count), then with late candidates and the secondary goals.

    Returns (schedule, bound on new on-time meetings or None, exact) or None.
    """
    remaining = max(MIN_MODEL_SECONDS, limit - (timing.now() - started)
                    - PAIR_RESERVE_SHARE * limit - PAIR_RESERVE_SECONDS)
    spans = _Spans(p)
    # `_day_keys` with no late day: the on-time candidates (the flag is not needed)
    on_keys = _on_time_keys(p, ok_day, on_day, spans)
    hint = {(i, c, p.days.index(d)) for i, (c, d, _) in greedy.meeting.items()
            if i not in p.kept}
    prefer = frozenset(hint)
    talk_hint = {i: d for i, (_, d, _) in greedy.talk.items()}
    share = BOUND_SOLVE_SHARE * remaining
    t0 = timing.now()
    w = p.instance.on_time_weights
    known = _first_solve_known(on_keys, hint, talk_hint, w)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cp-sat") as pool:
        solving = None if known is not None else pool.submit(_PairSolve(
            _build_pair_model(p, on_keys), p, on_day, share, seed, hint,
            talk_hint=talk_hint).result)
        # Meanwhile (CP-SAT's search holds no lock on the interpreter) the second model's
        # candidates and constraints: they do not depend on the first solve's answer.
        all_keys, late_pruned = _day_keys(p, ok_day, on_day, LATE_GAPS, spans, on_keys)
        second = _build_pair_model(p, all_keys)
        status, chosen, best, talks = known if solving is None else solving.result()
    remaining -= timing.now() - t0
    model_bound = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # with follow-ups the objective is a weighted count (first meetings first): its
        # bound bounds no count, the flow bound stands alone
        model_bound = None if p.instance.has_follow_ups else int(best + 1e-6)
        hint, talk_hint = chosen, talks
    min_on = sum(w[i] for i, _, k in hint if on_day[i, k])
    # The second solve's hint: the first's meetings, and the baseline's (late ones) for the
    # cases it left out — a whole plan to start from (its solves a tenth shorter).
    placed = {i for i, _, _ in hint}
    hint = set(hint) | {key for key in prefer if key[0] not in placed}
    status_b, chosen_b, _, talks_b = _PairSolve(
        second, p, on_day, max(MIN_SECOND_SOLVE_SECONDS, remaining), seed, hint,
        min_on=min_on, prefer=prefer, talk_hint=talk_hint).result()
    if status_b in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen, talks = chosen_b, talks_b
    elif status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen_cd: dict[tuple[int, int], list[int]] = defaultdict(list)
    weight: dict[int, int] = {}
    n = len(p.instance.cases)
    for i, c, k in chosen:
        chosen_cd[c, p.days[k]].append(i)
        weight[i] = ((n + 1) * w[i] if on_day[i, k] else 0) + 1
    schedule, left_out = sequence_all(p, chosen_cd, weight, talks)
    pairs_exact = all(day_capacity(p, c, d) <= 2 for c, d in chosen_cd)
    exact = status == status_b == cp_model.OPTIMAL and not late_pruned and not left_out and \
        pairs_exact and all(c.max_meetings_per_day <= 2 for c in p.instance.consultants)
    return schedule, model_bound, exact


def _first_solve_known(on_keys: dict[tuple[int, int, int], tuple[int, int, int]],
                       hint: set[tuple[int, int, int]], talk_hint: dict[int, int],
                       weights: list[int]
                       ) -> tuple[int, set[tuple[int, int, int]], float, dict[int, int]] | None:
    """The first solve's answer without solving, when the hint (a valid plan) already holds
    every case that has an on-time candidate on time: no plan holds more, so the hint is
    optimal and its weighted count is the bound (what CP-SAT returns for it, proven by the
    same count). None otherwise. On Herning's 15 months this is two runs in three."""
    on_hint = {key for key in hint if key in on_keys}
    on_cases = {i for i, _, _ in on_keys}
    if {i for i, _, _ in on_hint} != on_cases:
        return None
    return (cp_model.OPTIMAL, on_hint, float(sum(weights[i] for i in on_cases)),
            dict(talk_hint))


def _day_keys(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, late_days: int,
              spans: _Spans | None = None,
              on_time: dict[tuple[int, int, int], tuple[int, int, int]] | None = None
              ) -> tuple[dict[tuple[int, int, int], tuple[int, int, int]], bool]:
    """Day-level candidates (i, c, k) with a feasible start, as (min_end, max_start, minutes).

    min_end / max_start: the earliest end and the latest start of the occupied interval over
    all feasible grid starts (rules 5-7, employer unavailability): two meetings fit on one
    consultant-day iff one's earliest end is at most the other's latest start. All on-time
    days are kept; of the late ones only the first `late_days` per (case, consultant)
    (the flag says whether any late day with a feasible start was left out). `spans`: the
    `_span`s found so far; `on_time`: the on-time candidates (`_on_time_keys`) when known.
    """
    span_of = _Spans(p) if spans is None else spans
    out = dict(_on_time_keys(p, ok_day, on_day, span_of) if on_time is None else on_time)
    days = p.days
    late = ok_day & ~on_day[:, None, :]
    pruned = False
    for i, c in zip(*(a.tolist() for a in np.nonzero(late.any(axis=2))), strict=True):
        found = 0
        for k in np.nonzero(late[i, c])[0].tolist():
            span = span_of(i, c, days[k])
            if span is None:
                continue
            if found >= late_days:
                pruned = True
                break
            out[i, c, k] = span
            found += 1
    return out, pruned


def _on_time_keys(p: Prepared, ok_day: np.ndarray, on_day: np.ndarray, spans: _Spans
                  ) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    """The on-time part of `_day_keys` (all of them, in (i, c, k) order)."""
    days = p.days
    out: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    on = ok_day & on_day[:, None, :]
    for i, c, k in zip(*(a.tolist() for a in np.nonzero(on)), strict=True):
        span = spans(i, c, days[k])
        if span is not None:
            out[i, c, k] = span
    return out


def _span(p: Prepared, i: int, c: int, d: int) -> tuple[int, int, int] | None:
    """(earliest end, latest start, minutes) of the occupied interval over case i's feasible
    grid starts with consultant c on day d (rules 5-7), or None when there is none."""
    span = start_span(p, i, c, d)
    if span is None:
        return None
    t, dur = p.trip(i, c), p.duration(i)
    return span[0] + dur + t, span[1] - t, dur + 2 * t


class _Spans:
    """`_span` of (case, consultant, day). On a day the case's employer is available
    throughout, the span depends on the consultant's free time that day, the meeting's length
    and the travel only: cases alike there share it, found once."""

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.alike: dict[tuple[int, int, int, int], tuple[int, int, int] | None] = {}
        # per case: (is a workplace meeting, meeting minutes)
        self.cases: dict[int, tuple[bool, int]] = {}

    def _case(self, i: int) -> tuple[bool, int]:
        found = self.cases.get(i)
        if found is None:
            workplace = self.p.instance.cases[i].follow_up == "workplace_meeting"
            found = self.cases[i] = (workplace, self.p.duration(i))
        return found

    def __call__(self, i: int, c: int, d: int) -> tuple[int, int, int] | None:
        workplace, dur = self._case(i)
        if workplace and not self.p.instance.consultants[c].workplace_meetings:
            return None  # rule 2 (`meeting_allowed`)
        if d in self.p.unavailable_days[i]:
            return _span(self.p, i, c, d)
        alike = (c, d, dur, int(self.p.travel[i, c]) if workplace else 0)
        if alike in self.alike:
            return self.alike[alike]
        span = self.alike[alike] = _span(self.p, i, c, d)
        return span


# Candidates of a consultant-day from which their conflicts are found as a matrix (numpy);
# fewer: pair by pair (the same pairs in the same order).
CONFLICT_MATRIX_FROM = 24


def _add_conflicts(model: cp_model.CpModel, vs: list[cp_model.IntVar], end: list[int],
                   start: list[int]) -> None:
    """At most one of two candidates of a consultant-day that cannot both be sequenced:
    candidate q (variable vs[q]) occupies at least [start[q], end[q]) when it is proper
    (start < end), so proper candidates conflict in cliques, one per point; the others
    pairwise: q and r conflict iff start[r] < end[q] and start[q] < end[r]."""
    proper = [a < b for a, b in zip(start, end, strict=True)]
    idx = [q for q, ok in enumerate(proper) if ok]
    # a proper candidate always covers [latest start, earliest end): a clique per point
    for tau in sorted({start[q] for q in idx}):
        clique = [q for q in idx if start[q] <= tau < end[q]]
        if len(clique) > 1:
            model.add_at_most_one(vs[q] for q in clique)
    n = len(vs)
    if n > CONFLICT_MATRIX_FROM:
        s, e, ok = np.array(start), np.array(end), np.array(proper)
        conflict = (s[None, :] < e[:, None]) & (s[:, None] < e[None, :]) \
            & ~(ok[:, None] & ok[None, :])
        pairs = zip(*(a.tolist() for a in np.nonzero(np.triu(conflict, 1))), strict=True)
    else:
        pairs = ((q, r) for q in range(n) for r in range(q + 1, n)
                 if start[r] < end[q] and start[q] < end[r] and not (proper[q] and proper[r]))
    negated: dict[int, cp_model.IntVar] = {}
    for q, r in pairs:  # row by row (q < r)
        if q not in negated:
            negated[q] = vs[q].Not()
        if r not in negated:
            negated[r] = vs[r].Not()
        model.add_bool_or([negated[q], negated[r]])


@dataclass
class _PairModel:
    """The day-level model's variables and constraints (`_build_pair_model`), before its
    objective and hints (`_PairSolve`)."""

    model: cp_model.CpModel
    x: dict[tuple[int, int, int], cp_model.IntVar]
    cases: int  # the cases with a candidate
    talks: dict[tuple[int, int, int], cp_model.IntVar]


def _build_pair_model(p: Prepared, keys: dict[tuple[int, int, int], tuple[int, int, int]]
                      ) -> _PairModel:
    """Day-level model x[i, c, k] with exact pairwise fit per consultant-day.

    Constraints: one meeting per case, room (rule 3), the per-day maximum (rule 8), the day's
    free minutes (rule 7), and for every two candidates of a consultant-day that cannot both
    be sequenced (rules 5-7), at most one of them. With at most two meetings per day this is
    exact; with more, a relaxation. Rule 10's talks are their own family
    (`add_private_talks`), complete (no talk day left out), so the first solve's bound stays
    a proven bound. The objective is `_PairSolve`'s.
    """
    # Rules 2, 5, 6, 7 and 9 are in the candidate set (`_day_keys`): a key exists only for an
    # eligible consultant who may hold the meeting (rule 2), on a planning day with a grid start
    # (rule 5) whose occupied interval with travel (rule 6) fits the consultant's free time and
    # avoids the employer's unavailability (rule 7); kept meetings have no keys, their time is
    # already taken out of the free time (rule 9). Rule 10's pruning is there too: a meeting
    # needing a talk only after the consultant's first day with a talk slot, a case with a kept
    # talk only after the talk's date (kept talks are out of the free time).
    model = cp_model.CpModel()
    x = dict(zip(keys, new_bool_vars(model, len(keys)), strict=True))
    by_case: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_cd: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    by_c_new: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    is_new = [p.is_new(i) for i in range(len(p.instance.cases))]
    for key, var in x.items():
        i, c, k = key
        by_case[i].append(var)
        by_cd[c, k].append(key)
        if is_new[i]:
            by_c_new[c].append(var)

    # Rule 4: each case gets at most one meeting (rule 1: so with one consultant, on one day).
    for vs in by_case.values():
        model.add_at_most_one(vs)

    # Rule 3: capacity; new cases given to a consultant fit in the consultant's room.
    for c, vs in by_c_new.items():
        if len(vs) > p.room[c]:
            model.add(LinearExpr.sum(vs) <= max(0, p.room[c]))

    for (c, k), ks in by_cd.items():
        d = p.days[k]
        vs = [x[key] for key in ks]
        # Rule 8: at most max_meetings_per_day meetings that day, kept ones included.
        cap = day_capacity(p, c, d)
        if len(ks) > cap:
            model.add(LinearExpr.sum(vs) <= cap)

        # Rule 7: the occupied minutes (meeting + travel both ways) fit in the day's free time.
        free = sum(b - a for a, b in p.free[c].get(d, ()))
        minutes = [keys[key][2] for key in ks]
        if sum(minutes) > free:
            model.add(LinearExpr.weighted_sum(vs, minutes) <= free)

        # Rules 5-7: two meetings of the day that cannot be sequenced side by side on the grid
        # (neither's earliest end is at most the other's latest start): at most one of them.
        if cap < 2 or len(ks) < 2:
            continue
        _add_conflicts(model, vs, [keys[key][0] for key in ks], [keys[key][1] for key in ks])

    # Rule 10: a new workplace meeting of a case that asked for a private talk has the talk
    # with the same consultant on an earlier day, in the consultant's free time.
    talk_options: PairOptions = defaultdict(list)
    day_load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    needs_talk = [p.needs_talk(i) for i in range(len(p.instance.cases))]
    days = p.days
    if any(needs_talk[i] for i in by_case):  # (without talks the family adds nothing)
        for key, var in x.items():
            i, c, k = key
            day_load[c, days[k]].append((var, keys[key][2]))
            if needs_talk[i]:
                talk_options[i, c].append((days[k], var, keys[key][2]))
    talks, _ = add_private_talks(model, p, talk_options, day_load)
    return _PairModel(model, x, len(by_case), talks)


class _PairSolve:
    """A solve of a built pair model: its objective, hints and CP-SAT's parameters set at
    once (in the caller's thread), the search in `result` — which may run in another thread:
    CP-SAT holds no lock on the interpreter while it searches.

    Without `min_on` the objective is the number of on-time meetings (then the model's keys
    should be the complete on-time candidates, and the returned bound is a proven upper bound
    on new on-time meetings); with it, on-time >= min_on is required and meetings, then the
    secondary goals, then closeness to `prefer` and early days are maximised. `hint`: keys
    to start from; `talk_hint`: a talk day per case.
    """

    def __init__(self, built: _PairModel, p: Prepared, on_day: np.ndarray, seconds: float,
                 seed: int, hint: set[tuple[int, int, int]], min_on: int | None = None,
                 prefer: frozenset[tuple[int, int, int]] = frozenset(),
                 talk_hint: dict[int, int] | None = None) -> None:
        self.built = built
        self.second = min_on is not None  # the second solve (the secondary goals)
        self.point = 1  # the objective's weight of one secondary point (second solve: w_sec)
        model, x, days = built.model, built.x, p.days
        # CP-SAT's absolute gap limit (None: its default, exact)
        gap: int | None = None
        hint_talks(model, built.talks, talk_hint)  # the talks' hints first

        # Objective (the contract's, lexicographic), in two solves.
        # each on-time meeting weighted by its case's tier: first meetings before follow-ups
        # (`Instance.on_time_weights`, all 1 without follow-ups)
        weights = p.instance.on_time_weights
        on_rows = on_day.tolist()
        on_keys = [key for key in x if on_rows[key[0]][key[2]]]
        on_vars = [x[key] for key in on_keys]
        on_weights = [weights[key[0]] for key in on_keys]
        if min_on is None:
            # First solve: on-time meetings only; its bound bounds the (weighted) on-time
            # count.
            maximize(model, on_vars, on_weights)
        else:
            # Second solve: at least the first solve's on-time count, as a constraint (so no
            # lower goal can cost an on-time meeting); then weights per chosen key: w_meet for
            # a meeting, w_sec per point of the secondary goals (0..SECONDARY_MAX: fixed
            # consultant or team, preferred notice, skill match, short travel) and, for ties,
            # up to width - 1 = 2 len(days) - 1 (the baseline's choice, then early days). With
            # N cases the ties sum to < width N < w_sec, so one secondary point outweighs all
            # ties; secondary goals and ties sum to < (SECONDARY_MAX w_sec + width) N < w_meet,
            # so one more meeting (late is better than none) outweighs all of them.
            model.add(LinearExpr.weighted_sum(on_vars, on_weights) >= min_on)
            big_n, width = max(1, built.cases), 2 * len(p.days)
            w_sec = width * big_n + 1
            w_meet = (SECONDARY_MAX * w_sec + width) * big_n + 1
            # `secondary` per (case, consultant) without the day, and the notice's tier by day
            pair_score: dict[tuple[int, int], int] = {}
            for i, c, _ in x:
                if (i, c) not in pair_score:
                    pair_score[i, c] = secondary(p, i, c)
            notice = [NOTICE_WEIGHT if p.short and d not in p.short else 0 for d in days]
            nd = len(days)
            maximize(model, list(x.values()),
                     [w_meet + w_sec * (pair_score[i, c] + notice[k]) + nd - 1 - k
                      + (nd if (i, c, k) in prefer else 0) for i, c, k in x])
            # Stop once no plan can beat this one by a whole secondary point (the gap below
            # w_sec): the meetings and the secondary goals are settled then; the ties still
            # steer which plan is found, but are not proven — proving them was most of
            # CP-SAT's time (40 runs of a Herning simulation: 3.3 -> 1.9 s, every status
            # still OPTIMAL).
            self.point = w_sec
            if SECOND_SOLVE_GAP_POINTS > 0:
                gap = SECOND_SOLVE_GAP_POINTS * w_sec - 1
        for key in sorted(hint):
            if key in x:
                model.add_hint(x[key], True)
        solver = self.solver = cp_model.CpSolver()
        params = solver.parameters
        params.random_seed = seed
        params.num_workers = 1  # deterministic for a fixed seed (and fastest on these models)
        # Probing in presolve costs more than it saves on these models, and the LP relaxation
        # with cuts closes the bound sooner: on 40 planning runs of a Herning simulation
        # CP-SAT's time fell by a third (5.6 -> 3.8 s of CPU), every first solve's bound the
        # same.
        params.cp_model_probing_level = 0
        params.linearization_level = 2
        if self.second:
            # The second solve starts from a whole plan (the hint) and stops within a point of
            # the best: CP-SAT's presolve costs more than the search it saves. On the 320
            # second solves of Herning's 15 months 12.4 -> 7.2 s, every one still OPTIMAL
            # (within the gap); `bench plan` size S's two second solves 1.0 -> 1.2 s. (The
            # LP of the linear constraints only, all from the start, made the 320 4.9 s but
            # size S's 2.2 s; presolve off helps no first solve.)
            params.cp_model_presolve = False
            # Nor does it use the model's symmetries (its hint and objective break them all):
            # finding them cost 0.9 s of the 320 second solves' 9.7 s, each solve's answer
            # the same without (replayed on the models of Herning's 15 months).
            params.symmetry_level = 0
        self.gap = gap
        if gap is not None:
            params.absolute_gap_limit = gap
        timing.limit_solver(params, max(MIN_SOLVE_SECONDS, seconds))

    def result(self) -> tuple[int, set[tuple[int, int, int]], float, dict[int, int]]:
        """Search: (status, chosen keys, objective bound, chosen talk day per case)."""
        solver, built = self.solver, self.built
        status = solver.solve(built.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return status, set(), float("inf"), {}
        solution = solver.response_proto.solution  # a value per variable, by its index
        chosen = {key for key, var in built.x.items() if solution[var.index]}
        chosen_talks = {i: d for (i, _, d), var in built.talks.items()
                        if solver.boolean_value(var)}
        return status, chosen, solver.best_objective_bound, chosen_talks
