"""The one clock: every use case asks it for the time, in the municipality's time zone.

Nothing else in the service reads the wall clock (log timestamps aside). Tests and the
simulation pass a `SettableClock` and move time by setting it, never by patching.

Meetings are stored as local wall-clock times without an offset (the planning contract's
format), so `local_now()` gives the same kind of value to compare them with.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Europe/Copenhagen"


def zone(name: str) -> ZoneInfo:
    """The time zone of that name; a ValueError names it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


class Clock(Protocol):
    """What the service needs to know about time."""

    tz: tzinfo

    def utcnow(self) -> datetime:
        """Now, timezone-aware, in UTC (for timestamps stored in the database)."""
        ...

    def now(self) -> datetime:
        """Now, timezone-aware, in the municipality's time zone."""
        ...

    def today(self) -> date:
        """Today's date in the municipality's time zone."""
        ...

    def local_now(self) -> datetime:
        """Now as a naive local wall-clock time (how meeting times are stored)."""
        ...


class _ClockBase:
    tz: tzinfo

    def utcnow(self) -> datetime:  # pragma: no cover - overridden
        raise NotImplementedError

    def now(self) -> datetime:
        return self.utcnow().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()

    def local_now(self) -> datetime:
        return self.now().replace(tzinfo=None)


class SystemClock(_ClockBase):
    """The real time, seen from the municipality's time zone."""

    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.tz = zone(timezone)

    def utcnow(self) -> datetime:
        return datetime.now(UTC)


class SettableClock(_ClockBase):
    """A clock that stands still until it is set or advanced (tests, simulation)."""

    def __init__(self, start: datetime, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.tz = zone(timezone)
        self._now = self._aware(start)

    def _aware(self, value: datetime) -> datetime:
        return value.replace(tzinfo=self.tz) if value.tzinfo is None else value

    def utcnow(self) -> datetime:
        return self._now.astimezone(UTC)

    def set(self, value: datetime) -> None:
        """Jump to a moment (naive values are local wall-clock times)."""
        self._now = self._aware(value)

    def set_today(self, day: date, hour: int = 10) -> None:
        """Jump to `hour` o'clock local time on `day`."""
        self.set(datetime(day.year, day.month, day.day, hour))

    def advance(self, delta: timedelta) -> None:
        """Move on by real (elapsed) time: across a DST change the wall clock jumps with it."""
        self._now = (self._now.astimezone(UTC) + delta).astimezone(self.tz)
