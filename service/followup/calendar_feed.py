"""A consultant's personal calendar feed: a secret subscription address
(`/calendar/<token>.ics`) that Outlook or Google Calendar polls, listing the meetings fasthold
booked or proposed for the consultant.

- The token is 256 random bits, shown once when it is made; only its SHA-256 is stored, so
  the database cannot give it away. Making a new one revokes the old one; a revoked or
  unknown token is simply not found.
- Each meeting has the UID of the invitations mailed to the employer
  (`MeetingNotifier.calendar_uid`: one per case's first meeting, kept across moves), so a
  consultant who also received an invitation sees one event, not two; SEQUENCE is the one
  the last mailed REQUEST carried.
- The feed leaves the service's hands (calendar providers keep copies): it carries the case
  reference, the kind of meeting and the place only — no name, CPR number or health data.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.config import MunicipalityConfig
from service.meetings.notifications import MeetingNotifier
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_LABEL, TALK_PLANNED
from service.platform import audit
from service.platform.auth import Principal
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import (
    ACTIVE_MEETING,
    CalendarFeed,
    Case,
    Consultant,
    Meeting,
)
from service.platform.errors import Forbidden, NotFound

KIND_TEXT = {"workplace_meeting": "på arbejdspladsen", "jobcenter_meeting": "i jobcentret",
             "telephone": "telefonisk"}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


@dataclass(frozen=True)
class FeedStatus:
    """The consultant's current subscription (never its token: that was shown once)."""

    active: bool
    created_at: datetime | None


