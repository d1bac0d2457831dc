"""Danish working days: Monday to Friday, not a public holiday (the `holidays` package)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _danish_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Denmark(years=year))


def is_working_day(day: date, closed: frozenset[date] = frozenset()) -> bool:
    """A weekday that is neither a Danish public holiday nor a closed date of the jobcentre."""
    return day.weekday() < 5 and day not in _danish_holidays(day.year) and day not in closed


def count_working_days(first: date, last: date, closed: frozenset[date] = frozenset()) -> int:
    """The working days from `first` to `last`, both included (0 when `last` is before)."""
    return sum(1 for n in range((last - first).days + 1)
               if is_working_day(first + timedelta(days=n), closed))


def add_working_days(day: date, count: int, closed: frozenset[date] = frozenset()) -> date:
    """The date `count` working days after `day` (Friday + 1 = Monday; holidays skipped)."""
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current, closed):
            remaining -= 1
    return current


def previous_working_day(day: date, closed: frozenset[date] = frozenset()) -> date:
    """The last working day before `day` (Monday - 1 = Friday; holidays skipped)."""
    current = day - timedelta(days=1)
    while not is_working_day(current, closed):
        current -= timedelta(days=1)
    return current
