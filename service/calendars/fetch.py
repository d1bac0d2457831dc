"""Getting a consultant's calendar: an .ics URL over HTTP (aiohttp), or a CalDAV calendar
(the `caldav` client, which is synchronous: it runs in a worker thread).

Every failure becomes a `CalendarError` with short Danish words and no address in them: the
address is a secret (a published Outlook link is the key to the calendar), and a library's
own message quotes it. Nothing here logs.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import caldav
from caldav.lib import error as caldav_error
from icalendar import Calendar

from service.calendars.parse import CalendarError, merge_calendars, read_calendar

MAX_REDIRECTS = 5
USER_AGENT = "fasthold-calendar-import/1"

TIMEOUT = "Kalenderen svarede ikke inden for {seconds} sekunder."
UNREACHABLE = "Kalenderens server kunne ikke nås."
TOO_LARGE = "Kalenderen er større end {megabytes} MB og blev ikke hentet."
REFUSED = ("Kalenderens server afviste adgangen (fejl {status}). Er kalenderen stadig "
           "publiceret, og er brugernavn og adgangskode rigtige?")
GONE = ("Kalenderen findes ikke længere på adressen (fejl {status}). Er publiceringen "
        "stoppet? Sæt det nye link ind.")
SERVER_ERROR = "Kalenderens server svarede med en fejl ({status})."
REDIRECTS = "Adressen viderestillede for mange gange eller til noget, der ikke er en webadresse."
CALDAV_FAILED = "CalDAV-kalenderen kunne ikke læses. Er adressen kalenderens egen adresse?"


def fetchable_url(url: str) -> str:
    """The address to fetch: `webcal://` (and `webcals://`), which calendar programs use for
    subscriptions, is https."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("webcal", "webcals"):
        return urlunsplit(("https", *parts[1:]))
    return url.strip()


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timed_out(timeout: float) -> CalendarError:
    return CalendarError("timeout", TIMEOUT.format(seconds=f"{timeout:g}".replace(".", ",")))


def _status_error(status: int) -> CalendarError:
    if status in (401, 403):
        return CalendarError("refused", REFUSED.format(status=status))
    if status in (404, 410):
        return CalendarError("gone", GONE.format(status=status))
    return CalendarError("http_status", SERVER_ERROR.format(status=status))


def _too_large(max_bytes: int) -> CalendarError:
    megabytes = f"{max_bytes / 1_000_000:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return CalendarError("too_large", TOO_LARGE.format(megabytes=megabytes))


async def fetch_ics(session: aiohttp.ClientSession, url: str, *, timeout: float,
                    max_bytes: int) -> bytes:
    """The body at `url` (redirects followed, at most MAX_REDIRECTS and only to http(s));
    CalendarError on a timeout, a refused connection, an error status or a body over
    `max_bytes` (read no further than that)."""
    try:
        async with session.get(
                fetchable_url(url), allow_redirects=True, max_redirects=MAX_REDIRECTS,
                timeout=aiohttp.ClientTimeout(total=timeout),
                headers={"Accept": "text/calendar, */*;q=0.5",
                         "User-Agent": USER_AGENT}) as response:
            if response.status >= 400:
                raise _status_error(response.status)
            if response.content_length is not None and response.content_length > max_bytes:
                raise _too_large(max_bytes)
            body = bytearray()
            while True:
                chunk = await response.content.read(max_bytes + 1 - len(body))
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > max_bytes:
                    raise _too_large(max_bytes)
    except CalendarError:
        raise
    except TimeoutError:
        raise _timed_out(timeout) from None
    except (aiohttp.TooManyRedirects, aiohttp.RedirectClientError, aiohttp.InvalidURL):
        raise CalendarError("redirects", REDIRECTS) from None
    except (aiohttp.ClientError, OSError, ValueError):
        raise CalendarError("unreachable", UNREACHABLE) from None


def _caldav_objects(url: str, username: str | None, password: str | None,
                    start: datetime, end: datetime, timeout: float, max_bytes: int
                    ) -> list[Calendar]:
    """The CalDAV calendar's events with an instance between start and end (a time-range
    REPORT; recurring events come whole, with their rules, and are expanded by the caller)."""
    with caldav.DAVClient(url=url, username=username or None, password=password or None,
                          timeout=max(1, round(timeout))) as client:
        calendar = client.calendar(url=url)
        found = calendar.search(start=start, end=end, event=True, expand=False)
        calendars: list[Calendar] = []
        size = 0
        for item in found:
            data = item.data
            size += len(data.encode("utf-8") if isinstance(data, str) else data)
            if size > max_bytes:
                raise _too_large(max_bytes)
            calendars.append(read_calendar(data))
        return calendars


async def fetch_caldav(url: str, username: str | None, password: str | None, *,
                       start: datetime, end: datetime, timeout: float, max_bytes: int
                       ) -> Calendar:
    """The events of a CalDAV calendar between `start` and `end` (aware), as one calendar."""
    try:
        calendars = await asyncio.wait_for(asyncio.to_thread(
            _caldav_objects, url, username, password, start, end, timeout, max_bytes),
            timeout * 3)
    except CalendarError:
        raise
    except TimeoutError:
        raise _timed_out(timeout) from None
    except caldav_error.AuthorizationError:
        raise CalendarError("refused", REFUSED.format(status=401)) from None
    except caldav_error.NotFoundError:
        raise CalendarError("gone", GONE.format(status=404)) from None
    except caldav_error.DAVError:
        raise CalendarError("caldav", CALDAV_FAILED) from None
    except Exception as exc:
        if "timeout" in type(exc).__name__.lower():
            raise _timed_out(timeout) from None
        if isinstance(exc, OSError) or "connect" in type(exc).__name__.lower():
            raise CalendarError("unreachable", UNREACHABLE) from None
        raise CalendarError("caldav", CALDAV_FAILED) from None
    return merge_calendars(calendars)
