"""CP-SAT planner, decomposed so it scales to thousands of cases.

Small instances (up to PAIR_KEYS on-time (case, consultant, day) candidates): a day-level
model x[case, consultant, day] with room (rule 3), the per-day maximum (rule 8), the day's
free minutes and, per consultant-day, "at most one of two candidates that cannot both be
sequenced" (rules 5-7, computed exactly from each candidate's earliest end and latest start).
With at most two meetings per day this model is exact. It is solved first for on-time
meetings only (all on-time candidates, so its objective bound is a proven upper bound), then
with late candidates for meetings and the secondary goals at that on-time count. The first
solve is skipped when the hint already puts every case with an on-time candidate on time: no
plan does better, so its answer is known (`pair_model._first_solve_known`).

Larger instances, stage 1 (CP-SAT): boolean x[case, consultant, gap] only for candidates
that can hold the meeting in that free gap, with capacity (rule 3), the per-day maximum
(rule 8), a per-gap budget of occupied minutes (rule 7, a relaxation of the exact sequence)
and eligibility (rule 2) built into the candidate set. Lexicographic objective: on-time
meetings, then meetings at all, then diagnosis-group match and short travel.

Stage 2 (exact): per consultant-day the cases the model put there are sequenced on the slot
grid (rules 5-7); a case that does not fit is repaired: moved to another day or consultant
with room, on time if possible. Then a local search (`improve`) turns late or missing
meetings into on-time ones, directly or by moving one other meeting away. The greedy
baseline improved by the same local search is the models' hint and a fallback. The result
is always a valid plan, never worse than the greedy baseline on on-time meetings.

Rule 10, the private talk, is a constraint family of both models (`add_private_talks`: a talk
variable per case, consultant and earlier day, tied to that pair's meeting candidates and
sharing the day's free minutes); candidates are pruned by it first (a meeting needing a talk
only after its consultant's first day with a talk slot). Stage 2, repair and the local search
place each talk with its meeting through `Schedule`.

Upper bound on on-time meetings: the minimum of a max-flow relaxation over all eligible
(consultant, day) pairs (cases -> consultant-days -> consultants, with per-day and capacity
limits) and, when its candidates are complete (never pruned), the objective bound of the
on-time relaxation (pair model, or the gap model with exact minutes).

Modules: `pair_model` and `gap_model` (the models), `sequencing` (stage 2), `local_search`
(repair and `improve`), `bounds` (the max-flow bound), `model_terms` (shared terms) and
`timing` (how the limit is spent: on the wall clock, or reproducibly).
"""

from __future__ import annotations

import time

import numpy as np

from optimizer import timing
from optimizer.bounds import flow_bound
from optimizer.candidates import Prepared, Schedule, day_feasible, prepare
from optimizer.gap_model import solve_gaps
from optimizer.greedy import greedy_schedule
from optimizer.instance import Instance
from optimizer.local_search import improve, repair
from optimizer.pair_model import solve_pairs
from optimizer.plan import Plan, build_plan

PAIR_KEYS = 12_000  # on-time (case, consultant, day) candidates up to which the pair model

# Time budget, in shares of the limit L (seconds) plus fixed parts. The fixed parts matter for
# short limits (tests run with 2 s), where a share alone would be a few milliseconds.
DEFAULT_TIME_LIMIT = 10.0  # seconds, when the caller gives none (the command's default)
# The greedy baseline is improved by local search until 0.1 L: it is the models' hint and the
# fallback, so it must be good early, but the models are what reach the bound.
HINT_SEARCH_SHARE = 0.1
# The last local search stops 0.05 L + 0.1 s before the limit: what is left is for the final
# greedy fill and building the plan with its explanations, so the solve ends within the limit.
FINISH_RESERVE_SHARE = 0.05
FINISH_RESERVE_SECONDS = 0.1


