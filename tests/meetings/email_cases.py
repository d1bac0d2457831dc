"""Shared by the email-flow tests (HTTP and browser, meetings, outbox, follow-up): a case whose
employer gets an email, intake through the API, waiting for the employer's invitation, and
reading the link page's form token and a case's meeting."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from service.keys import DB, JOBS, NOTIFIER
from service.platform.db.models import Case, Meeting
from service.platform.jobqueue import PLAN
from tests.support import Api, SmtpSink, today_local

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


async def confirm_first_time(api: Api, path: str) -> str:
    """The employer confirms the first time their page (`path`, the invitation's link)
    offers; returns that time's key."""
    csrf = await form_token(api, path)
    page = await (await api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    await api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": slot})
    return slot


async def meeting_of(api: Api, case_ref: str) -> dict[str, Any]:
    resp = await api.client.get(f"/api/cases/{case_ref}", headers=api.auth("intake"))
    return (await resp.json())["meeting"]


@asynccontextmanager
async def planning_held(api: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """Hold back the planner while the block runs (yields the reasons held), then ask for
    the runs held: what an employer sees right after an answer does not race re-planning.
    Runs asked for before the block finish before it starts."""
    jobs = api.client.app[JOBS]
    real_request = jobs.request
    held: list[str] = []

    def hold_planning(job: str, municipality_id: str, reason: str = "") -> None:
        if job == PLAN:
            held.append(reason)
        else:
            real_request(job, municipality_id, reason)

    monkeypatch.setattr(jobs, "request", hold_planning)
    await jobs.wait_idle()
    try:
        yield held
    finally:
        monkeypatch.setattr(jobs, "request", real_request)
    for reason in held:
        real_request(PLAN, api.client.app[NOTIFIER].config.municipality.id, reason)


def calendar_parts(message: Any) -> list[Any]:
    """Every text/calendar part of a mail (the inline invitation and the .ics attachment)."""
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


def parse_calendar(data: str | bytes) -> Calendar:
    return Calendar.from_ical(data)


def calendar_of(message: Any) -> Calendar:
    """The mail's calendar; each of its calendar parts is the same file, and each one's
    Content-Type names the file's METHOD (`text/calendar; method=REQUEST|CANCEL`)."""
    parts = calendar_parts(message)
    assert parts, f"no calendar in {message['Subject']}"
    texts = {p.get_payload(decode=True).decode("utf-8") for p in parts}
    assert len(texts) == 1, "the inline calendar and the attachment differ"
    calendar = parse_calendar(texts.pop())
    for part in parts:
        assert part.get_param("method") == str(calendar["METHOD"]), (
            part["Content-Type"], calendar["METHOD"])
    return calendar


def event_of(calendar: Calendar) -> Any:
    events = calendar.walk("VEVENT")
    assert len(events) == 1, calendar.to_ical()
    return events[0]


async def case_row_id(api: Api, case_ref: str) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Case.id).where(Case.case_ref == case_ref))
                ).scalar_one()
