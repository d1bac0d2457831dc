"""Which week "Min uge" opens on: today's while the consultant has a working day left in it,
else the coming one (on a weekend the week just ended is of no use)."""

from __future__ import annotations

from datetime import date

from service.config import WorkingHours
from service.followup.week_layout import current_week

MONDAY = date(2026, 11, 30)  # week 49


def test_a_working_day_opens_its_own_week() -> None:
    hours = WorkingHours()
    for offset in range(5):  # Monday to Friday
        assert current_week(date.fromordinal(MONDAY.toordinal() + offset), hours) == MONDAY


def test_a_weekend_opens_the_coming_week() -> None:
    hours = WorkingHours()
    assert current_week(date(2026, 12, 5), hours) == date(2026, 12, 7)  # Saturday
    assert current_week(date(2026, 12, 6), hours) == date(2026, 12, 7)  # Sunday


def test_the_consultants_own_hours_decide() -> None:
    four_days = WorkingHours(fri=None)
    assert current_week(date(2026, 12, 3), four_days) == MONDAY  # Thursday
    assert current_week(date(2026, 12, 4), four_days) == date(2026, 12, 7)  # Friday off
    with_saturday = WorkingHours(sat=("09:00", "12:00"))
    assert current_week(date(2026, 12, 5), with_saturday) == MONDAY
    assert current_week(date(2026, 12, 6), with_saturday) == date(2026, 12, 7)
