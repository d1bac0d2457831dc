"""The planning instance: plain dataclasses, and parsing/validation of the JSON contract.

Follows /work/shared/spec/planning.md ("Instance (JSON)" and its defaults). Parsing is strict:
a wrong type ("2" for 2), an unknown reference, a duplicate id or a value out of range raises
`InstanceError` whose message starts with the field path, e.g.
`cases[3].deadline: not a date "2026-13-01"`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

FOLLOW_UPS = ("workplace_meeting", "jobcenter_meeting", "telephone")
MEETING_KINDS = ("workplace_meeting", "jobcenter_meeting")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_WORKING_HOURS = {"mon": ["08:00", "15:30"], "tue": ["08:00", "15:30"],
                         "wed": ["08:00", "15:30"], "thu": ["08:00", "15:30"],
                         "fri": ["08:00", "13:00"]}
DEFAULT_MEETING_MINUTES = {"workplace_meeting": 60, "jobcenter_meeting": 45}
DEFAULT_PRIVATE_TALK_MINUTES = 30  # rule 10
FIXED_EMPLOYERS_RULES = ("hard", "preferred")  # rule 2: a fixed employer's consultant

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:00)?$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")


class InstanceError(ValueError):
    """An invalid planning instance; the message names the offending field path."""


@dataclass(frozen=True)
class Location:
    """A point in WGS84 degrees."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Interval:
    """A half-open wall-clock interval [start, end)."""

    start: datetime
    end: datetime


@dataclass
class Consultant:
    """A consultant with calendar and capacity; `working_hours` already resolved."""

    id: str
    location: Location
    workplace_meetings: bool
    skills: tuple[str, ...]
    max_active_cases: int
    active_cases: int
    max_meetings_per_day: int
    # weekday (0 = Monday) -> (start minute, end minute); absent weekdays are not worked
    working_hours: dict[int, tuple[int, int]]
    busy: list[Interval] = field(default_factory=list)
    fixed_employers: frozenset[str] = frozenset()
    team: str | None = None  # rule 2 under "preferred": the fixed consultant's team next


# The location of an absent employer (jobcenter and telephone cases): never travelled to.
NOWHERE = Location(0.0, 0.0)


@dataclass
class Employer:
    """The employer of a case: CVR, where the workplace is, when it cannot meet."""

    cvr: str
    location: Location
    unavailable: list[Interval] = field(default_factory=list)


@dataclass(frozen=True)
class KeptMeeting:
    """A confirmed meeting that must appear unchanged in the plan (rule 9)."""

    start: datetime
    consultant_id: str


@dataclass(frozen=True)
class Proposal:
    """Rule 11: a proposal already sent to the employer, not confirmed; kept while its time
    is possible unless moving it makes another meeting on time."""

    start: datetime
    consultant_id: str


@dataclass(frozen=True)
class KeptTalk:
    """A private talk agreed with the citizen that must appear unchanged (rule 10)."""

    start: datetime
    consultant_id: str


@dataclass
class Case:
    """A case to assign (and, unless telephone, to give one meeting)."""

    id: str
    follow_up: str
    deadline: date
    diagnosis_group: str
    employer: Employer
    consultant_id: str | None = None
    meeting: KeptMeeting | None = None
    private_talk_first: bool = False
    private_talk: KeptTalk | None = None
    proposal: Proposal | None = None
    # false for a follow-up meeting (after the first was held): the objective puts first
    # meetings on time before follow-ups on time
    first_meeting: bool = True

    @property
    def needs_meeting(self) -> bool:
        """Telephone cases get no meeting (rule 4)."""
        return self.follow_up != "telephone"

    @property
    def wants_new_talk(self) -> bool:
        """Rule 10: a new workplace meeting of this case needs a new private talk before it
        (the citizen asked for one, and neither the meeting nor a talk is agreed yet)."""
        return (self.private_talk_first and self.follow_up == "workplace_meeting"
                and self.meeting is None and self.private_talk is None)

    @property
    def pinned_consultant(self) -> str | None:
        """The consultant a kept meeting or kept talk ties the case to (rules 9 and 10)."""
        if self.meeting is not None:
            return self.meeting.consultant_id
        if self.private_talk is not None:
            return self.private_talk.consultant_id
        return None


