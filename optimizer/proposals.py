"""Rule 11, stable plans: a proposal already sent to the employer (not yet confirmed) stays
where it is, unless its time became impossible or moving it makes a meeting on time that
otherwise would not be.

How, per proposal (never "all or nothing" for the instance):

1. `keep_proposals` checks each proposal on its own against the instance as it is now (in
   order of start): the case's consultant and rule 2 (a kept owner or kept talk ties the case
   to another consultant, a workplace meeting needs a workplace-capable consultant), room
   (rule 3), a day after `as_of` inside the horizon that is a working day (rule 5 — but no new
   notice: the notice was given when it was sent), the slot grid, working hours, busy time,
   the employer's unavailability, kept meetings, kept talks and the proposals kept before it
   (rules 6 and 7), the day's maximum (rule 8), rule 10 (a case that still needs its private
   talk, or whose agreed talk is not on an earlier date, is planned anew). A possible proposal
   becomes a kept meeting of a derived instance; an impossible one is planned anew.
2. The solver plans the derived instance: kept proposals cannot move there.
3. `release` then takes the plan into the real instance, where kept proposals are ordinary
   meetings, and runs the local search (`improve`) whose every step gives one more meeting on
   time (a late or missing meeting placed on time, possibly by moving one other meeting — a
   proposal too — elsewhere, on time if it was on time, or late when the meeting made on
   time weighs more: a first meeting displacing a follow-up, `Instance.on_time_weights`). So
   a proposal moves only when its old time is impossible or its move makes a meeting on time
   (counted with the first-meeting weighting: a follow-up's proposal gives way to a first
   meeting, never the other way round).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from optimizer import timing
from optimizer.bounds import flow_bound
from optimizer.calendar import DAY, is_working_day, occupied, overlaps, to_minutes, travel_minutes
from optimizer.candidates import Prepared, Schedule, day_feasible, eligible_consultants, prepare
from optimizer.instance import Case, Instance, KeptMeeting, minute_of
from optimizer.local_search import improve


def has_proposals(instance: Instance) -> bool:
    """Whether any case carries a proposal (rule 11)."""
    return any(case.proposal is not None for case in instance.cases)


def keep_proposals(instance: Instance) -> tuple[Instance, dict[str, bool]]:
    """The instance with every still-possible proposal as a kept meeting (rule 9), and per
    case with a proposal whether it was possible (see the module docstring)."""
    cindex = {c.id: k for k, c in enumerate(instance.consultants)}
    # what is fixed already: kept meetings (with travel) and kept talks, per consultant
    blocks: list[list[tuple[int, int]]] = [to_minutes(instance, c.busy)
                                           for c in instance.consultants]
    per_day: dict[tuple[int, int], int] = {}
    room = [c.max_active_cases - c.active_cases for c in instance.consultants]
    for case in instance.cases:
        if case.meeting is not None:
            c = cindex[case.meeting.consultant_id]
            start = minute_of(instance, case.meeting.start)
            blocks[c].append(_occupied(instance, case, c, start))
            per_day[c, start // DAY] = per_day.get((c, start // DAY), 0) + 1
            if case.consultant_id is None:
                room[c] -= 1
        if case.private_talk is not None:
            c = cindex[case.private_talk.consultant_id]
            start = minute_of(instance, case.private_talk.start)
            blocks[c].append((start, start + instance.private_talk_minutes))
            if case.consultant_id is None and case.meeting is None:
                room[c] -= 1

    possible: dict[str, bool] = {}
    cases = list(instance.cases)
    order = sorted((i for i, case in enumerate(cases) if case.proposal is not None),
                   key=lambda i: (cases[i].proposal.start, cases[i].id))  # type: ignore[union-attr]
    for i in order:
        case = cases[i]
        assert case.proposal is not None
        c = cindex[case.proposal.consultant_id]
        start = minute_of(instance, case.proposal.start)
        ok = _fits(instance, case, c, start, blocks[c], per_day, room)
        possible[case.id] = ok
        if not ok:
            continue
        blocks[c].append(_occupied(instance, case, c, start))
        per_day[c, start // DAY] = per_day.get((c, start // DAY), 0) + 1
        if case.consultant_id is None and case.pinned_consultant is None:
            room[c] -= 1
        cases[i] = dataclasses.replace(
            case, proposal=None,
            meeting=KeptMeeting(start=case.proposal.start,
                                consultant_id=case.proposal.consultant_id))
    return dataclasses.replace(instance, cases=cases), possible


def _occupied(instance: Instance, case: Case, c: int, start: int) -> tuple[int, int]:
    consultant = instance.consultants[c]
    t = travel_minutes(instance, consultant.location, case.employer.location) \
        if case.follow_up == "workplace_meeting" else 0
    return occupied(case.follow_up, start, instance.meeting_minutes[case.follow_up], t)


def _fits(instance: Instance, case: Case, c: int, start: int, blocks: list[tuple[int, int]],
          per_day: dict[tuple[int, int], int], room: list[int]) -> bool:
    """Whether case's proposal at `start` with consultant c keeps rules 2-10 today (no notice)."""
    consultant = instance.consultants[c]
    if case.wants_new_talk or c not in eligible_consultants(instance, case):
        return False
    if case.follow_up == "workplace_meeting" and not consultant.workplace_meetings:
        return False
    if case.consultant_id is None and case.pinned_consultant is None and room[c] <= 0:
        return False
    d = start // DAY
    day = instance.as_of + timedelta(days=d)
    if not 1 <= d < instance.horizon_days or not is_working_day(instance, day):
        return False
    if case.private_talk is not None and day <= case.private_talk.start.date():
        return False
    if (start - d * DAY) % instance.slot_minutes:
        return False
    hours = consultant.working_hours.get(day.weekday())
    occ = _occupied(instance, case, c, start)
    if hours is None or occ[0] < d * DAY + hours[0] or occ[1] > d * DAY + hours[1]:
        return False
    if any(overlaps(occ, b) for b in blocks):
        return False
    meeting = (start, start + instance.meeting_minutes[case.follow_up])
    if any(overlaps(meeting, u) for u in to_minutes(instance, case.employer.unavailable)):
        return False
    return per_day.get((c, d), 0) < consultant.max_meetings_per_day


