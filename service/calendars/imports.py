"""The use case: a consultant's own calendar as a source of busy time.

- `set_source`: a published .ics URL (Outlook / Microsoft 365, Google; `webcal://` taken as
  https) or a CalDAV calendar (URL, user name, password) is stored — the URL and the password
  encrypted with the data key, like CPR numbers — and imported at once;
- `import_all` (the periodic job `import_calendars`) imports every source; one that fails
  never stops the others;
- an import replaces the consultant's imported `calendar_entries` from today on (source
  "feed" or "caldav"; entries that ended before today stay as history) in one transaction; a
  failed fetch or parse keeps the last good entries and records the Danish reason
  (`last_error`, never the address) and when it was tried; when the busy time changed, a
  planning run is requested;
- `status` / `statuses`: what the consultant and their manager see (the URL masked: scheme,
  host and "…").

Who: managers and admins for every consultant; a consultant for their own only (another's is
answered as unknown: 404). The URL and the password are never logged, never returned.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.calendars.fetch import fetch_caldav, fetch_ics, is_loopback
from service.calendars.parse import Busy, CalendarError, busy_intervals, own_uid_matcher, parse_busy
from service.clock import Clock
from service.config import MunicipalityConfig
from service.platform import audit
from service.platform.auth import Principal
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import CalendarEntry, CalendarSource, Consultant
from service.platform.errors import Forbidden, Invalid, NotFound
from service.platform.jobqueue import PLAN, JobQueue

log = logging.getLogger("fasthold.calendars")

KINDS = ("ics", "caldav")
ENTRY_SOURCE = {"ics": "feed", "caldav": "caldav"}  # calendar_entries.source per kind
IMPORTED = tuple(ENTRY_SOURCE.values())
URL_PURPOSE = "calendar_sources.url"
PASSWORD_PURPOSE = "calendar_sources.password"
MAX_URL = 2000
CALDAV_SCHEMES = ("http", "https")
# Bodies larger than this are parsed in a worker thread, off the event loop.
PARSE_IN_THREAD_BYTES = 64 * 1024
# Sources imported side by side by the periodic job.
PARALLEL_IMPORTS = 4
TITLE = "Optaget (egen kalender)"
TITLE_ALL_DAY = "Optaget hele dagen (egen kalender)"
UNEXPECTED = "Kalenderen kunne ikke importeres (uventet fejl). Der prøves igen senere."
KEY_LOST = ("Kalenderens adresse kan ikke læses med den nuværende datanøgle. Sæt "
            "kalenderen igen.")
ROLES = ("consultant", "manager", "admin")


# What the schema says of a URL (the rest — a host, https for CalDAV — is in `check_feed`).
URL_PATTERN = (r"^([Hh][Tt][Tt][Pp][Ss]?|[Ww][Ee][Bb][Cc][Aa][Ll][Ss]?)://"
               r"[^\s\x00-\x1f\x7f/?#]+([/?#][^\s\x00-\x1f\x7f]*)?$")
FEED_RULES = {
    "url": "names a host; a CalDAV calendar's url begins with https:// (http:// only to "
           "this machine), since its password is sent to it",
    "username": "only with kind \"caldav\"",
    "password": "only with kind \"caldav\"",
}


class FeedIn(BaseModel):
    """A consultant's calendar: `{"url": ...}` for a published .ics (Outlook, Google), or
    `{"kind": "caldav", "url": ..., "username": ..., "password": ...}`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["ics", "caldav"] = Field(
        default="ics", description="ics: a published iCalendar URL; caldav: a CalDAV calendar")
    url: str = Field(max_length=MAX_URL, pattern=URL_PATTERN, description=(
        "ics: http(s):// or webcal:// (taken as https); caldav: the calendar's own "
        "https:// address. A secret: stored encrypted, shown masked"))
    username: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="caldav only")
    password: str | None = Field(default=None, min_length=1, max_length=500,
                                 description="caldav only; stored encrypted, never shown")


def check_feed(feed: FeedIn) -> None:
    """The rules no schema states (`FEED_RULES`): Invalid naming the field."""
    parts = urlsplit(feed.url)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        host = None
    if not host:
        raise Invalid.field("url", "must name a host (https://host/...)", "url_host")
    if feed.kind == "ics":
        for name in ("username", "password"):
            if getattr(feed, name) is not None:
                raise Invalid.field(name, 'is for a CalDAV calendar (kind "caldav") only',
                                    "caldav_only")
        return
    scheme = parts.scheme.lower()
    if scheme not in CALDAV_SCHEMES or (scheme == "http" and not is_loopback(feed.url)):
        raise Invalid.field("url", "a CalDAV calendar's url must begin with https:// (its "
                            "password is sent to it)", "url_scheme")


def mask_url(url: str) -> str:
    """What may be shown of a secret address: its scheme and host (`https://host/…`)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme.lower()}://{parts.hostname or ''}{port}/…"


@dataclass(frozen=True)
class FeedStatus:
    """A consultant's calendar import as they and their manager see it."""

    consultant_id: str
    configured: bool
    kind: str | None = None
    url: str | None = None  # masked
    username: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    events: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("last_attempt_at", "last_success_at"):
            value = out[name]
            out[name] = value.isoformat() if value is not None else None
        return out


