"""Why a case went to its consultant, why its meeting is late or missing, why it is unassigned.

Reason codes have the form `head` or `head:arg`; `REASONS` gives each code one English
sentence (`describe` fills in the argument; the service shows them in Danish). Arguments:
`<group>` a diagnosis group, `<date>` a date YYYY-MM-DD.

- An assignment's `reasons` lists why it went to that consultant (`kept_owner`,
  `fixed_employer`, `skill_match:<group>`, `least_loaded`, `near`, `workplace_capable`; any
  number of them; under the "preferred" fixed-employer rule a case not given to its
  employer's fixed consultant has one `fixed_full:*`, `fixed_no_workplace:*` or
  `fixed_no_time:*`, each `same_team` or `other_team`), a case with a proposal already sent
  (rule 11) `proposal_kept` or `proposal_moved:impossible|on_time`, and, when its meeting
  is not on time, the plain `late` (as before, for late and for missing meetings alike)
  followed by exactly one specific code: `late:<why>` when the meeting is after the deadline,
  `no_meeting:<why>` when the case got no meeting at all.
- An unassigned case has exactly one code (`reason_code`, rule 1) and its sentence (`reason`);
  the generic `no_capacity:any` keeps the contract's sentence "no eligible consultant has room".

How the reason is found, after the solve and without another model: late and missing meetings
are looked at with the case's consultant in the final plan (another consultant's calendar is
not), over the days up to the deadline (`late:*`) or the whole horizon (`no_meeting:*`), with
the plan's other meetings in place. Each day is classified (`_day_kind`); the code names, in
this order: a slot still free (`search_stopped`), the employer (`employer_unavailable`), then
the consultant's side (`daily_limit` when that alone blocks every day, else the calendar), and
only when nothing else blocks, days off or too short for the meeting with its travel. Before
all of these comes the private talk (rule 10): when on some day both the consultant and the
employer had a slot but the meeting could not be there because of its talk (no free talk slot
with the consultant on an earlier day, `private_talk`, or not after the agreed talk's date,
`private_talk_agreed`), the talk is named.
A specific `no_capacity` code names the one rule-2 restriction without which a consultant with
room would have been eligible (the fixed-employer rule first); when no single restriction is
to blame, or nobody has room, the code is `no_capacity:any`. A case with a current owner or a
kept meeting is never unassigned (its owner needs no room, rule 3).
"""

from __future__ import annotations

import math
from datetime import date

from optimizer.calendar import DAY, day_date, occupied, working_window
from optimizer.candidates import Prepared, Schedule, feasible_starts, meeting_allowed

NO_ROOM = "no eligible consultant has room"  # the contract's sentence (spec, "Plan")

