"""Consultants' own calendars imported as busy time: a published .ics URL (Outlook / Microsoft
365, Google) or a CalDAV calendar, read into `calendar_entries` (source "feed" or "caldav")
at once when set and then by a periodic job, so that the planner proposes no meeting over a
holiday, a course or a team meeting.

- `parse`: an iCalendar body -> busy intervals in local wall-clock time over the planning
  horizon (pure; `icalendar` + `recurring-ical-events`);
- `fetch`: getting the body (aiohttp for an .ics URL; the `caldav` client in a thread);
- `imports`: the use case — the source stored encrypted, the import, its status;
- `api`, `pages`: `/api/consultants/{id}/calendar-feed` and the week page's status block.
"""
