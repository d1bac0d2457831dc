"""What the calendar tests ask of the app: the feed API, the imported entries, the times
offered to employers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from service.keys import DB
from service.platform.db.models import CalendarEntry, Consultant, Meeting
from tests.calendars.samples import TODAY
from tests.meetings.email_cases import body
from tests.support import Api

ANNA_FIXED_CVR = "29189919"  # config/demo.toml: anna is this employer's fixed consultant


def case(ref: str, lat: float) -> dict[str, Any]:
    """A case of anna's fixed employer, absent since early February: its deadline (week 8)
    falls inside the horizon."""
    return body(ref, first_absence_day=(TODAY - timedelta(days=30)).isoformat(),
                employer={"cvr": ANNA_FIXED_CVR, "name": "Stor Fabrik A/S",
                          "contact_name": "Lone Berg", "contact_email": f"{ref}@fabrik.example",
                          "address": "Fabriksvej 3, 7400 Herning",
                          "location": {"lat": lat, "lon": 8.98}})


async def put_feed(api: Api, role: str, consultant: str, data: dict[str, Any]
                   ) -> tuple[int, dict[str, Any]]:
    resp = await api.client.put(f"/api/consultants/{consultant}/calendar-feed", json=data,
                                headers=api.auth(role))
    return resp.status, await resp.json()


async def get_feed(api: Api, role: str, consultant: str) -> tuple[int, dict[str, Any]]:
    resp = await api.client.get(f"/api/consultants/{consultant}/calendar-feed",
                                headers=api.auth(role))
    return resp.status, await resp.json()


async def imported(api: Api, key: str = "anna") -> list[tuple[datetime, datetime]]:
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(CalendarEntry).join(
            Consultant, Consultant.id == CalendarEntry.consultant_id).where(
            Consultant.key == key, CalendarEntry.source.in_(("feed", "caldav")))
            .order_by(CalendarEntry.start, CalendarEntry.end))).scalars().all()
    return [(r.start, r.end) for r in rows]


async def proposals_of(api: Api, key: str) -> list[tuple[datetime, datetime]]:
    """Every time offered for the consultant: each proposal and its alternatives."""
    async with api.client.app[DB].read() as session:
        meetings = (await session.execute(select(Meeting).join(
            Consultant, Consultant.id == Meeting.consultant_id).where(
            Consultant.key == key, Meeting.status == "proposed"))).unique().scalars().all()
    slots = []
    for meeting in meetings:
        slots.append((meeting.start, meeting.end))
        for alternative in meeting.alternatives or []:
            slots.append((datetime.fromisoformat(alternative["start"]),
                          datetime.fromisoformat(alternative["end"])))
    return slots


def overlapping(slots: list[tuple[datetime, datetime]],
                busy: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    return [s for s in slots if any(s[0] < b[1] and b[0] < s[1] for b in busy)]
