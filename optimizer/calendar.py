"""Working days, the slot grid, free time and travel (spec rules 5, 6 and 7).

Time inside the optimizer is an integer minute on one axis: minutes since midnight of
`instance.as_of`. Day index d covers minutes [d*1440, (d+1)*1440).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

import holidays

from optimizer.instance import Consultant, Instance, Interval, Location, minutes_of

DAY = 1440
EARTH_RADIUS_KM = 6371.0


@lru_cache(maxsize=64)
def _danish_holidays(years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.Denmark(years=list(years)).keys())


def danish_holidays(start: date, end: date) -> frozenset[date]:
    """Danish public holidays (the `holidays` package's Denmark) between start and end."""
    return _danish_holidays(tuple(range(start.year, end.year + 1)))


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance in km with earth radius 6371.0 (rule 6)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def travel_minutes(instance: Instance, a: Location, b: Location) -> int:
    """Rule 6: ceil(haversine_km x road_factor / speed_kmh x 60) minutes, one way."""
    km = haversine_km(a, b)
    # round away float noise before ceil so 12.000000001 does not become 13
    return math.ceil(round(km * instance.road_factor / instance.speed_kmh * 60, 9))


def is_working_day(instance: Instance, day: date) -> bool:
    """Rule 5: Monday-Friday, not a Danish public holiday, not a closed date."""
    return (day.weekday() < 5 and day not in danish_holidays(day, day)
            and day not in instance.closed_dates)


def notice_working_days(instance: Instance, day: date) -> int:
    """The working days (rule 5's definition) strictly between as_of and `day`: the whole
    working days the employer has to prepare (as_of, a Friday afternoon, gives none)."""
    return _notice_working_days(instance.as_of, instance.closed_dates, day)


@lru_cache(maxsize=4096)
def _notice_working_days(as_of: date, closed: frozenset[date], day: date) -> int:
    """`notice_working_days`, once per (as_of, closed dates, day): plans and their checks ask
    it for every meeting."""
    hol = danish_holidays(as_of, max(as_of, day))
    return sum(1 for n in range(1, (day - as_of).days)
               if _is_workday(as_of + timedelta(days=n), hol, closed))


def _workday(instance: Instance, day: date, hol: frozenset[date]) -> bool:
    return _is_workday(day, hol, instance.closed_dates)


def _is_workday(day: date, hol: frozenset[date], closed: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in hol and day not in closed


def enough_notice(instance: Instance, day: date) -> bool:
    """Rule 5's notice: as_of + min_notice_days <= day; with `notice_in_working_days`, at
    least min_notice_days working days strictly between as_of and day."""
    if instance.notice_in_working_days:
        return (day - instance.as_of).days >= 1 and \
            notice_working_days(instance, day) >= instance.min_notice_days
    return (day - instance.as_of).days >= instance.min_notice_days


def short_notice(instance: Instance, day: date) -> bool:
    """Objective, lower tier: a meeting on `day` gives fewer working days of notice than
    `preferred_notice_working_days` (never when that is 0)."""
    return instance.preferred_notice_working_days > 0 and \
        notice_working_days(instance, day) < instance.preferred_notice_working_days


def in_planning_window(instance: Instance, day: date) -> bool:
    """Rule 5: enough notice (`enough_notice`) and day < as_of + horizon_days."""
    return enough_notice(instance, day) and (day - instance.as_of).days < instance.horizon_days


def in_talk_window(instance: Instance, day: date) -> bool:
    """Rule 10: a private talk's day is as_of + 1 <= day < as_of + horizon_days (the employer
    is not involved, so min_notice_days does not apply)."""
    offset = (day - instance.as_of).days
    return 1 <= offset < instance.horizon_days


def _working_days_from(instance: Instance, first_offset: int) -> list[int]:
    first = instance.as_of
    last = first + timedelta(days=instance.horizon_days)
    hol = danish_holidays(first, last)
    return [d for d in range(first_offset, instance.horizon_days)
            if _workday(instance, first + timedelta(days=d), hol)]


def planning_days(instance: Instance) -> list[int]:
    """Day indices (days since as_of) on which meetings may be planned (rule 5)."""
    if not instance.notice_in_working_days:
        return _working_days_from(instance, instance.min_notice_days)
    # working days: the first min_notice_days working days after as_of only give notice
    return _working_days_from(instance, 1)[instance.min_notice_days:]


def short_notice_days(instance: Instance) -> frozenset[int]:
    """Day indices with fewer working days of notice than preferred (`short_notice`)."""
    wanted = instance.preferred_notice_working_days
    if wanted <= 0:
        return frozenset()
    # short: every day up to and including the `wanted`-th working day after as_of
    work = _working_days_from(instance, 1)
    if len(work) < wanted:
        return frozenset(range(instance.horizon_days))
    return frozenset(range(0, work[wanted - 1] + 1))


def talk_days(instance: Instance) -> list[int]:
    """Day indices on which private talks may be planned: rule 5's working days from
    as_of + 1, without the minimum notice (rule 10)."""
    return _working_days_from(instance, 1)


def day_date(instance: Instance, d: int) -> date:
    """The date of day index d."""
    return instance.as_of + timedelta(days=d)


def working_window(instance: Instance, consultant: Consultant, d: int) -> tuple[int, int] | None:
    """The consultant's working hours on day index d as absolute minutes, or None (rule 7)."""
    hours = consultant.working_hours.get(day_date(instance, d).weekday())
    if hours is None:
        return None
    return d * DAY + hours[0], d * DAY + hours[1]


def to_minutes(instance: Instance, intervals: list[Interval]) -> list[tuple[int, int]]:
    """Wall-clock intervals as absolute minute pairs."""
    return minutes_of(instance, intervals)


def subtract(free: list[tuple[int, int]], blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Free intervals minus blocked ones (touching ends are fine, rule 7)."""
    out = free
    for bs, be in blocked:
        nxt: list[tuple[int, int]] = []
        for fs, fe in out:
            if be <= fs or bs >= fe:
                nxt.append((fs, fe))
                continue
            if fs < bs:
                nxt.append((fs, bs))
            if be < fe:
                nxt.append((be, fe))
        out = nxt
    return out


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open overlap; touching ends do not overlap."""
    return a[0] < b[1] and b[0] < a[1]


def occupied(kind: str, start: int, duration: int, travel: int) -> tuple[int, int]:
    """Rule 6: a workplace meeting occupies start-t .. end+t; a jobcenter meeting start..end."""
    if kind == "workplace_meeting":
        return start - travel, start + duration + travel
    return start, start + duration