def release(instance: Instance, kept: Prepared, schedule: Schedule,
            possible: dict[str, bool], stop: float) -> tuple[Prepared, Schedule, int]:
    """The plan of the derived instance (`kept`, `schedule`) in the real instance, improved
    by steps that each make one more meeting on time (the only reason to move a proposal).

    Returns the real instance's Prepared, its schedule and a proven upper bound on its
    on-time meetings (the max-flow relaxation, kept meetings included).
    """
    p = prepare(instance, like=kept)  # the same employers: their minutes are kept's
    p.proposal_possible = {i: possible[case.id] for i, case in enumerate(instance.cases)
                           if case.id in possible}
    real = Schedule(p)
    for i, c in schedule.owner.items():
        if i not in p.kept and i not in p.pinned:
            real.assign(i, c)
    for i, (c, d, start) in schedule.meeting.items():
        if i in p.kept:
            continue
        talk = schedule.talk.get(i)
        real.place(i, c, d, start, talk=None if talk is None else (talk[1], talk[2]))
    ok_day = day_feasible(p)
    due = np.array([(case.deadline - instance.as_of).days for case in instance.cases],
                   dtype=np.int64)
    on = np.array(p.days, dtype=np.int64)[None, :] <= due[:, None]
    improve(p, real, ok_day, max(stop, timing.now() + 0.05))
    kept_on_time = sum(1 for i, (_, d, _) in p.kept.items() if d <= due[i])
    # Proposals kept where no new meeting could go (inside the notice, say) have no arc in
    # the relaxation: each counts as one on-time meeting, and leaves the flow (taking it out
    # only relaxes the others), so the bound stays proven.
    outside = _outside_candidates(p, ok_day, due)
    relaxed = ok_day.copy()
    relaxed[outside] = False
    return p, real, kept_on_time + len(outside) + flow_bound(p, relaxed, on)


def _outside_candidates(p: Prepared, ok_day: np.ndarray, due: np.ndarray) -> list[int]:
    """The cases whose proposal, still possible and on time, lies where the candidates have
    no start (its day before the first candidate day, or a day the candidates exclude)."""
    instance = p.instance
    day_index = {d: k for k, d in enumerate(p.days)}
    out = []
    for i, case in enumerate(instance.cases):
        proposal = case.proposal
        if proposal is None or not p.proposal_possible.get(i, False):
            continue
        d = (proposal.start.date() - instance.as_of).days
        k = day_index.get(d)
        c = p.cindex.get(proposal.consultant_id)
        if d <= due[i] and (k is None or c is None or not ok_day[i, c, k]):
            out.append(i)
    return out
