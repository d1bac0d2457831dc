"""Clock helpers: one place that knows the service's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_local(tz: ZoneInfo = COPENHAGEN) -> date:
    """Today's date in Denmark (the rules' default `as_of`)."""
    return datetime.now(tz).date()
