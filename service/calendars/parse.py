"""An iCalendar body -> the busy intervals it holds over the planning horizon (pure: no I/O).

What counts as busy, as Outlook / Microsoft 365, Google and CalDAV servers write it:
- times are turned into the municipality's local wall-clock time (how `calendar_entries` and
  the planning contract keep them); a zone is resolved through the calendar's own VTIMEZONE
  block — Outlook names its zones the Windows way ("Romance Standard Time"), which is no IANA
  name — and Google's `X-WR-TIMEZONE` is applied to its floating times (`x-wr-timezone`);
  floating times left are local times;
- recurring events are expanded over the horizon only (`recurring-ical-events`: RRULE,
  RDATE, EXDATE and overridden instances by RECURRENCE-ID);
- an all-day event blocks its whole days;
- not busy: `STATUS:CANCELLED`, `TRANSP:TRANSPARENT`, `X-MICROSOFT-CDO-BUSYSTATUS:FREE`,
  events of no duration, and fasthold's own meetings (matched by the UID fasthold puts in its
  invitations: the planner knows them already and must not see them twice).

Nothing of an event but its times and UID is kept: titles of a consultant's own calendar may
name other citizens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar

# More busy intervals than this over the horizon is no consultant's calendar (a rule gone
# wrong, e.g. every minute): the import is refused rather than half-read.
MAX_INTERVALS = 20_000
# Occurrences looked at, busy or not (a cancelled rule every minute is no calendar either).
MAX_OCCURRENCES = 5 * MAX_INTERVALS
# A rule repeating more often than every quarter of an hour is refused before expansion.
MAX_PER_DAY = 96
MAX_UID = 300  # calendar_entries.uid

# The Danish words a consultant and a manager see for an import that failed (stored as the
# source's last_error: short, and never the address, which is a secret).
NOT_A_CALENDAR = ("Adressen gav ikke en kalender (iCalendar). Brug kalenderens ICS-link, "
                  "ikke linket til at se kalenderen i en browser.")
UNREADABLE = "Kalenderen kunne ikke læses: den er ikke gyldig iCalendar."
TOO_MANY = "Kalenderen har for mange aftaler i planlægningsperioden (over {max})."


class CalendarError(Exception):
    """A calendar that cannot be imported: `text` says why in Danish (no address in it),
    `code` is stable."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(code)
        self.code = code
        self.text = text


@dataclass(frozen=True, order=True)
class Busy:
    """One busy interval, in local wall-clock time (naive), `end` exclusive."""

    start: datetime
    end: datetime
    uid: str | None = None
    all_day: bool = False


def own_uid_matcher(mail_domain: str) -> Callable[[str], bool]:
    """Whether a UID is one fasthold put in its own calendar events: `first-meeting-<case row
    id>@<the mail domain>`, `follow-up-<case row id>-<n>@…` for a follow-up, or
    `private-talk-<case row id>@…` for the citizen's private talk
    (`MeetingNotifier.calendar_uid`; a test holds them together)."""
    pattern = re.compile(r"(first-meeting-[0-9]+|follow-up-[0-9]+-[0-9]+|private-talk-[0-9]+)@"
                         + re.escape(mail_domain), re.IGNORECASE)
    return lambda uid: bool(pattern.fullmatch(uid.strip()))