@dataclass(frozen=True)
class ImportResult:
    ok: bool
    changed: bool  # the consultant's busy time changed (a planning run was requested)


class CalendarImports:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock, jobs: JobQueue,
                 cipher: DataCipher) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.jobs = jobs
        self.cipher = cipher
        self.municipality = config.municipality.id
        domain = config.mail.from_address.rpartition("@")[2] or "fasthold.local"
        self.is_own = own_uid_matcher(domain)

    # -- who ---------------------------------------------------------------------------------

    async def _consultant(self, session: AsyncSession, principal: Principal,
                          consultant_key: str) -> Consultant:
        if principal.role not in ROLES:
            raise Forbidden(f"role {principal.role!r} may not see consultants' calendars",
                            "role_not_allowed", {"role": principal.role})
        unknown = NotFound("no consultant with this id", "consultant_not_found")
        if principal.role == "consultant" and principal.consultant_key != consultant_key:
            raise unknown  # another consultant's calendar is answered as unknown
        consultant = (await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality,
            Consultant.key == consultant_key))).scalar_one_or_none()
        if consultant is None:
            raise unknown
        return consultant

    async def _source(self, session: AsyncSession, consultant_id: int) -> CalendarSource | None:
        return (await session.execute(select(CalendarSource).where(
            CalendarSource.consultant_id == consultant_id))).scalar_one_or_none()

    # -- status ------------------------------------------------------------------------------

    def _status(self, key: str, source: CalendarSource | None) -> FeedStatus:
        if source is None:
            return FeedStatus(key, False)
        try:
            url = mask_url(self.cipher.decrypt(source.url_encrypted, URL_PURPOSE))
        except ValueError:
            url = None  # under a data key no longer given: set the calendar again
        return FeedStatus(
            key, True, source.kind, url, source.username,
            as_utc(source.last_attempt_at) if source.last_attempt_at else None,
            as_utc(source.last_success_at) if source.last_success_at else None,
            source.last_error, source.events)

    async def status(self, principal: Principal, consultant_key: str) -> FeedStatus:
        async with self.db.read() as session:
            consultant = await self._consultant(session, principal, consultant_key)
            return self._status(consultant.key, await self._source(session, consultant.id))

    async def statuses(self, principal: Principal) -> dict[str, FeedStatus]:
        """Every consultant's (a manager's overview; a consultant gets their own only)."""
        if principal.role not in ROLES:
            raise Forbidden(f"role {principal.role!r} may not see consultants' calendars",
                            "role_not_allowed", {"role": principal.role})
        async with self.db.read() as session:
            query = select(Consultant, CalendarSource).outerjoin(
                CalendarSource, CalendarSource.consultant_id == Consultant.id).where(
                Consultant.municipality_id == self.municipality).order_by(Consultant.key)
            if principal.role == "consultant":
                query = query.where(Consultant.key == (principal.consultant_key or ""))
            rows = (await session.execute(query)).all()
        return {consultant.key: self._status(consultant.key, source)
                for consultant, source in rows}

    # -- setting and removing ----------------------------------------------------------------

    async def set_source(self, principal: Principal, consultant_key: str, feed: FeedIn
                         ) -> FeedStatus:
        """Store the consultant's calendar (replacing one set before) and import it at once;
        the answer says how the import went."""
        now = self.clock.utcnow()
        async with self.db.write() as session:
            consultant = await self._consultant(session, principal, consultant_key)
            check_feed(feed)
            source = await self._source(session, consultant.id)
            if source is None:
                source = CalendarSource(municipality_id=self.municipality,
                                        consultant_id=consultant.id, created_at=now, events=0)
                session.add(source)
            source.kind = feed.kind
            source.url_encrypted = self.cipher.encrypt(feed.url, URL_PURPOSE)
            source.username = feed.username
            source.password_encrypted = (self.cipher.encrypt(feed.password, PASSWORD_PURPOSE)
                                         if feed.password else None)
            source.updated_at = now
            source.last_error = None
            audit.record(session, principal, self.municipality, "calendar_source.set",
                         details={"consultant": consultant.key, "kind": feed.kind})
            await session.flush()
            source_id = source.id
        await self.import_source(source_id)
        return await self.status(principal, consultant_key)

    async def remove(self, principal: Principal, consultant_key: str) -> bool:
        """Stop importing the consultant's calendar and forget what it brought; False if
        none was set."""
        async with self.db.write() as session:
            consultant = await self._consultant(session, principal, consultant_key)
            source = await self._source(session, consultant.id)
            if source is None:
                return False
            removed = await session.execute(delete(CalendarEntry).where(
                CalendarEntry.consultant_id == consultant.id,
                CalendarEntry.source.in_(IMPORTED)))
            await session.delete(source)
            audit.record(session, principal, self.municipality, "calendar_source.remove",
                         details={"consultant": consultant.key})
        if removed.rowcount:
            self.jobs.request(PLAN, self.municipality, "calendar")
        return True

    # -- importing ---------------------------------------------------------------------------

    async def import_all(self) -> int:
        """Import every source of the municipality's active consultants; returns how many
        succeeded. One failing source never stops the others."""
        async with self.db.read() as session:
            ids = list((await session.execute(select(CalendarSource.id).join(
                Consultant, Consultant.id == CalendarSource.consultant_id).where(
                CalendarSource.municipality_id == self.municipality,
                Consultant.active.is_(True)).order_by(CalendarSource.id))).scalars())
        if not ids:
            return 0
        limit = asyncio.Semaphore(PARALLEL_IMPORTS)

        async def one(source_id: int, http: aiohttp.ClientSession) -> bool:
            async with limit:
                try:
                    return (await self.import_source(source_id, http)).ok
                except Exception as exc:  # a database hiccup: the next round tries again
                    log.warning("calendar import of source %s failed: %s", source_id,
                                type(exc).__name__)
                    return False

        async with aiohttp.ClientSession() as http:
            done = await asyncio.gather(*(one(source_id, http) for source_id in ids))
        return sum(done)

    async def _busy(self, source: CalendarSource, url: str, password: str | None,
                    http: aiohttp.ClientSession | None) -> list[Busy]:
        settings = self.config.calendars
        first_day = self.clock.today()
        days = self.config.planning.horizon_days
        tz = self.clock.tz
        if source.kind == "caldav":
            start = datetime.combine(first_day, time(0), tz)
            calendar = await fetch_caldav(
                url, source.username, password, start=start, end=start + timedelta(days=days),
                timeout=settings.timeout_seconds, max_bytes=settings.max_bytes)
            return await asyncio.to_thread(busy_intervals, calendar, first_day, days, tz,
                                           self.is_own)
        if http is None:
            async with aiohttp.ClientSession() as own:
                body = await fetch_ics(own, url, timeout=settings.timeout_seconds,
                                       max_bytes=settings.max_bytes)
        else:
            body = await fetch_ics(http, url, timeout=settings.timeout_seconds,
                                   max_bytes=settings.max_bytes)
        if len(body) > PARSE_IN_THREAD_BYTES:
            return await asyncio.to_thread(parse_busy, body, first_day, days, tz, self.is_own)
        return parse_busy(body, first_day, days, tz, self.is_own)

    async def import_source(self, source_id: int, http: aiohttp.ClientSession | None = None
                            ) -> ImportResult:
        """Fetch, parse and store one source (idempotent: the same calendar twice changes
        nothing but the times of the attempt)."""
        async with self.db.read() as session:
            source = await session.get(CalendarSource, source_id)
            if source is None:
                return ImportResult(False, False)
            seen = (source.kind, source.url_encrypted, source.password_encrypted)
            consultant_id = source.consultant_id
        error: str | None = None
        busy: list[Busy] = []
        try:
            try:
                url = self.cipher.decrypt(source.url_encrypted, URL_PURPOSE)
                password = (self.cipher.decrypt(source.password_encrypted, PASSWORD_PURPOSE)
                            if source.password_encrypted else None)
            except ValueError:
                raise CalendarError("data_key", KEY_LOST) from None
            busy = await self._busy(source, url, password, http)
        except CalendarError as exc:
            error = exc.text
            log.info("calendar import of source %s failed: %s", source_id, exc.code)
        except Exception as exc:
            # Never the exception's text: a library's message may quote the address.
            error = UNEXPECTED
            log.warning("calendar import of source %s failed: %s", source_id,
                        type(exc).__name__)
        today = datetime.combine(self.clock.today(), time(0))
        now = self.clock.utcnow()
        async with self.db.write() as session:
            source = (await session.execute(select(CalendarSource).where(
                CalendarSource.id == source_id).with_for_update())).scalar_one_or_none()
            if source is None or (source.kind, source.url_encrypted,
                                  source.password_encrypted) != seen:
                # Removed or set anew meanwhile: that change brings its own import.
                return ImportResult(False, False)
            source.last_attempt_at = now
            if error is not None:
                source.last_error = error
                return ImportResult(False, False)
            current = (CalendarEntry.consultant_id == consultant_id,
                       CalendarEntry.source.in_(IMPORTED), CalendarEntry.end > today)
            before = sorted((e.start, e.end, e.all_day) for e in (await session.execute(
                select(CalendarEntry).where(*current))).scalars())
            await session.execute(delete(CalendarEntry).where(*current))
            entry_source = ENTRY_SOURCE[source.kind]
            session.add_all(CalendarEntry(
                municipality_id=self.municipality, consultant_id=consultant_id,
                start=b.start, end=b.end, title=TITLE_ALL_DAY if b.all_day else TITLE,
                source=entry_source, uid=b.uid, all_day=b.all_day) for b in busy)
            source.last_success_at = now
            source.last_error = None
            source.events = len(busy)
        changed = before != sorted((b.start, b.end, b.all_day) for b in busy)
        if changed:
            self.jobs.request(PLAN, self.municipality, "calendar")
        return ImportResult(True, changed)