@dataclass
class Instance:
    """A parsed, validated planning instance with spec defaults applied."""

    as_of: date
    horizon_days: int
    slot_minutes: int
    min_notice_days: int
    meeting_minutes: dict[str, int]
    working_hours: dict[int, tuple[int, int]]
    closed_dates: frozenset[date]
    road_factor: float
    speed_kmh: float
    consultants: list[Consultant]
    cases: list[Case]
    private_talk_minutes: int = DEFAULT_PRIVATE_TALK_MINUTES
    # rule 5: min_notice_days counts working days (not calendar days) when true
    notice_in_working_days: bool = False
    # objective, lower tiers: prefer at least this many working days of notice (0: no wish)
    preferred_notice_working_days: int = 0
    fixed_employers_rule: str = "hard"  # rule 2: "hard" or "preferred"
    consultant_by_id: dict[str, Consultant] = field(default_factory=dict)
    case_by_id: dict[str, Case] = field(default_factory=dict)
    on_time_weights: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.consultant_by_id = {c.id: c for c in self.consultants}
        self.case_by_id = {c.id: c for c in self.cases}
        # The objective's top tier per case (`on_time_weight`): a first meeting on time is
        # worth more than all follow-ups on time together, so the weighted on-time count is
        # lexicographic (first meetings on time, then follow-ups on time); without follow-ups
        # every weight is 1 and it is the on-time count.
        follow_ups = sum(1 for c in self.cases if not c.first_meeting and c.needs_meeting)
        self.on_time_weights = [1 if not c.first_meeting else follow_ups + 1
                                for c in self.cases]

    @property
    def has_follow_ups(self) -> bool:
        """Whether some case is a follow-up meeting (weights other than 1)."""
        return any(not c.first_meeting and c.needs_meeting for c in self.cases)

    def priority(self, i: int) -> tuple[bool, date, str]:
        """The order the heuristics place cases in: first meetings before follow-ups, then
        earliest deadline first."""
        case = self.cases[i]
        return (not case.first_meeting, case.deadline, case.id)

    def duration(self, kind: str) -> int:
        """Meeting length in minutes for a meeting kind."""
        return self.meeting_minutes[kind]

    def fixed_consultants(self, cvr: str) -> list[Consultant]:
        """Consultants that have this employer among their fixed employers (rule 2)."""
        return [c for c in self.consultants if cvr in c.fixed_employers]

    @property
    def fixed_is_hard(self) -> bool:
        """Rule 2: a fixed employer's case goes only to its fixed consultants ("hard"), or
        to them first, else their team, else anyone eligible ("preferred")."""
        return self.fixed_employers_rule == "hard"

    def fixed_rank(self, case: Case, consultant: Consultant) -> int:
        """Under "preferred": 2 for a fixed consultant of the case's employer, 1 for one of
        the same team as a fixed consultant, else 0 (also 0 for every consultant when the
        employer has no fixed consultant or the rule is "hard")."""
        if self.fixed_is_hard or not case.employer.cvr:
            return 0
        if case.employer.cvr in consultant.fixed_employers:
            return 2
        if consultant.team is not None and any(
                c.team == consultant.team for c in self.fixed_consultants(case.employer.cvr)):
            return 1
        return 0


# -- strict readers ------------------------------------------------------------------------------

def _fail(path: str, message: str) -> InstanceError:
    return InstanceError(f"{path}: {message}")


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object, got {_kind(value)}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, f"expected a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f'a string "{value}"'
    if isinstance(value, list):
        return "a list"
    return "an object"


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, f"expected a non-empty string, got {_kind(value)}")
    return value


def _int(value: Any, path: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"expected an integer, got {_kind(value)}")
    if value < minimum:
        raise _fail(path, f"must be at least {minimum}, got {value}")
    return value


def _number(value: Any, path: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"expected a number, got {_kind(value)}")
    if positive and value <= 0:
        raise _fail(path, f"must be positive, got {value}")
    return float(value)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"expected true or false, got {_kind(value)}")
    return value


