"""Calendars as Outlook / Microsoft 365 and Google publish them, for the import tests.

`OUTLOOK` is a published Outlook calendar of a consultant over the weeks around the last
Sunday of March 2027 (the DST change, 28 March), seen from Friday 19 March 2027; `BUSY` is
what of it is busy, in local wall-clock time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

ROMANCE = """BEGIN:VTIMEZONE
TZID:Romance Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""

TODAY = date(2027, 3, 19)  # a Friday; the planning horizon (35 days) ends 23 April
OWN_DOMAIN = "fastholdelse@demo.example".rpartition("@")[2]


def _event(uid: str, *lines: str) -> str:
    return ("BEGIN:VEVENT\n" + f"UID:{uid}\nDTSTAMP:20270301T080000Z\n"
            + "".join(line + "\n" for line in lines) + "END:VEVENT\n")


def calendar(*events: str, timezones: str = ROMANCE, extra: str = "") -> str:
    body = ("BEGIN:VCALENDAR\nMETHOD:PUBLISH\nPRODID:Microsoft Exchange Server 2010\n"
            "VERSION:2.0\nX-WR-CALNAME:Kalender\n" + extra + timezones + "".join(events)
            + "END:VCALENDAR\n")
    return body.replace("\n", "\r\n")


RST = "TZID=Romance Standard Time"
OUTLOOK_EVENTS = (
    # Mornings on weekdays, weekly; Wednesday 24 March taken out (EXDATE) and Thursday 25
    # March moved to the afternoon (an overridden instance).
    _event("040000008200E00074C5B7101A82E00800000000mornings", "SUMMARY:Optaget",
           f"DTSTART;{RST}:20270301T080000", f"DTEND;{RST}:20270301T120000",
           "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;WKST=MO",
           f"EXDATE;{RST}:20270324T080000", "X-MICROSOFT-CDO-BUSYSTATUS:BUSY"),
    _event("040000008200E00074C5B7101A82E00800000000mornings", "SUMMARY:Optaget",
           f"RECURRENCE-ID;{RST}:20270325T080000",
           f"DTSTART;{RST}:20270325T130000", f"DTEND;{RST}:20270325T150000",
           "X-MICROSOFT-CDO-BUSYSTATUS:BUSY"),
    # A monthly team meeting on the 22nd, April's taken out.
    _event("monthly-team", "SUMMARY:Optaget", f"DTSTART;{RST}:20270122T130000",
           f"DTEND;{RST}:20270122T143000", "RRULE:FREQ=MONTHLY;BYMONTHDAY=22",
           f"EXDATE;{RST}:20270422T130000"),
    # A two-day course: all day Tuesday 30 and Wednesday 31 March.
    _event("course", "SUMMARY:Optaget", "DTSTART;VALUE=DATE:20270330",
           "DTEND;VALUE=DATE:20270401", "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
           "X-MICROSOFT-CDO-ALLDAYEVENT:TRUE"),
    # Not busy: shown as free (transparent) every afternoon, marked free, cancelled.
    _event("free-afternoons", "SUMMARY:Ledig", f"DTSTART;{RST}:20270301T120000",
           f"DTEND;{RST}:20270301T153000", "RRULE:FREQ=DAILY", "TRANSP:TRANSPARENT",
           "X-MICROSOFT-CDO-BUSYSTATUS:FREE"),
    _event("marked-free", f"DTSTART;{RST}:20270323T130000", f"DTEND;{RST}:20270323T140000",
           "X-MICROSOFT-CDO-BUSYSTATUS:FREE"),
    _event("cancelled", f"DTSTART;{RST}:20270329T130000", f"DTEND;{RST}:20270329T150000",
           "STATUS:CANCELLED"),
    # fasthold's own meeting, accepted into Outlook: the planner knows it already.
    _event(f"first-meeting-4711@{OWN_DOMAIN}", f"DTSTART;{RST}:20270326T090000",
           f"DTEND;{RST}:20270326T100000"),
    # In UTC, on each side of the DST change: 12:00 local before, 13:00 after.
    _event("utc-before", "DTSTART:20270326T110000Z", "DTEND:20270326T113000Z"),
    _event("utc-after", "DTSTART:20270329T110000Z", "DTEND:20270329T113000Z"),
)
OUTLOOK = calendar(*OUTLOOK_EVENTS)


def _busy_mornings() -> list[tuple[datetime, datetime]]:
    out = []
    day = TODAY
    while day < TODAY + timedelta(days=35):
        if day.weekday() < 5 and day != date(2027, 3, 24):
            if day == date(2027, 3, 25):
                out.append((datetime(2027, 3, 25, 13), datetime(2027, 3, 25, 15)))
            else:
                out.append((datetime.combine(day, datetime.min.time()).replace(hour=8),
                            datetime.combine(day, datetime.min.time()).replace(hour=12)))
        day += timedelta(days=1)
    return out


BUSY: list[tuple[datetime, datetime]] = sorted([
    *_busy_mornings(),
    (datetime(2027, 3, 22, 13), datetime(2027, 3, 22, 14, 30)),
    (datetime(2027, 3, 30), datetime(2027, 4, 1)),
    (datetime(2027, 3, 26, 12), datetime(2027, 3, 26, 12, 30)),
    (datetime(2027, 3, 29, 13), datetime(2027, 3, 29, 13, 30)),
])
