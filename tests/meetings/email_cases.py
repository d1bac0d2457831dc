"""Shared by the email-flow tests (HTTP and browser, meetings, outbox, follow-up): a case whose
employer gets an email, intake through the API, waiting for the employer's invitation, and
reading the link page's form token and a case's meeting."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import Meeting
from tests.conftest import Api, SmtpSink, today_local

EMPLOYER = "leder@sundstrae.example"
CITIZEN = "mads@example.org"


def body(case_id: str, **overrides: Any) -> dict[str, Any]:
    """A target case (workplace meeting) absent for 10 days, with CPR and a diagnosis group —
    so that the privacy scan has something to find if it ever leaks into a mail."""
    start = today_local() - timedelta(days=10)
    data: dict[str, Any] = {
        "case_id": case_id,
        "first_absence_day": start.isoformat(),
        "employment": "employed",
        "employer": {"cvr": "12345678", "name": "Sunds Træ ApS", "contact_name": "Lone Berg",
                     "contact_email": EMPLOYER, "address": "Fabriksvej 3, 7451 Sunds",
                     "location": {"lat": 56.205, "lon": 9.02}},
        "visitation_category": 3,
        "diagnosis_group": "mental",
        "cpr": "010190-1234",
        "citizen": {"name": "Mads Madsen", "email": CITIZEN},
    }
    data.update(overrides)
    return data


async def intake(api: Api, *bodies: dict[str, Any]) -> None:
    """Register cases and wait until planning has handled them."""
    for b in bodies:
        resp = await api.client.post("/api/cases", json=b, headers=api.auth("intake"))
        assert resp.status in (200, 201), await resp.text()
    await api.client.app[JOBS].wait_idle()


async def invitation(sink: SmtpSink, to: str = EMPLOYER, count: int = 1) -> Any:
    """The `count`-th invitation received by `to`."""
    found = await sink.wait_for(lambda m: m["To"] == to and "vælg et tidspunkt"
                                in str(m["Subject"]), count=count)
    return found[count - 1]


async def make_second_overlap_first(api: Api) -> tuple[tuple[int, int], str]:
    """Of the two meetings planned, give the second one only the first one's proposal, with
    the same consultant: a race for one slot. Returns both ids and that slot's key."""
    async with api.client.app[DB].write() as session:
        one, two = (await session.execute(select(Meeting).order_by(Meeting.id))
                    ).unique().scalars().all()
        two.consultant_id = one.consultant_id
        two.kind, two.travel_minutes = one.kind, one.travel_minutes
        two.start, two.end = one.start, one.end
        two.alternatives = []
        return (one.id, two.id), one.start.isoformat(timespec="minutes")


async def form_token(api: Api, path: str) -> str:
    page = await (await api.client.get(path)).text()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


async def meeting_of(api: Api, case_ref: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_ref}", headers=api.auth("intake"))
    return (await resp.json())["meeting"]
