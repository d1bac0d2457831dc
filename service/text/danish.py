"""Danish dates, times and numbers, as pages, mail and Slack write them — one place for all."""

from __future__ import annotations

from datetime import date, datetime

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december")


def danish_date(value: date) -> str:
    """'tirsdag den 10. marts 2026'."""
    return f"{WEEKDAYS[value.weekday()]} den {value.day}. {MONTHS[value.month - 1]} {value.year}"


def short_date(value: date) -> str:
    """'10. marts'."""
    return f"{value.day}. {MONTHS[value.month - 1]}"


def short_month(month: int) -> str:
    """'mar.' — a month's name cut to three letters, with a dot only where it was cut
    ('maj' is whole)."""
    name = MONTHS[month - 1]
    return name if len(name) <= 3 else f"{name[:3]}."


def short_day(value: date | datetime | str) -> str:
    """'10. mar. 2026', '3. maj 2026' (a date, a datetime or an ISO date text) — for
    tables."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day}. {short_month(value.month)} {value.year}"


def danish_number(value: float, decimals: int = 1) -> str:
    """'62,5'; whole numbers without decimals; thousands with a dot ('1.234')."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def danish_time(value: datetime) -> str:
    """'09.00' (Danish style)."""
    return f"{value.hour:02d}.{value.minute:02d}"


def danish_slot(start: datetime, end: datetime) -> str:
    """'tirsdag den 10. marts 2026 kl. 09.00-10.00'."""
    return f"{danish_date(start.date())} kl. {danish_time(start)}-{danish_time(end)}"


def coming_day(day: date, today: date) -> str:
    """A day after `today` as a reminder names it: 'i morgen', 'på mandag' (within the
    week), else 'den 10. marts'."""
    ahead = (day - today).days
    if ahead == 1:
        return "i morgen"
    if 1 < ahead < 7:
        return f"på {WEEKDAYS[day.weekday()]}"
    return f"den {short_date(day)}"


# For Jinja2 environments (mail templates and pages).
FILTERS = {"dato": danish_date, "klokken": danish_time}
GLOBALS = {"slot": danish_slot}
