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
from urllib.parse import urljoin, urlsplit, urlunsplit

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
NOT_FETCHED = ("Adressen peger på en adresse, som fasthold ikke henter kalendere fra (en "
               "link-local-adresse som maskinens egne metadata). Brug kalenderens egen adresse.")


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


def _refused_address(address: str) -> bool:
    """An address a calendar is never fetched from: link-local (169.254.0.0/16, fe80::/10 —
    where cloud machines answer with their own credentials), unspecified, multicast or
    reserved. Loopback and private addresses stay allowed: a municipality's own CalDAV
    server sits on its network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved


async def check_host(url: str) -> None:
    """`CalendarError` (`not_fetched`) when the address's host is, or resolves to, a refused
    address (`_refused_address`); a host that does not resolve is left to the fetch (which
    says it cannot be reached). Asked before each request, a redirect's target included: a
    consultant's key must not make the service fetch from the machine's own metadata."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, None)
        except OSError:
            return
        addresses = [str(info[4][0]) for info in found]
    if any(_refused_address(address) for address in addresses):
        raise CalendarError("not_fetched", NOT_FETCHED)


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
        async with asyncio.timeout(timeout):
            return await _follow(session, fetchable_url(url), max_bytes)
    except CalendarError:
        raise
    except TimeoutError:
        raise _timed_out(timeout) from None
    except (aiohttp.TooManyRedirects, aiohttp.RedirectClientError, aiohttp.InvalidURL):
        raise CalendarError("redirects", REDIRECTS) from None
    except (aiohttp.ClientError, OSError, ValueError):
        raise CalendarError("unreachable", UNREACHABLE) from None


async def _follow(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes:
    """GET `url`, following at most MAX_REDIRECTS redirects by hand — each target checked
    (`check_host`) before it is asked, and only to http(s)."""
    for _ in range(MAX_REDIRECTS + 1):
        await check_host(url)
        async with session.get(url, allow_redirects=False, headers={
                "Accept": "text/calendar, */*;q=0.5", "User-Agent": USER_AGENT}) as response:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location", "")
                url = urljoin(url, location)
                if not location or urlsplit(url).scheme.lower() not in ("http", "https"):
                    raise CalendarError("redirects", REDIRECTS)
                continue
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
    raise CalendarError("redirects", REDIRECTS)


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
    await check_host(url)
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
