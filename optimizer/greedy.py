"""The documented baseline: earliest deadline first, least-loaded eligible consultant,
earliest feasible slot (spec "Command"). With the lower tiers of the objective: under the
"preferred" fixed-employer rule the fixed consultant, then their team, come before the least
loaded; with a preferred notice, the earliest on-time day with that notice comes first."""

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

    Per case: eligible consultants with room, least loaded first (the fixed consultant and
    their team first under "preferred"); the first of them with a feasible slot gets the case
    at its earliest slot (`Schedule.earliest`: on time and with the preferred notice first);
    if none has a slot the least loaded one with room gets the case without a meeting; without
    room the case stays unassigned.
    """
    inst = p.instance
    schedule = schedule or Schedule(p)
    if order is None:
        # earliest deadline first; first meetings before follow-ups (the objective's order)
        order = sorted(range(len(inst.cases)), key=inst.priority)
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
        # rule 2 under "preferred": the fixed consultant, then their team, then the least loaded
        pool.sort(key=lambda c: (-p.fixed_rank(i, c), load_ratio(schedule, c),
                                 inst.consultants[c].id))
        if inst.cases[i].needs_meeting:
            due = (inst.cases[i].deadline - inst.as_of).days
            # the fixed consultant (or team) only on time, else the first late one of them
            # unless someone else is on time (the fixed rule is below on-time)
            fallback: tuple[int, tuple[int, int]] | None = None
            for c in pool:
                slot = schedule.earliest(i, c)
                if slot is None:
                    continue
                if slot[0] > due and p.fixed_rank(i, c) > 0:
                    fallback = fallback or (c, slot)
                    continue
                if slot[0] > due and fallback is not None:
                    c, slot = fallback
                schedule.place(i, c, slot[0], slot[1])
                break
            else:
                if fallback is not None:
                    schedule.place(i, fallback[0], *fallback[1])
                else:
                    schedule.assign(i, pool[0])
        else:
            schedule.assign(i, pool[0])
    return schedule
