"""The calendar file for a confirmed meeting (icalendar): METHOD:REQUEST, in the municipality's
time zone (Europe/Copenhagen), with a VTIMEZONE block."""

from __future__ import annotations

from datetime import datetime, tzinfo

from icalendar import Calendar, Event, vCalAddress, vText


def meeting_request(*, uid: str, sequence: int, start: datetime, end: datetime, summary: str,
                    location: str, description: str, organizer_email: str,
                    organizer_name: str, attendee_email: str | None, stamp: datetime,
                    tz: tzinfo) -> bytes:
    """An iCalendar REQUEST for one meeting; `start`/`end` are local wall-clock times in `tz`,
    `stamp` (DTSTAMP) is when the file was made."""
    calendar = Calendar()
    calendar.add("prodid", "-//fasthold//Sammen om fastholdelse//DA")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
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
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=0)
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