class CalendarFeeds:
    def __init__(self, db: Database, config: MunicipalityConfig, clock: Clock,
                 notifier: MeetingNotifier) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.municipality = config.municipality.id

    async def _consultant(self, session: AsyncSession, principal: Principal) -> Consultant:
        if principal.role != "consultant" or not principal.consultant_key:
            raise Forbidden("only a consultant has a calendar feed", "not_a_consultant")
        consultant = (await session.execute(select(Consultant).where(
            Consultant.municipality_id == self.municipality,
            Consultant.key == principal.consultant_key))).scalar_one_or_none()
        if consultant is None:
            raise Forbidden("no consultant with this key", "not_a_consultant")
        return consultant

    async def status(self, principal: Principal) -> FeedStatus:
        async with self.db.read() as session:
            consultant = await self._consultant(session, principal)
            feed = (await session.execute(select(CalendarFeed).where(
                CalendarFeed.consultant_id == consultant.id,
                CalendarFeed.revoked_at.is_(None)).order_by(CalendarFeed.id.desc()).limit(1))
            ).scalar_one_or_none()
        return FeedStatus(feed is not None, as_utc(feed.created_at) if feed else None)

    async def create(self, principal: Principal) -> str:
        """A new secret token (returned once); any earlier feed of the consultant stops."""
        token = secrets.token_urlsafe(32)
        async with self.db.write() as session:
            consultant = await self._consultant(session, principal)
            await self._revoke(session, consultant.id)
            session.add(CalendarFeed(municipality_id=self.municipality,
                                     consultant_id=consultant.id,
                                     token_hash=hash_token(token)))
            audit.record(session, principal, self.municipality, "calendar_feed.create")
        return token

    async def revoke(self, principal: Principal) -> bool:
        """Stop the consultant's feed; False if there was none."""
        async with self.db.write() as session:
            consultant = await self._consultant(session, principal)
            revoked = await self._revoke(session, consultant.id)
            if revoked:
                audit.record(session, principal, self.municipality, "calendar_feed.revoke")
        return revoked

    async def _revoke(self, session: AsyncSession, consultant_id: int) -> bool:
        result = await session.execute(update(CalendarFeed).where(
            CalendarFeed.consultant_id == consultant_id, CalendarFeed.revoked_at.is_(None))
            .values(revoked_at=self.clock.utcnow()))
        return bool(result.rowcount)

    async def ics(self, token: str) -> bytes:
        """The feed behind a token; NotFound for a revoked or unknown one."""
        async with self.db.read() as session:
            row = (await session.execute(
                select(CalendarFeed, Consultant).join(
                    Consultant, Consultant.id == CalendarFeed.consultant_id)
                .where(CalendarFeed.token_hash == hash_token(token),
                       CalendarFeed.municipality_id == self.municipality,
                       CalendarFeed.revoked_at.is_(None)))).first()
            if row is None:
                raise NotFound("no such calendar feed", "calendar_feed_not_found")
            _, consultant = row
            meetings = (await session.execute(
                select(Meeting, Case.case_ref).join(Case, Case.id == Meeting.case_id)
                .where(Meeting.consultant_id == consultant.id,
                       Meeting.status.in_((*ACTIVE_MEETING, TALK_PLANNED)),
                       Case.closed_on.is_(None))
                .order_by(Meeting.start))).unique().all()
            history = await self.notifier.calendar_histories(
                session, [m.case_id for m, _ in meetings])
        return self._calendar(consultant, [
            (m, ref, self.notifier.sequence_held(history[m.case_id])) for m, ref in meetings])

    def _calendar(self, consultant: Consultant,
                  meetings: list[tuple[Meeting, str, int]]) -> bytes:
        calendar = Calendar()
        calendar.add("prodid", "-//fasthold//Sammen om fastholdelse//DA")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", f"fasthold – {consultant.name}")
        calendar.add("x-wr-timezone", str(self.clock.tz))
        # Subscribed calendars ask again after this long (Outlook, Apple; Google decides).
        calendar.add("refresh-interval", timedelta(minutes=15),
                     parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT15M")
        stamp = self.clock.utcnow()
        jobcentre = self.config.jobcentre
        base = self.config.mail.link("")
        for meeting, case_ref, sequence in meetings:
            if meeting.kind == PRIVATE_TALK:
                calendar.add_component(self._talk_event(meeting, case_ref, stamp, base))
                continue
            kind = KIND_TEXT.get(meeting.kind, "")
            proposed = meeting.status == "proposed"
            event = Event()
            event.add("uid", self.notifier.calendar_uid(meeting))
            event.add("sequence", sequence)
            event.add("dtstamp", stamp)
            event.add("dtstart", meeting.start.replace(tzinfo=self.clock.tz))
            event.add("dtend", meeting.end.replace(tzinfo=self.clock.tz))
            event.add("summary", f"{'Foreslået: ' if proposed else ''}Opfølgningssamtale "
                                 f"{kind} – sag {case_ref}")
            if meeting.kind == "workplace_meeting":
                address = meeting.case.workplace_address if meeting.case is not None else None
                event.add("location", address or "Arbejdspladsen")
            elif meeting.kind == "jobcenter_meeting":
                event.add("location", f"{jobcentre.name}, {jobcentre.address}")
            lines = [f"Sag {case_ref}.",
                     "Foreslået tid: arbejdsgiveren har ikke bekræftet endnu." if proposed
                     else "Bekræftet af arbejdsgiveren."]
            if meeting.kind == "workplace_meeting" and meeting.travel_minutes:
                lines.append(f"Transport ca. {meeting.travel_minutes} min. hver vej.")
            link = f"{base}/my-cases/{quote(case_ref, safe='')}"
            event.add("description", " ".join(lines) + "\n" + link)
            event.add("status", "TENTATIVE" if proposed else "CONFIRMED")
            event.add("transp", "OPAQUE")
            calendar.add_component(event)
        calendar.add_missing_timezones()
        return calendar.to_ical()


    def _talk_event(self, talk: Meeting, case_ref: str, stamp: datetime, base: str) -> Event:
        """The citizen's private talk (by telephone or at the jobcentre): its own UID; the
        employer has no part in it."""
        event = Event()
        event.add("uid", self.notifier.calendar_uid(talk))
        event.add("sequence", 0)
        event.add("dtstamp", stamp)
        event.add("dtstart", talk.start.replace(tzinfo=self.clock.tz))
        event.add("dtend", talk.end.replace(tzinfo=self.clock.tz))
        event.add("summary", f"{TALK_LABEL} – sag {case_ref}")
        link = f"{base}/my-cases/{quote(case_ref, safe='')}"
        event.add("description", f"Sag {case_ref}. Borgerens samtale med dig før mødet på "
                                 f"arbejdspladsen (telefon eller jobcentret).\n{link}")
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        return event

