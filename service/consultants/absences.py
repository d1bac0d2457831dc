"""When a consultant's absence is long: at least `[planning] long_absence_working_days`
working days. A long absence's open cases are offered to colleagues ("Møder der skal
flyttes", `service.meetings.conflicts`), and the intake channel hears of it when it is
registered (`LongAbsenceListener`)."""

from __future__ import annotations

from datetime import date

from service.config import MunicipalityConfig
from service.platform.workdays import count_working_days


def long_absence_days(config: MunicipalityConfig, first: date, last: date) -> int | None:
    """The absence's working days when it is a long one, else None."""
    days = count_working_days(first, last, config.planning.closed())
    return days if days >= config.planning.long_absence_working_days else None