def _on_time_mask(p: Prepared) -> np.ndarray:
    """on[i, k]: day days[k] is on or before case i's deadline."""
    deadline = np.array([(c.deadline - p.instance.as_of).days for c in p.instance.cases],
                        dtype=np.int64)
    return np.array(p.days, dtype=np.int64)[None, :] <= deadline[:, None]


def solve_cpsat(instance: Instance, time_limit: float | None = DEFAULT_TIME_LIMIT,
                seed: int = 0, started: float | None = None) -> Plan:
    """Plan with the two-stage CP-SAT method (see the module docstring)."""
    wall = time.perf_counter()
    started = timing.now() if started is None else started
    p = prepare(instance)
    schedule, status, bound = cpsat_schedule(p, time_limit, seed, started)
    return build_plan(p, schedule, "cpsat", status, time.perf_counter() - wall, bound)


def finish_time(started: float, time_limit: float | None) -> float:
    """When the last local search must stop (the finish reserve before the limit)."""
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    return started + limit - FINISH_RESERVE_SHARE * limit - FINISH_RESERVE_SECONDS


def cpsat_schedule(p: Prepared, time_limit: float | None, seed: int, started: float
                   ) -> tuple[Schedule, str, int]:
    """The two-stage CP-SAT method on prepared data: (schedule, status, on-time bound)."""
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    inst = p.instance
    ok_day = day_feasible(p)
    on_day = _on_time_mask(p)
    greedy = greedy_schedule(p)

    kept_on_time = sum(1 for i, (_, d, _) in p.kept.items()
                       if d <= (inst.cases[i].deadline - inst.as_of).days)
    bound = kept_on_time + flow_bound(p, ok_day, on_day)
    stop = started + limit - FINISH_RESERVE_SHARE * limit - FINISH_RESERVE_SECONDS

    # The baseline improved by local search: a hint for the models and a fallback.
    improved = greedy_schedule(p)
    improve(p, improved, ok_day, started + HINT_SEARCH_SHARE * limit)
    if int((ok_day & on_day[:, None, :]).sum()) <= PAIR_KEYS:
        result = solve_pairs(p, ok_day, on_day, improved, started, limit, seed)
    else:
        result = solve_gaps(p, ok_day, on_day, improved, started, limit, seed)
    schedule, exact = improved, False
    if result is not None:
        schedule, model_bound, exact = result
        if model_bound is not None:
            bound = min(bound, kept_on_time + model_bound)
        needing = [i for i, case in enumerate(inst.cases)
                   if case.needs_meeting and i not in schedule.meeting]
        repair(p, schedule, needing, on_day)
        greedy_schedule(p, schedule)  # everything still without consultant: least loaded
        if _count_on_time(p, schedule) < bound:
            improve(p, schedule, ok_day, stop)
            greedy_schedule(p, schedule)
        if _score(p, schedule) < _score(p, improved):
            schedule, exact = improved, False
    # OPTIMAL only when the models were exact (nothing pruned or left out) and the on-time
    # bound is reached.
    exact = exact and _count_on_time(p, schedule) >= bound
    final_status = "OPTIMAL" if exact else "FEASIBLE"

    if _score(p, schedule) < _score(p, greedy):
        # (`status` is the solver's word alone, as the contract has it.)
        return greedy, final_status, bound
    return schedule, final_status, bound


def _score(p: Prepared, schedule: Schedule) -> tuple[int, int]:
    """The objective's top tiers: on-time meetings weighted by tier (first meetings before
    follow-ups, `Instance.on_time_weights`), then meetings at all."""
    inst = p.instance
    weighted = sum(inst.on_time_weights[i] for i, (_, d, _) in schedule.meeting.items()
                   if d <= (inst.cases[i].deadline - inst.as_of).days)
    return weighted, len(schedule.meeting)


def _count_on_time(p: Prepared, schedule: Schedule) -> int:
    inst = p.instance
    return sum(1 for i, (_, d, _) in schedule.meeting.items()
               if d <= (inst.cases[i].deadline - inst.as_of).days)
