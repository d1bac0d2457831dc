"""Upper bound on on-time meetings: per-day capacities and the max-flow relaxation.

The flow runs over all eligible (consultant, day) pairs (cases -> consultant-days ->
consultants, with per-day and capacity limits); `solve_cpsat` takes the minimum of it and,
when the models' candidates are complete, their objective bound.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from optimizer.candidates import Prepared


def day_capacity(p: Prepared, c: int, d: int) -> int:
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
    for c in p.pinned.values():  # tied by a kept talk: its room is used already (rule 10)
        owned[c] += 1
    tails = [np.full(n, source), case_node[ci], cd_node.ravel(), cons_node]
    heads = [case_node, cd_node[cc, ck], np.repeat(cons_node, nd), np.full(m, sink)]
    day_caps = np.array([[day_capacity(p, c, d) for d in p.days] for c in range(m)],
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