def read_calendar(body: bytes | str) -> Calendar:
    """The calendar in `body`, or CalendarError (never the parser's own message: it quotes
    the body)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = body.lstrip("\ufeff \t\r\n")
    if not text.upper().startswith("BEGIN:VCALENDAR"):
        raise CalendarError("not_a_calendar", NOT_A_CALENDAR)
    try:
        calendar = Calendar.from_ical(text)
    except Exception:
        raise CalendarError("unreadable", UNREADABLE) from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError("not_a_calendar", NOT_A_CALENDAR)
    return calendar


def merge_calendars(calendars: Iterable[Calendar]) -> Calendar:
    """One calendar of many (a CalDAV calendar answers one object per event): their time
    zones and events side by side."""
    merged = Calendar()
    merged.add("prodid", "-//fasthold//calendar import//DA")
    merged.add("version", "2.0")
    zones: set[str] = set()
    for calendar in calendars:
        for component in calendar.subcomponents:
            if component.name == "VTIMEZONE":
                tzid = str(component.get("TZID", ""))
                if tzid in zones:
                    continue
                zones.add(tzid)
            merged.add_component(component)
    return merged


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value).strip().upper() if value is not None else ""


def _counts(event: Any) -> bool:
    """Whether the event blocks time (not cancelled, not shown as free)."""
    return (_text(event, "STATUS") != "CANCELLED"
            and _text(event, "TRANSP") != "TRANSPARENT"
            and _text(event, "X-MICROSOFT-CDO-BUSYSTATUS") != "FREE")


def _local(value: date | datetime, tz: tzinfo) -> datetime:
    """A DTSTART/DTEND value as local wall-clock time (a date: its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is None or value.utcoffset() is None:
        return value  # floating: local time wherever the consultant is
    return value.astimezone(tz).replace(tzinfo=None)


_PER_DAY = {"SECONDLY": 86_400, "MINUTELY": 1_440, "HOURLY": 24}
# The BY parts that add instances within a day, for each FREQ (the others only limit).
_EXPANDING = {"SECONDLY": (), "MINUTELY": ("BYSECOND",), "HOURLY": ("BYMINUTE", "BYSECOND")}


def _instances_per_day(rule: Any) -> float:
    """At most how many instances a day an RRULE makes (limits such as BYHOUR under
    MINUTELY are ignored: an estimate from above)."""
    freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
    interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
    per_day = _PER_DAY.get(freq, 1) / interval
    for part in _EXPANDING.get(freq, ("BYHOUR", "BYMINUTE", "BYSECOND")):
        per_day *= max(len(rule.get(part) or []), 1)
    return per_day


def _check_rules(calendar: Calendar) -> None:
    """Refuse rules that repeat more often than every quarter of an hour before expanding
    them (no calendar program writes them; expanding one over the horizon is millions)."""
    for event in calendar.walk("VEVENT"):
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules else []:
            if _instances_per_day(rule) > MAX_PER_DAY:
                raise CalendarError("too_many_events", TOO_MANY.format(max=MAX_INTERVALS))


def busy_intervals(calendar: Calendar, first_day: date, days: int, tz: tzinfo,
                   is_own: Callable[[str], bool] = lambda _uid: False) -> list[Busy]:
    """The busy intervals of `calendar` that touch the `days` days from `first_day`, clipped
    to them, sorted. CalendarError if it cannot be expanded."""
    horizon_start = datetime.combine(first_day, time(0))
    horizon_end = horizon_start + timedelta(days=days)
    try:
        calendar = x_wr_timezone.to_standard(calendar)
        _check_rules(calendar)
        # A day's margin each side: the library compares in each event's own zone.
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(
            first_day - timedelta(days=1), first_day + timedelta(days=days + 1))
        if len(occurrences) > MAX_OCCURRENCES:
            raise CalendarError("too_many_events", TOO_MANY.format(max=MAX_INTERVALS))
        found: list[Busy] = []
        for event in occurrences:
            raw_start = event.get("DTSTART")
            if raw_start is None or not _counts(event):
                continue
            uid = str(event.get("UID", "")).strip() or None
            if uid is not None and is_own(uid):
                continue
            all_day = not isinstance(raw_start.dt, datetime)
            start = _local(raw_start.dt, tz)
            end = _local(event.end, tz)
            if all_day and end <= start:
                end = start + timedelta(days=1)
            start, end = max(start, horizon_start), min(end, horizon_end)
            if end <= start:
                continue  # outside the horizon, or no duration
            found.append(Busy(start, end, uid[:MAX_UID] if uid else None, all_day))
        if len(found) > MAX_INTERVALS:
            raise CalendarError("too_many_events", TOO_MANY.format(max=MAX_INTERVALS))
    except CalendarError:
        raise
    except Exception:
        raise CalendarError("unreadable", UNREADABLE) from None
    return sorted(found)


def parse_busy(body: bytes | str, first_day: date, days: int, tz: tzinfo,
               is_own: Callable[[str], bool] = lambda _uid: False) -> list[Busy]:
    """`busy_intervals` of an .ics body."""
    return busy_intervals(read_calendar(body), first_day, days, tz, is_own)
