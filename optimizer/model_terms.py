"""Terms shared by the pair and gap models: the secondary-goal score and late-candidate pruning."""

from __future__ import annotations

from optimizer.candidates import Prepared

LATE_GAPS = 4  # late candidate gaps kept per (case, consultant)
SECONDARY_MAX = 40  # per meeting: 20 for a skill match + up to 20 for short travel
# CP-SAT's second, reproducible stop (max_deterministic_time) per wall-clock second of the
# limit. On the 2-core development machine CP-SAT does 0.5-1 deterministic units per second on
# these models (bench S, M, L), so the wall-clock limit binds there; on a machine several times
# faster this stop binds instead and the plan no longer depends on the machine's load.
DETERMINISTIC_PER_SECOND = 4


def secondary(p: Prepared, i: int, c: int) -> int:
    """Secondary goals per meeting: diagnosis-group match, then less travel (0..40)."""
    case = p.instance.cases[i]
    skill = 20 if case.diagnosis_group in p.instance.consultants[c].skills else 0
    return skill + max(0, 20 - (2 * p.trip(i, c)) // 6)
