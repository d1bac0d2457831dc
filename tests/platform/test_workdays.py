"""Danish working days: weekends, public holidays and the jobcentre's closed dates."""

from __future__ import annotations

from datetime import date

from service.platform.workdays import add_working_days


def test_working_days_skip_weekends_and_holidays() -> None:
    assert add_working_days(date(2026, 11, 27), 2) == date(2026, 12, 1)  # Fri → Tue
    # 24 December is not a public holiday (the jobcentre closes it: config.closed_every_year)
    assert add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 28)
    assert add_working_days(date(2026, 12, 23), 2, frozenset({date(2026, 12, 24)})) == \
        date(2026, 12, 29)
    assert add_working_days(date(2027, 3, 24), 2) == date(2027, 3, 31)  # Easter 2027
