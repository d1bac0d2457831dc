"""Terms shared by the pair and gap models: the secondary-goal score, late-candidate pruning
and the private-talk constraint family (rule 10)."""

from __future__ import annotations

from ortools.sat.python import cp_model

from optimizer.candidates import Prepared, talk_capacity

LATE_GAPS = 4  # late candidate gaps kept per (case, consultant)
# The lower tiers per meeting, lexicographic by weights: the employer's fixed consultant
# (rule 2 under "preferred"; its team next), then the preferred notice, then 20 for a skill
# match + up to 20 for short travel. Each weight exceeds the sum of all below it.
SKILL_TRAVEL_MAX = 40
NOTICE_WEIGHT = SKILL_TRAVEL_MAX + 1
TEAM_WEIGHT = NOTICE_WEIGHT + SKILL_TRAVEL_MAX + 1
FIXED_WEIGHT = 2 * TEAM_WEIGHT  # rank 2 (fixed) = 2 x rank 1 (same team)
SECONDARY_MAX = FIXED_WEIGHT + NOTICE_WEIGHT + SKILL_TRAVEL_MAX


def secondary(p: Prepared, i: int, c: int, d: int | None = None) -> int:
    """Secondary goals per meeting of case i with consultant c on day d (0..SECONDARY_MAX):
    the fixed consultant or their team (rule 2 under "preferred"), enough notice (day d not
    short; left out when d is None), diagnosis-group match, less travel."""
    case = p.instance.cases[i]
    skill = 20 if case.diagnosis_group in p.instance.consultants[c].skills else 0
    score = skill + max(0, 20 - (2 * p.trip(i, c)) // 6)
    score += TEAM_WEIGHT * p.fixed_rank(i, c)
    if d is not None and p.short and d not in p.short:
        score += NOTICE_WEIGHT
    return score


def maximize(model: cp_model.CpModel, variables: list[cp_model.IntVar],
             coefficients: list[int]) -> None:
    """`model.maximize(LinearExpr.weighted_sum(variables, coefficients))`, the same model,
    written into the proto at once (CP-SAT's Python layer checks and flattens the expression
    and then appends each variable and coefficient on its own: a good part of building a
    large model). Distinct variables with non-zero coefficients are written as they are
    (what flattening leaves them); anything else goes through `model.maximize`."""
    indices = [var.index for var in variables]
    if len(indices) != len(coefficients) or not all(coefficients) or \
            (indices and min(indices) < 0) or len(set(indices)) != len(indices):
        model.maximize(cp_model.LinearExpr.weighted_sum(variables, coefficients))
        return
    # what `CpModel._set_objective(objective, maximize=True)` writes
    model.clear_objective()
    proto = model.model_proto.objective
    proto.vars.extend(indices)
    proto.scaling_factor = -1.0
    proto.offset = 0
    proto.coeffs.extend([-c for c in coefficients])


_BOOL = cp_model.Domain(0, 1)


def new_bool_vars(model: cp_model.CpModel, count: int) -> list[cp_model.IntVar]:
    """`[model.new_bool_var("") for _ in range(count)]`, the same variables (one domain object
    for all instead of one each).

    The models' variables carry no names: CP-SAT reads none, and a name's text made and set
    per variable (some 1.1 million variables in Herning's 15 simulated months) cost more than
    making the variable itself."""
    proto = model.model_proto
    return [cp_model.IntVar(proto).with_domain(_BOOL) for _ in range(count)]


# (case, consultant) -> that pair's meeting candidates as (day, variable, occupied minutes)
PairOptions = dict[tuple[int, int], list[tuple[int, cp_model.IntVar, int]]]


def add_private_talks(model: cp_model.CpModel, p: Prepared, options: PairOptions,
                      day_load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]],
                      days_per_pair: int | None = None
                      ) -> tuple[dict[tuple[int, int, int], cp_model.IntVar], bool]:
    """Rule 10, the private talk, as its own constraint family of a CP-SAT model.

    t[i, c, d] (a talk of case i with consultant c on day d) only for a case whose new
    workplace meeting needs a talk, a consultant with meeting candidates for it, and a talk
    day with a free talk slot before the pair's last candidate day; with `days_per_pair` only
    that many of the earliest such days (every candidate day then keeps its earliest talk
    day, so pruning never removes a meeting). `options` are the meeting candidates of the
    talk cases, `day_load` every meeting candidate per consultant-day (c, d) with its occupied
    minutes. Returns the talk variables and whether any talk day was left out.
    """
    talks: dict[tuple[int, int, int], cp_model.IntVar] = {}
    pruned = False
    by_cd: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    capacity: dict[tuple[int, int], int] = {}

    def cap(c: int, d: int) -> int:
        if (c, d) not in capacity:
            capacity[c, d] = talk_capacity(p, c, d)
        return capacity[c, d]

    for (i, c), items in sorted(options.items(), key=lambda kv: kv[0]):
        last = max(day for day, _, _ in items)
        # variables only where a talk can be: a talk day with a free slot before the meeting
        days = [d for d in p.talk_days if d < last and cap(c, d) > 0]
        if days_per_pair is not None and len(days) > days_per_pair:
            days, pruned = days[:days_per_pair], True
        t = dict(zip(days, new_bool_vars(model, len(days)), strict=True))
        for d, var in t.items():
            talks[i, c, d] = var
            by_cd.setdefault((c, d), []).append(var)
        # one talk with consultant c exactly when the meeting is with c (same consultant)
        model.add(sum(t.values()) == sum(var for _, var, _ in items))
        # the talk's date is strictly before the meeting's date
        for day, var, _ in items:
            model.add(sum(v for d, v in t.items() if d < day) >= var)
    # talks and meetings share the consultant's open time that day (rule 7, no travel for a
    # talk), and no more talks than disjoint talk slots fit in it; talks do not count towards
    # max_meetings_per_day (rule 8)
    for (c, d), tvars in by_cd.items():
        model.add(sum(tvars) <= cap(c, d))
        minutes = sum(b - a for a, b in p.open[c].get(d, ()))
        load = day_load.get((c, d), [])
        model.add(p.talk_minutes * sum(tvars) + sum(m * v for v, m in load) <= minutes)
    return talks, pruned


def hint_talks(model: cp_model.CpModel, talks: dict[tuple[int, int, int], cp_model.IntVar],
               hint: dict[int, int] | None) -> None:
    """Start from a talk day per case (`hint`: case -> day) where the model has that talk
    (`add_private_talks`' variables, case by case in its order)."""
    if hint:
        for (i, _, d), var in talks.items():
            if hint.get(i) == d:
                model.add_hint(var, True)
