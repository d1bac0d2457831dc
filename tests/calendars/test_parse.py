"""An .ics body -> busy intervals (service.calendars.parse), without any server."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.calendars.parse import CalendarError, own_uid_matcher, parse_busy
from service.meetings.notifications import MeetingNotifier
from tests.calendars.samples import BUSY, OUTLOOK, OWN_DOMAIN, ROMANCE, RST, TODAY, _event, calendar

CPH = ZoneInfo("Europe/Copenhagen")
IS_OWN = own_uid_matcher(OWN_DOMAIN)


def _spans(body: str, first_day: date = TODAY, days: int = 35) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in parse_busy(body, first_day, days, CPH, IS_OWN)]


def test_a_published_outlook_calendar_gives_its_busy_time_in_local_time() -> None:
    """Windows zone name through its VTIMEZONE, weekly RRULE with EXDATE and a moved
    instance, monthly RRULE with EXDATE, an all-day course, UTC times on both sides of the
    DST change; free, transparent, cancelled and fasthold's own meetings left out."""
    busy = parse_busy(OUTLOOK, TODAY, 35, CPH, IS_OWN)
    assert [(b.start, b.end) for b in busy] == BUSY
    course = [b for b in busy if b.all_day]
    assert [(c.start, c.end, c.uid) for c in course] == [
        (datetime(2027, 3, 30), datetime(2027, 4, 1), "course")]
    uids = {b.uid for b in busy}
    assert not uids & {"free-afternoons", "marked-free", "cancelled",
                       f"first-meeting-4711@{OWN_DOMAIN}"}


def test_the_zone_is_read_from_the_vtimezone_block_not_its_name() -> None:
    """A zone no database knows ("Customized Time Zone", as Outlook writes one) at +03/+04:
    only its VTIMEZONE block can say that 12:00 there is 10:00 in Copenhagen."""
    custom = ROMANCE.replace("Romance Standard Time", "Customized Time Zone").replace(
        "+0200", "+0400").replace("+0100", "+0300")
    body = calendar(_event("x", "DTSTART;TZID=Customized Time Zone:20270322T120000",
                           "DTEND;TZID=Customized Time Zone:20270322T130000"),
                    timezones=custom)
    assert _spans(body) == [(datetime(2027, 3, 22, 10), datetime(2027, 3, 22, 11))]


@pytest.mark.parametrize(("first_day", "mondays"), [
    # The last Sunday of March 2027 is the 28th, of October the 31st.
    (date(2027, 3, 22), [date(2027, 3, 22), date(2027, 3, 29)]),
    (date(2027, 10, 25), [date(2027, 10, 25), date(2027, 11, 1)]),
])
def test_dst_weeks_keep_wall_clock_times(first_day: date, mondays: list[date]) -> None:
    weekly = _event("weekly", f"DTSTART;{RST}:20270104T090000", f"DTEND;{RST}:20270104T100000",
                    "RRULE:FREQ=WEEKLY;BYDAY=MO")
    assert _spans(calendar(weekly), first_day, 14) == [
        (datetime(d.year, d.month, d.day, 9), datetime(d.year, d.month, d.day, 10))
        for d in mondays]
    # UTC: the same instant is an hour later on the wall clock in summer time.
    before, after = mondays
    utc = calendar(_event("a", f"DTSTART:{before:%Y%m%d}T080000Z",
                          f"DTEND:{before:%Y%m%d}T090000Z"),
                   _event("b", f"DTSTART:{after:%Y%m%d}T080000Z",
                          f"DTEND:{after:%Y%m%d}T090000Z"))
    summer_first = first_day.month == 10
    assert [s.hour for s, _ in _spans(utc, first_day, 14)] == (
        [10, 9] if summer_first else [9, 10])


def test_google_floating_times_take_the_calendars_x_wr_timezone() -> None:
    """Google writes some exports with floating times and the zone in X-WR-TIMEZONE."""
    body = calendar(_event("g", "DTSTART:20270322T080000Z", "DTEND:20270322T090000Z"),
                    _event("h", "DTSTART;VALUE=DATE:20270323", "DTEND;VALUE=DATE:20270324"),
                    timezones="", extra="X-WR-TIMEZONE:America/New_York\n")
    assert _spans(body) == [(datetime(2027, 3, 22, 9), datetime(2027, 3, 22, 10)),
                            (datetime(2027, 3, 23), datetime(2027, 3, 24))]
    floating = calendar(_event("f", "DTSTART:20270322T080000", "DTEND:20270322T090000"),
                        timezones="", extra="X-WR-TIMEZONE:Europe/London\n")
    assert _spans(floating) == [(datetime(2027, 3, 22, 9), datetime(2027, 3, 22, 10))]