REASONS: dict[str, str] = {
    # why this consultant (an assignment's `reasons`, any number of them)
    "kept_owner": "the case keeps its current consultant",
    "fixed_employer": "the consultant is a fixed consultant for the case's employer",
    "skill_match:<group>": "the consultant's skills include the case's diagnosis group <group>",
    "least_loaded": "the consultant has the lowest load (share of the maximum cases in use) "
                    "among the eligible consultants",
    "near": "the consultant's travel to the workplace is within 5 minutes of the shortest "
            "among the eligible consultants",
    "workplace_capable": "the consultant holds workplace meetings",
    # rule 2 under "preferred": why not the employer's fixed consultant (exactly one, then)
    "fixed_full:same_team": "the employer's fixed consultant has no room; a consultant of "
                            "the same team",
    "fixed_full:other_team": "the employer's fixed consultant and their team have no room; "
                             "another consultant",
    "fixed_no_workplace:same_team": "the employer's fixed consultant holds no workplace "
                                    "meetings; a consultant of the same team",
    "fixed_no_workplace:other_team": "the employer's fixed consultant holds no workplace "
                                     "meetings, nor does anyone with room in their team; "
                                     "another consultant",
    "fixed_no_time:same_team": "the employer's fixed consultant has no time for the meeting "
                               "as early (on time); a consultant of the same team",
    "fixed_no_time:other_team": "neither the employer's fixed consultant nor their team has "
                                "time for the meeting as early (on time); another consultant",
    # rule 11: a proposal already sent to the employer
    "proposal_kept": "the proposal already sent to the employer stays as it is",
    "proposal_moved:impossible": "the proposal already sent to the employer was moved: its "
                                 "time is no longer possible",
    "proposal_moved:on_time": "the proposal already sent to the employer was moved so that a "
                              "meeting is on time that otherwise would not be",
    # not on time: `late`, then one `late:*` (meeting after the deadline) or `no_meeting:*`
    "late": "the meeting is after the deadline, or there is none",
    "late:kept_meeting": "the confirmed meeting is after the deadline and is kept as it is",
    "late:no_working_day": "no working day is left before the deadline (minimum notice, "
                           "weekends, public holidays, closed dates)",
    "late:consultant_off": "the consultant does not work on any day left before the deadline",
    "late:travel_too_long": "the meeting with travel there and back does not fit into the "
                            "consultant's working hours on any day left before the deadline",
    "late:daily_limit": "the consultant's meetings-per-day limit is reached on every day left "
                        "before the deadline",
    "late:calendar_full_until:<date>": "the consultant's calendar is full until <date>, the "
                                       "first day with a free slot long enough for this "
                                       "meeting",
    "late:employer_unavailable": "the employer is unavailable on the days before the deadline "
                                 "on which the consultant has time",
    "late:search_stopped": "a slot before the deadline is still free; the planner's time "
                           "limit ended before it moved the meeting there",
    "late:private_talk": "the citizen's private talk with the consultant must come on an "
                         "earlier day than the meeting, and the consultant has no free time "
                         "for it early enough for a meeting before the deadline",
    "late:private_talk_agreed": "the meeting must come after the private talk agreed with the "
                                "citizen, and there is no slot between that talk and the "
                                "deadline",
    "no_meeting:not_workplace_capable": "the case's kept consultant does not hold workplace "
                                        "meetings",
    "no_meeting:no_working_day": "no working day in the planning horizon (minimum notice, "
                                 "weekends, public holidays, closed dates)",
    "no_meeting:consultant_off": "the consultant does not work on any day of the planning "
                                 "horizon",
    "no_meeting:travel_too_long": "the meeting with travel there and back does not fit into "
                                  "the consultant's working hours on any day of the planning "
                                  "horizon",
    "no_meeting:daily_limit": "the consultant's meetings-per-day limit is reached on every "
                              "day of the planning horizon",
    "no_meeting:calendar_full": "the consultant's calendar has no free slot long enough for "
                                "this meeting in the planning horizon",
    "no_meeting:employer_unavailable": "the employer is unavailable on every day of the "
                                       "planning horizon on which the consultant has time",
    "no_meeting:search_stopped": "a slot in the planning horizon is still free; the planner's "
                                 "time limit ended before it placed the meeting there",
    "no_meeting:private_talk": "the citizen's private talk with the consultant must come on "
                               "an earlier day than the meeting, and the consultant has no "
                               "free time for it before any free slot for the meeting",
    "no_meeting:private_talk_agreed": "the meeting must come after the private talk agreed "
                                      "with the citizen, and there is no slot after it in the "
                                      "planning horizon",
    # unassigned (exactly one, rule 1)
    "no_capacity:any": NO_ROOM,
    "no_capacity:fixed_employer": "the employer's fixed consultants have no room",
    "no_capacity:workplace": "no consultant doing workplace meetings has room",
    "no_eligible:workplace": "no consultant holds workplace meetings",
    "no_eligible:fixed_employer": "none of the employer's fixed consultants holds workplace "
                                  "meetings",
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

# How one day looks for one case's meeting with its consultant (see `_day_kind`).
_OFF = "off"  # the consultant does not work that day
_TOO_LONG = "too_long"  # meeting + travel does not fit into the working hours at all
_DAILY_LIMIT = "daily_limit"  # max_meetings_per_day reached (rule 8)
_CALENDAR = "calendar"  # no free slot long enough (busy, kept and planned meetings)
_EMPLOYER = "employer"  # the consultant has slots; the employer is unavailable in each
_TALK = "talk"  # free for the meeting, but its private talk has no slot on an earlier day
_TALK_AGREED = "talk_agreed"  # free for the meeting, but not after the agreed talk's date
_FREE = "free"  # the meeting could be placed there


def describe(code: str) -> str:
    """The English sentence of a reason code (`REASONS`), arguments filled in.

    'late:calendar_full_until:2026-03-12' -> "the consultant's calendar is full until
    12 March 2026, ..."; an unknown code is returned as it is.
    """
    if code in REASONS:
        return REASONS[code]
    prefix, _, arg = code.rpartition(":")
    for key, sentence in REASONS.items():
        if prefix and key.startswith(prefix + ":<"):
            placeholder = key[len(prefix) + 1:]
            if placeholder == "<date>":
                try:
                    day = date.fromisoformat(arg)
                except ValueError:
                    return code
                arg = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
            return sentence.replace(placeholder, arg)
    return code


def why_unassigned(p: Prepared, schedule: Schedule, i: int) -> str:
    """The reason code for case i being unassigned in `schedule` (see the module docstring)."""
    inst = p.instance
    case = inst.cases[i]
    consultants = inst.consultants
    fixed = {k for k, c in enumerate(consultants) if case.employer.cvr in c.fixed_employers}
    workplace = case.follow_up == "workplace_meeting"
    if not p.eligible[i] and workplace and consultants:
        return "no_eligible:fixed_employer" if fixed else "no_eligible:workplace"
    roomy = [k for k in range(len(consultants)) if schedule.room[k] > 0]
    for k in roomy:  # only the fixed-employer rule keeps k out
        if fixed and k not in fixed and (not workplace or consultants[k].workplace_meetings):
            return "no_capacity:fixed_employer"
    for k in roomy:  # only the workplace rule keeps k out
        if workplace and not consultants[k].workplace_meetings and (not fixed or k in fixed):
            return "no_capacity:workplace"
    return "no_capacity:any"


def why_not_fixed(p: Prepared, schedule: Schedule, i: int, c: int) -> str:
    """Under the "preferred" fixed-employer rule, why case i went to consultant c rather than
    to the employer's fixed consultant: no room (in the final plan), no workplace meetings,
    or no time as good; and whether c is of the fixed consultant's team."""
    inst = p.instance
    case = inst.cases[i]
    team = "same_team" if p.fixed_rank(i, c) == 1 else "other_team"
    fixed = [k for k, f in enumerate(inst.consultants)
             if case.employer.cvr in f.fixed_employers]
    if all(schedule.room[k] <= 0 for k in fixed):
        return f"fixed_full:{team}"
    if case.follow_up == "workplace_meeting" and not any(
            inst.consultants[k].workplace_meetings for k in fixed if schedule.room[k] > 0):
        return f"fixed_no_workplace:{team}"
    return f"fixed_no_time:{team}"


def why_not_on_time(p: Prepared, schedule: Schedule, i: int) -> str:
    """The specific reason code for case i's late or missing meeting with its consultant.

    `late:*` for a meeting after the deadline (looking at the days up to the deadline),
    `no_meeting:*` for a missing one (looking at the whole planning horizon).
    """
    inst = p.instance
    case = inst.cases[i]
    c = schedule.owner[i]
    own = schedule.meeting.get(i)
    if own is None:
        if not meeting_allowed(inst, case, c):
            return "no_meeting:not_workplace_capable"
        why = _blocked(p, schedule, i, c, p.days, None)
        return f"no_meeting:{why}"
    if i in p.kept:
        return "late:kept_meeting"
    due = (case.deadline - inst.as_of).days
    why = _blocked(p, schedule, i, c, [d for d in p.days if d <= due], own)
    if why == "calendar_full":
        # the first day after the deadline with a slot on the consultant's side; at the latest
        # the meeting's own day
        first = next((d for d in p.days if due < d <= own[1] and
                      _day_kind(p, schedule, i, c, d, own) in (_EMPLOYER, _TALK,
                                                                _TALK_AGREED, _FREE)), own[1])
        return f"late:calendar_full_until:{day_date(inst, first).isoformat()}"
    return f"late:{why}"


def _blocked(p: Prepared, schedule: Schedule, i: int, c: int, days: list[int],
             own: tuple[int, int, int] | None) -> str:
    """Why none of `days` holds case i's meeting with consultant c (the code's second part)."""
    if not days:
        return "no_working_day"
    kinds = set()
    for d in days:
        kind = _day_kind(p, schedule, i, c, d, own)
        if kind == _FREE:
            return "search_stopped"
        kinds.add(kind)
    if _TALK_AGREED in kinds:
        return "private_talk_agreed"
    if _TALK in kinds:
        return "private_talk"
    if _EMPLOYER in kinds:
        return "employer_unavailable"
    consultant_side = kinds & {_DAILY_LIMIT, _CALENDAR}
    if not consultant_side:
        return "travel_too_long" if _TOO_LONG in kinds else "consultant_off"
    if consultant_side == {_DAILY_LIMIT}:
        return "daily_limit"
    return "calendar_full"


def _day_kind(p: Prepared, schedule: Schedule, i: int, c: int, d: int,
              own: tuple[int, int, int] | None) -> str:
    """How day d looks for case i's meeting with consultant c, its own meeting taken out.

    Cheapest checks first: working hours, the day's meeting count, the precomputed `tmax`
    (free time before this plan's meetings), and only then the grid starts.
    """
    inst = p.instance
    consultant = inst.consultants[c]
    window = working_window(inst, consultant, d)
    if window is None:
        return _OFF
    t, dur = p.trip(i, c), p.duration(i)
    g = inst.slot_minutes
    first = d * DAY + math.ceil((window[0] + t - d * DAY) / g) * g
    if first + dur + t > window[1]:
        return _TOO_LONG
    taken = schedule.taken.get((c, d), [])
    count = schedule.count.get((c, d), 0)
    if own is not None and own[1] == d:
        taken = list(taken)
        taken.remove(occupied(inst.cases[i].follow_up, own[2], dur, t))
        count -= 1
    talk = schedule.talk.get(i)
    if talk is not None and talk[:2] == (c, d):
        taken = [x for x in taken if x != (talk[2], talk[2] + p.talk_minutes)]
    if count >= consultant.max_meetings_per_day:
        return _DAILY_LIMIT
    if p.tmax[inst.cases[i].follow_up][c, p.days.index(d)] < t:
        return _CALENDAR
    if not feasible_starts(p, i, c, d, taken, employer=False):
        return _CALENDAR
    if not feasible_starts(p, i, c, d, taken):
        return _EMPLOYER
    # rule 10, with the case's own meeting and talk taken out
    if d < p.not_before(i):
        return _TALK_AGREED
    if not schedule.talk_allows(i, c, d, ignore_own=True):
        return _TALK
    return _FREE