def _date(value: Any, path: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise _fail(path, f"not a date {_quote(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"not a date {_quote(value)}") from None


def _datetime(value: Any, path: str) -> datetime:
    if not isinstance(value, str) or not _DATETIME_RE.match(value):
        raise _fail(path, f"malformed time {_quote(value)} (expected YYYY-MM-DDTHH:MM)")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"malformed time {_quote(value)} (expected YYYY-MM-DDTHH:MM)") from None


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else _kind(value)


def _clock(value: Any, path: str) -> int:
    """'HH:MM' -> minutes since midnight ("24:00" allowed as an end)."""
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise _fail(path, f"malformed time {_quote(value)} (expected HH:MM)")
    hh, mm = int(value[:2]), int(value[3:])
    if mm > 59 or hh > 24 or (hh == 24 and mm):
        raise _fail(path, f"malformed time {_quote(value)} (expected HH:MM)")
    return hh * 60 + mm


def _location(value: Any, path: str) -> Location:
    data = _obj(value, path)
    _no_extra(data, path, {"lat", "lon"})
    lat = _number(_required(data, "lat", path), f"{path}.lat", positive=False)
    lon = _number(_required(data, "lon", path), f"{path}.lon", positive=False)
    if not -90 <= lat <= 90:
        raise _fail(f"{path}.lat", f"latitude out of range: {lat}")
    if not -180 <= lon <= 180:
        raise _fail(f"{path}.lon", f"longitude out of range: {lon}")
    return Location(lat, lon)


def _required(data: dict[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise _fail(f"{path}.{key}" if path else key, "missing")
    return data[key]


def _no_extra(data: dict[str, Any], path: str, allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        where = f"{path}.{extra[0]}" if path else extra[0]
        raise _fail(where, "unknown field")


# Intervals read so far while parsing one instance: (start text, end text) -> Interval. Many
# cases repeat their employer's unavailability; each text pair is read and validated once.
IntervalCache = dict[tuple[str, str], Interval]


def _intervals(value: Any, path: str, cache: IntervalCache | None = None) -> list[Interval]:
    out: list[Interval] = []
    for i, item in enumerate(_list(value, path)):
        if cache is not None and type(item) is dict and len(item) == 2:
            # exactly the keys "start" and "end" with texts read before: valid, the same value
            start_text, end_text = item.get("start"), item.get("end")
            if type(start_text) is str and type(end_text) is str:
                hit = cache.get((start_text, end_text))
                if hit is not None:
                    out.append(hit)
                    continue
        p = f"{path}[{i}]"
        data = _obj(item, p)
        _no_extra(data, p, {"start", "end"})
        start = _datetime(_required(data, "start", p), f"{p}.start")
        end = _datetime(_required(data, "end", p), f"{p}.end")
        if end <= start:
            raise _fail(f"{p}.end", "must be after start")
        interval = Interval(start, end)
        if cache is not None:
            cache[data["start"], data["end"]] = interval
        out.append(interval)
    return out


def _working_hours(value: Any, path: str) -> dict[int, tuple[int, int]]:
    data = _obj(value, path)
    out: dict[int, tuple[int, int]] = {}
    for name, hours in data.items():
        p = f"{path}.{name}"
        if name not in DAY_NAMES:
            raise _fail(p, f"unknown day (expected one of {', '.join(DAY_NAMES)})")
        pair = _list(hours, p)
        if len(pair) != 2:
            raise _fail(p, "expected [start, end]")
        start, end = _clock(pair[0], f"{p}[0]"), _clock(pair[1], f"{p}[1]")
        if end <= start:
            raise _fail(f"{p}[1]", "must be after start")
        out[DAY_NAMES.index(name)] = (start, end)
    return out


# -- the instance --------------------------------------------------------------------------------

_TOP_FIELDS = {"as_of", "horizon_days", "slot_minutes", "min_notice_days", "meeting_minutes",
               "private_talk_minutes", "working_hours", "closed_dates", "travel", "consultants",
               "cases", "notice_in_working_days", "preferred_notice_working_days",
               "fixed_employers_rule"}
_CONSULTANT_FIELDS = {"id", "name", "location", "workplace_meetings", "skills",
                      "max_active_cases", "active_cases", "max_meetings_per_day",
                      "working_hours", "busy", "fixed_employers", "team"}
_CASE_FIELDS = {"id", "follow_up", "deadline", "diagnosis_group", "employer", "consultant_id",
                "meeting", "private_talk_first", "private_talk", "proposal",
                "first_meeting"}


def parse_instance(data: dict[str, Any]) -> Instance:
    """Validate a planning instance (JSON object) and apply the spec's defaults.

    Raises InstanceError naming the field path of the first problem found.
    """
    data = _obj(data, "instance")
    _no_extra(data, "", _TOP_FIELDS)
    as_of = _date(_required(data, "as_of", ""), "as_of")
    horizon = _int(data.get("horizon_days", 35), "horizon_days", minimum=1)
    slot = _int(data.get("slot_minutes", 15), "slot_minutes", minimum=1)
    notice = _int(data.get("min_notice_days", 2), "min_notice_days", minimum=0)
    working_notice = _bool(data.get("notice_in_working_days", False), "notice_in_working_days")
    preferred_notice = _int(data.get("preferred_notice_working_days", 0),
                            "preferred_notice_working_days", minimum=0)
    fixed_rule = data.get("fixed_employers_rule", "hard")
    if fixed_rule not in FIXED_EMPLOYERS_RULES:
        raise _fail("fixed_employers_rule", f"{_quote(fixed_rule)} is not one of "
                    f"{', '.join(FIXED_EMPLOYERS_RULES)}")

    minutes = dict(DEFAULT_MEETING_MINUTES)
    for kind, value in _obj(data.get("meeting_minutes", {}), "meeting_minutes").items():
        if kind not in MEETING_KINDS:
            raise _fail(f"meeting_minutes.{kind}", "unknown meeting kind")
        minutes[kind] = _int(value, f"meeting_minutes.{kind}", minimum=1)
    talk_minutes = _int(data.get("private_talk_minutes", DEFAULT_PRIVATE_TALK_MINUTES),
                        "private_talk_minutes", minimum=1)

    hours = _working_hours(data.get("working_hours", DEFAULT_WORKING_HOURS), "working_hours")
    closed = frozenset(_date(v, f"closed_dates[{i}]")
                       for i, v in enumerate(_list(data.get("closed_dates", []), "closed_dates")))
    travel = _obj(data.get("travel", {}), "travel")
    _no_extra(travel, "travel", {"road_factor", "speed_kmh"})
    road_factor = _number(travel.get("road_factor", 1.3), "travel.road_factor")
    speed = _number(travel.get("speed_kmh", 50), "travel.speed_kmh")

    intervals: IntervalCache = {}
    consultants = [_consultant(item, f"consultants[{i}]", hours, intervals)
                   for i, item in enumerate(_list(_required(data, "consultants", ""),
                                                  "consultants"))]
    seen: set[str] = set()
    for i, c in enumerate(consultants):
        if c.id in seen:
            raise _fail(f"consultants[{i}].id", f'duplicate id "{c.id}"')
        seen.add(c.id)

    cases = [_case(item, f"cases[{i}]", seen, talk_minutes, intervals)
             for i, item in enumerate(_list(_required(data, "cases", ""), "cases"))]
    seen_cases: set[str] = set()
    for i, case in enumerate(cases):
        if case.id in seen_cases:
            raise _fail(f"cases[{i}].id", f'duplicate id "{case.id}"')
        seen_cases.add(case.id)

    return Instance(as_of=as_of, horizon_days=horizon, slot_minutes=slot,
                    min_notice_days=notice, meeting_minutes=minutes, working_hours=hours,
                    closed_dates=closed, road_factor=road_factor, speed_kmh=speed,
                    consultants=consultants, cases=cases, private_talk_minutes=talk_minutes,
                    notice_in_working_days=working_notice,
                    preferred_notice_working_days=preferred_notice,
                    fixed_employers_rule=fixed_rule)


def _consultant(value: Any, path: str, default_hours: dict[int, tuple[int, int]],
                intervals: IntervalCache | None = None) -> Consultant:
    data = _obj(value, path)
    _no_extra(data, path, _CONSULTANT_FIELDS)
    cid = _str(_required(data, "id", path), f"{path}.id")
    location = _location(_required(data, "location", path), f"{path}.location")
    workplace = _bool(_required(data, "workplace_meetings", path), f"{path}.workplace_meetings")
    skills = tuple(_str(s, f"{path}.skills[{i}]")
                   for i, s in enumerate(_list(data.get("skills", []), f"{path}.skills")))
    max_active = _int(_required(data, "max_active_cases", path), f"{path}.max_active_cases")
    active = _int(data.get("active_cases", 0), f"{path}.active_cases")
    per_day = _int(data.get("max_meetings_per_day", 3), f"{path}.max_meetings_per_day")
    raw_hours = data.get("working_hours")
    hours = default_hours if raw_hours is None else _working_hours(raw_hours,
                                                                   f"{path}.working_hours")
    busy = _intervals(data.get("busy", []), f"{path}.busy", intervals)
    fixed = frozenset(_str(v, f"{path}.fixed_employers[{i}]") for i, v in
                      enumerate(_list(data.get("fixed_employers", []),
                                      f"{path}.fixed_employers")))
    team = data.get("team")
    if team is not None:
        team = _str(team, f"{path}.team")
    return Consultant(id=cid, location=location, workplace_meetings=workplace, skills=skills,
                      max_active_cases=max_active, active_cases=active,
                      max_meetings_per_day=per_day, working_hours=dict(hours), busy=busy,
                      fixed_employers=fixed, team=team)


def _case(value: Any, path: str, consultant_ids: set[str], talk_minutes: int,
          intervals: IntervalCache | None = None) -> Case:
    data = _obj(value, path)
    _no_extra(data, path, _CASE_FIELDS)
    cid = _str(_required(data, "id", path), f"{path}.id")
    follow_up = _required(data, "follow_up", path)
    if follow_up not in FOLLOW_UPS:
        raise _fail(f"{path}.follow_up",
                    f"{_quote(follow_up)} is not one of {', '.join(FOLLOW_UPS)}")
    deadline = _date(_required(data, "deadline", path), f"{path}.deadline")
    group = _str(data.get("diagnosis_group", "other"), f"{path}.diagnosis_group")

    ep = f"{path}.employer"
    if data.get("employer") is None and follow_up != "workplace_meeting":
        # A jobcenter meeting or telephone case needs no workplace: no travel, no CVR rule.
        employer = Employer(cvr="", location=NOWHERE)
    else:
        emp = _obj(_required(data, "employer", path), ep)
        _no_extra(emp, ep, {"cvr", "name", "location", "unavailable"})
        employer = Employer(
            cvr=_str(_required(emp, "cvr", ep), f"{ep}.cvr"),
            location=_location(_required(emp, "location", ep), f"{ep}.location"),
            unavailable=_intervals(emp.get("unavailable", []), f"{ep}.unavailable",
                                   intervals))

    owner = data.get("consultant_id")
    if owner is not None:
        owner = _str(owner, f"{path}.consultant_id")
        if owner not in consultant_ids:
            raise _fail(f"{path}.consultant_id", f'unknown consultant "{owner}"')

    meeting = None
    raw_meeting = data.get("meeting")
    if raw_meeting is not None:
        mp = f"{path}.meeting"
        m, start, mc = _meeting_fields(raw_meeting, mp, consultant_ids, follow_up)
        if owner is not None and owner != mc:
            raise _fail(f"{mp}.consultant_id",
                        f'"{mc}" differs from the case\'s consultant_id "{owner}"')
        _same_kind(m, mp, follow_up)
        meeting = KeptMeeting(start=start, consultant_id=mc)

    wish = _bool(data.get("private_talk_first", False), f"{path}.private_talk_first")
    first = _bool(data.get("first_meeting", True), f"{path}.first_meeting")
    talk = None
    if data.get("private_talk") is not None:
        talk = _kept_talk(data["private_talk"], f"{path}.private_talk", consultant_ids,
                          talk_minutes, owner, meeting)
    proposal = None
    if data.get("proposal") is not None:
        proposal = _proposal(data["proposal"], f"{path}.proposal", consultant_ids, follow_up,
                             meeting)
    return Case(id=cid, follow_up=follow_up, deadline=deadline, diagnosis_group=group,
                employer=employer, consultant_id=owner, meeting=meeting,
                private_talk_first=wish, private_talk=talk, proposal=proposal,
                first_meeting=first)


def _proposal(value: Any, path: str, consultant_ids: set[str], follow_up: str,
              meeting: KeptMeeting | None) -> Proposal:
    """Rule 11: a proposal sent and not confirmed {"start", "consultant_id"} (a plan's
    meeting fields "end", "kind" and "travel_minutes" may be passed back unchanged)."""
    data, start, pc = _meeting_fields(value, path, consultant_ids, follow_up)
    if meeting is not None:
        raise _fail(path, "a case with a kept meeting has no proposal (rules 9 and 11)")
    _same_kind(data, path, follow_up)
    return Proposal(start=start, consultant_id=pc)


def _meeting_fields(value: Any, path: str, consultant_ids: set[str], follow_up: str
                    ) -> tuple[dict[str, Any], datetime, str]:
    """A kept meeting's or a proposal's object (a plan's meeting fields may be passed back
    unchanged), its start and its known consultant; a telephone case has neither."""
    data = _obj(value, path)
    _no_extra(data, path, {"start", "end", "consultant_id", "kind", "travel_minutes"})
    start = _datetime(_required(data, "start", path), f"{path}.start")
    consultant = _str(_required(data, "consultant_id", path), f"{path}.consultant_id")
    if consultant not in consultant_ids:
        raise _fail(f"{path}.consultant_id", f'unknown consultant "{consultant}"')
    if follow_up == "telephone":
        raise _fail(path, "a telephone case has no meeting (rule 4)")
    return data, start, consultant


def _same_kind(data: dict[str, Any], path: str, follow_up: str) -> None:
    if "kind" in data and data["kind"] != follow_up:
        raise _fail(f"{path}.kind", f"{_quote(data['kind'])} does not match follow_up")


def _kept_talk(value: Any, path: str, consultant_ids: set[str], talk_minutes: int,
               owner: str | None, meeting: KeptMeeting | None) -> KeptTalk:
    """Rule 10: an agreed talk {"start", "consultant_id"} (a plan's "end" and "kind" may be
    passed back unchanged); its consultant is the case's."""
    data = _obj(value, path)
    _no_extra(data, path, {"start", "end", "consultant_id", "kind"})
    start = _datetime(_required(data, "start", path), f"{path}.start")
    tc = _str(_required(data, "consultant_id", path), f"{path}.consultant_id")
    if tc not in consultant_ids:
        raise _fail(f"{path}.consultant_id", f'unknown consultant "{tc}"')
    if owner is not None and owner != tc:
        raise _fail(f"{path}.consultant_id",
                    f'"{tc}" differs from the case\'s consultant_id "{owner}"')
    if meeting is not None and meeting.consultant_id != tc:
        raise _fail(f"{path}.consultant_id", f'"{tc}" differs from the kept meeting\'s '
                    f'consultant_id "{meeting.consultant_id}" (same consultant, rule 10)')
    if "kind" in data and data["kind"] != "private_talk":
        raise _fail(f"{path}.kind", f'{_quote(data["kind"])} is not "private_talk"')
    if "end" in data:
        end = _datetime(data["end"], f"{path}.end")
        if end != start + timedelta(minutes=talk_minutes):
            raise _fail(f"{path}.end", f"a private talk lasts private_talk_minutes "
                        f"({talk_minutes} minutes), got "
                        f"{int((end - start).total_seconds() // 60)}")
    return KeptTalk(start=start, consultant_id=tc)


@lru_cache(maxsize=16)
def midnight(day: date) -> datetime:
    """Midnight at the start of `day`: minute 0 of the planner's time axis when `day` is
    `as_of`."""
    return datetime.combine(day, datetime.min.time())


def minute_of(instance: Instance, moment: datetime) -> int:
    """Minutes since midnight of `as_of` (the planner's absolute time axis)."""
    delta = moment - midnight(instance.as_of)
    # floor(total seconds / 60): a day is 1440 whole minutes, 0 <= seconds < 86400
    return delta.days * 1440 + delta.seconds // 60


def minutes_of(instance: Instance, intervals: list[Interval]) -> list[tuple[int, int]]:
    """`minute_of` of each interval's start and end."""
    origin = midnight(instance.as_of)
    out = []
    for iv in intervals:
        a, b = iv.start - origin, iv.end - origin
        out.append((a.days * 1440 + a.seconds // 60, b.days * 1440 + b.seconds // 60))
    return out


def moment_of(instance: Instance, minute: int) -> datetime:
    """Inverse of `minute_of`."""
    return midnight(instance.as_of) + timedelta(minutes=minute)
