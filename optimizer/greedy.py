"""The documented baseline: earliest deadline first, least-loaded eligible consultant,
earliest feasible slot (spec "Command")."""

from __future__ import annotations

from optimizer.candidates import Prepared, Schedule


def load_ratio(schedule: Schedule, c: int) -> float:
    """Share of capacity in use: (active + newly given) / max_active_cases."""
    consultant = schedule.p.instance.consultants[c]
    return (consultant.active_cases + schedule.new_load[c]) / max(1, consultant.max_active_cases)


def greedy_schedule(p: Prepared, schedule: Schedule | None = None,
                    order: list[int] | None = None) -> Schedule:
    """Place every case not yet in `schedule`, earliest deadline first (rules 1-10 kept; a
    meeting that needs a private talk is placed with it, and a case a kept talk ties to its
    consultant gets its meeting).

    Per case: eligible consultants with room, least loaded first; the first of them with a
    feasible slot gets the case at its earliest slot; if none has a slot the least loaded
    one with room gets the case without a meeting; without room the case stays unassigned.
    """
    inst = p.instance
    schedule = schedule or Schedule(p)
    if order is None:
        order = sorted(range(len(inst.cases)),
                       key=lambda i: (inst.cases[i].deadline, inst.cases[i].id))
    for i in order:
        owner = schedule.owner.get(i)
        if owner is not None:
            # a case a kept talk ties to its consultant still needs its meeting (rule 10)
            if i in p.pinned and i not in schedule.meeting and inst.cases[i].needs_meeting:
                slot = schedule.earliest(i, owner)
                if slot is not None:
                    schedule.place(i, owner, slot[0], slot[1])
            continue
        pool = [c for c in p.eligible[i] if schedule.has_room(i, c)]
        if not pool:
            continue  # rule 1: unassigned, no eligible consultant has room
        pool.sort(key=lambda c: (load_ratio(schedule, c), inst.consultants[c].id))
        if inst.cases[i].needs_meeting:
            for c in pool:
                slot = schedule.earliest(i, c)
                if slot is not None:
                    schedule.place(i, c, slot[0], slot[1])
                    break
            else:
                schedule.assign(i, pool[0])
        else:
            schedule.assign(i, pool[0])
    return schedule