def test_events_are_clipped_to_the_horizon_and_instants_are_not_busy() -> None:
    body = calendar(
        _event("long", f"DTSTART;{RST}:20270318T120000", f"DTEND;{RST}:20270319T100000"),
        _event("after", f"DTSTART;{RST}:20270501T120000", f"DTEND;{RST}:20270501T130000"),
        _event("instant", f"DTSTART;{RST}:20270322T120000"),
        _event("one-day", "DTSTART;VALUE=DATE:20270323"))
    assert _spans(body) == [(datetime(2027, 3, 19), datetime(2027, 3, 19, 10)),
                            (datetime(2027, 3, 23), datetime(2027, 3, 24))]


def test_fasthold_uids_are_those_of_its_invitations() -> None:
    """The matcher and MeetingNotifier.calendar_uid agree on the format."""
    notifier = SimpleNamespace(outbox=SimpleNamespace(domain=OWN_DOMAIN))
    uids = set()
    for kind, series in (("workplace_meeting", 0), ("workplace_meeting", 1),
                         ("jobcenter_meeting", 2), ("private_talk", 0)):
        meeting = SimpleNamespace(case_id=4711, kind=kind, series=series)
        uid = MeetingNotifier.calendar_uid(notifier, meeting)  # type: ignore[arg-type]
        assert IS_OWN(uid), uid
        uids.add(uid)
    # the first meeting, each follow-up and the talk: each an event of its own
    assert len(uids) == 4 and f"follow-up-4711-1@{OWN_DOMAIN}" in uids
    uid = MeetingNotifier.calendar_uid(notifier, SimpleNamespace(
        case_id=4711, kind="workplace_meeting", series=0))  # type: ignore[arg-type]
    assert uid == f"first-meeting-4711@{OWN_DOMAIN}"  # as before the follow-ups had theirs
    assert not IS_OWN(uid.replace(OWN_DOMAIN, "other.example"))
    assert not IS_OWN("first-meeting-x@" + OWN_DOMAIN)
    assert not IS_OWN("follow-up-4711@" + OWN_DOMAIN)


@pytest.mark.parametrize("body", [
    b"", b"<!DOCTYPE html><html><body>Log ind</body></html>", b"\xff\xfe\x00garbage",
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20270322T12\r\n",
    b"BEGIN:VCALENDAR\r\nthis is not a content line\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VEVENT\r\nEND:VEVENT\r\n",
])
def test_a_malformed_body_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(CalendarError) as raised:
        parse_busy(body, TODAY, 35, CPH, IS_OWN)
    assert raised.value.code in ("not_a_calendar", "unreadable")
    assert "Kalender" in raised.value.text or "kalender" in raised.value.text


@pytest.mark.parametrize("rule", [
    "RRULE:FREQ=MINUTELY", "RRULE:FREQ=SECONDLY;INTERVAL=10",
    "RRULE:FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=0,10,20,30,40,50",
])
def test_a_runaway_rule_is_refused_before_it_is_expanded(rule: str) -> None:
    body = calendar(_event("runaway", f"DTSTART;{RST}:20270319T000000",
                           f"DTEND;{RST}:20270319T000100", rule))
    with pytest.raises(CalendarError) as raised:
        parse_busy(body, TODAY, 35, CPH, IS_OWN)
    assert raised.value.code == "too_many_events"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "BEGIN:VEVENT", "END:VEVENT", "UID:x", "DTSTART:20270322T120000Z",
    "DTSTART;VALUE=DATE:20270322", "DTEND:20270321T120000Z", "DTSTART;TZID=Nowhere:2027",
    "RRULE:FREQ=WEEKLY;COUNT=x", "RRULE:FREQ=DAILY", "EXDATE:garbage", "DURATION:PT1H",
    "RECURRENCE-ID:20270322T120000Z", "STATUS:CANCELLED", "BEGIN:VTIMEZONE", "END:VTIMEZONE",
    "TZID:Romance Standard Time", "X-WR-TIMEZONE:Mars/Base", ":::", "DTEND;VALUE=DATE:x",
]), max_size=14), st.text(max_size=20))
def test_whatever_the_body_it_is_busy_time_or_a_calendar_error(lines: list[str],
                                                                 tail: str) -> None:
    body = "\r\n".join(["BEGIN:VCALENDAR", *lines, tail, "END:VCALENDAR"])
    try:
        busy = parse_busy(body, TODAY, 35, CPH, IS_OWN)
    except CalendarError as exc:
        assert exc.text
    else:
        assert all(b.start < b.end for b in busy)
