"""The calendar file of a meeting (icalendar, RFC 5545/5546): METHOD:REQUEST for a new or
changed meeting, METHOD:CANCEL (with STATUS:CANCELLED) to take it out of a calendar — in the
municipality's time zone (Europe/Copenhagen) with its VTIMEZONE block, never floating times.

A calendar matches an update to the event it has by UID and keeps only a higher SEQUENCE, so
the caller gives both (see `MeetingNotifier.calendar_sequence` for how they are derived).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

REQUEST = "REQUEST"
CANCEL = "CANCEL"
METHODS = (REQUEST, CANCEL)


def meeting_calendar(*, method: str, uid: str, sequence: int, start: datetime, end: datetime,
                     summary: str, location: str, description: str, organizer_email: str,
                     organizer_name: str, attendee_email: str | None,
                     attendee_name: str | None, stamp: datetime, tz: tzinfo) -> bytes:
    """An iCalendar REQUEST or CANCEL for one meeting; `start`/`end` are local wall-clock
    times in `tz`, `stamp` (DTSTAMP) is when the file was made."""
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}")
    calendar = Calendar()
    calendar.add("prodid", "-//fasthold//Sammen om fastholdelse//DA")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start.replace(tzinfo=tz))
    event.add("dtend", end.replace(tzinfo=tz))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(organizer_name)
    event["organizer"] = organizer
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        if attendee_name:
            attendee.params["cn"] = vText(attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=0)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    calendar.add_component(event)
    # The zone's block (the same bytes for every meeting: serialised once) before the event,
    # as `add_component` would place it.
    marker = b"BEGIN:VEVENT"
    return calendar.to_ical().replace(marker, _vtimezone_ical(tz) + marker, 1)


@lru_cache(maxsize=8)
def _vtimezone_ical(tz: tzinfo) -> bytes:
    return _vtimezone(tz).to_ical()


@lru_cache(maxsize=8)
def _vtimezone(tz: tzinfo) -> Timezone:
    """The zone's VTIMEZONE block, made once per zone (icalendar writes the same years'
    transitions whatever the meeting's date)."""
    calendar = Calendar()
    event = Event()
    event.add("dtstart", datetime(2026, 1, 1, 12, tzinfo=tz))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    zone = next(iter(calendar.walk("VTIMEZONE")))
    zone.pop("COMMENT", None)  # icalendar's English note on the zone's range of years
    return zone
