"""Choosing an owner by hand moves the case's meeting with it: a proposal is withdrawn at once
and planned again with the new owner; a confirmed meeting keeps its time with the new owner
when they are free (the employer's calendar updated: same UID, next SEQUENCE), else it is
cancelled and planned again. A consultant's week shows only cases they own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.keys import ANSWERS, CONFIG, DB, JOBS
from service.platform.db.models import (
    BookedMinute,
    CalendarEntry,
    Case,
    Consultant,
    ConsultantTask,
    Meeting,
    OutboxMessage,
)
from tests.planning.test_planning_service import TODAY, body
from tests.support import Api, make_secrets, start_api, start_staff


@pytest.fixture
async def override_api(demo_config, sqlite_url) -> AsyncIterator[Api]:
    clock = SettableClock(datetime.combine(TODAY, time(10, 0)))
    async for api in start_api(demo_config, make_secrets(sqlite_url), clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield api


async def _meetings(api: Api, case_ref: str) -> list[Meeting]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting).join(Case, Case.id == Meeting.case_id)
                                           .where(Case.case_ref == case_ref)
                                           .order_by(Meeting.id))).unique().scalars())


async def _mails(api: Api, kind: str) -> list[OutboxMessage]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == kind, OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id))).scalars())


async def _planned(api: Api, case_ref: str) -> Meeting:
    resp = await api.client.post("/api/cases", json=body(case_ref), headers=api.auth("intake"))
    assert resp.status == 201, await resp.text()
    await api.client.app[JOBS].wait_idle()
    (meeting,) = await _meetings(api, case_ref)
    assert meeting.status == "proposed" and meeting.invited_at is not None
    return meeting


async def _override(api: Api, case_ref: str, consultant: str) -> None:
    resp = await api.client.put(f"/api/cases/{case_ref}/owner", json={
        "consultant_id": consultant, "reason": "kender arbejdspladsen"},
        headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()


def _other(key: str) -> str:
    return "dennis" if key != "dennis" else "bo"


def _active(meetings: list[Meeting]) -> list[Meeting]:
    return [m for m in meetings if m.status in ("proposed", "confirmed")]


async def test_a_proposal_is_withdrawn_at_once_and_planned_with_the_new_owner(
        override_api: Api) -> None:
    api = override_api
    first = await _planned(api, "w1")
    new = _other(first.consultant.key)
    await _override(api, "w1", new)
    # In the override's own transaction: no meeting is left with the old consultant.
    assert all(m.consultant.key == new for m in _active(await _meetings(api, "w1")))
    cancelled = [m for m in await _mails(api, "employer_cancelled") if m.meeting_id == first.id]
    assert len(cancelled) == 1 and cancelled[0].subject.startswith("Flyttet")
    await api.client.app[JOBS].wait_idle()
    (current,) = _active(await _meetings(api, "w1"))
    assert current.consultant.key == new and current.invited_at is not None


async def test_no_meeting_stays_with_the_old_consultant_when_the_new_owner_cannot_hold_it(
        override_api: Api) -> None:
    # config/demo.toml: "eva" holds workplace meetings only from 2027-02-01 (after TODAY).
    api = override_api
    first = await _planned(api, "w1")
    assert first.consultant.key != "eva"
    await _override(api, "w1", "eva")
    await api.client.app[JOBS].wait_idle()
    assert (await api.client.post("/api/planning/run", headers=api.auth("manager"))).status \
        == 200
    assert all(m.consultant.key == "eva" for m in _active(await _meetings(api, "w1")))


async def _confirmed(api: Api, case_ref: str) -> Meeting:
    meeting = await _planned(api, case_ref)
    outcome = await api.client.app[ANSWERS].confirm(
        meeting.id, meeting.start.isoformat(timespec="minutes"))
    assert outcome == "confirmed"
    await api.client.app[JOBS].wait_idle()
    return meeting


async def test_a_confirmed_meeting_keeps_its_time_with_a_free_new_owner(
        override_api: Api) -> None:
    api = override_api
    first = await _confirmed(api, "w1")
    new = _other(first.consultant.key)
    await _override(api, "w1", new)
    await api.client.app[JOBS].wait_idle()
    (meeting,) = await _meetings(api, "w1")
    assert (meeting.id, meeting.status, meeting.start) == (first.id, "confirmed", first.start)
    assert meeting.consultant.key == new
    async with api.client.app[DB].read() as session:
        booked = set((await session.execute(select(BookedMinute.consultant_id).where(
            BookedMinute.meeting_id == meeting.id))).scalars())
        tasks = set((await session.execute(select(ConsultantTask.consultant_id).where(
            ConsultantTask.done_at.is_(None)))).scalars())
    assert booked == {meeting.consultant_id} and tasks <= {meeting.consultant_id}
    # The employer's calendar: the same event (UID), the next SEQUENCE, the new organiser.
    first_request, update = await _mails(api, "employer_confirmed")
    assert "SEQUENCE:0" in first_request.payload["ics"]
    ics = update.payload["ics"]
    assert update.payload["ics_method"] == "REQUEST" and "SEQUENCE:1" in ics
    uid = next(line for line in first_request.payload["ics"].splitlines()
               if line.startswith("UID:"))
    assert uid in ics.splitlines()
    assert meeting.consultant.email in ics and meeting.consultant.name in update.body_text
    assert [m for m in await _mails(api, "employer_cancelled")] == []


async def test_a_confirmed_meeting_the_new_owner_cannot_hold_is_cancelled_and_replanned(
        override_api: Api) -> None:
    api = override_api
    first = await _confirmed(api, "w1")
    new = _other(first.consultant.key)
    async with api.client.app[DB].write() as session:
        consultant = (await session.execute(select(Consultant).where(Consultant.key == new))
                      ).scalar_one()
        session.add(CalendarEntry(municipality_id=consultant.municipality_id,
                                  consultant_id=consultant.id,
                                  start=first.start - timedelta(minutes=30), end=first.end))
    await _override(api, "w1", new)
    meetings = await _meetings(api, "w1")
    assert meetings[0].status == "cancelled" and meetings[0].consultant.key != new
    (cancel,) = await _mails(api, "employer_cancelled")
    assert cancel.payload["ics_method"] == "CANCEL" and "SEQUENCE:1" in cancel.payload["ics"]
    assert "ny konsulent" in cancel.body_text
    async with api.client.app[DB].read() as session:
        tasks = list((await session.execute(select(ConsultantTask).where(
            ConsultantTask.done_at.is_(None)))).scalars())
    assert tasks and all(t.consultant_id == consultant.id for t in tasks)
    assert any(t.kind == "meeting_withdrawn_new_owner" for t in tasks)
    await api.client.app[JOBS].wait_idle()
    (current,) = _active(await _meetings(api, "w1"))
    assert current.consultant.key == new and current.status == "proposed"


async def test_a_consultants_week_shows_only_cases_they_own(override_api: Api) -> None:
    api = override_api
    meeting = await _planned(api, "w1")
    me = api.client.app[CONFIG].consultants[0].id  # the staff users' consultant
    someone = _other(me)
    # A meeting with `me` of a case `someone` owns (as a hand-chosen owner used to leave it).
    async with api.client.app[DB].write() as session:
        ids = {c.key: c.id for c in (await session.execute(select(Consultant))).scalars()}
        row = await session.get(Meeting, meeting.id)
        row.consultant_id = ids[me]
        case = await session.get(Case, row.case_id)
        case.owner_id = ids[someone]
    year, week, _ = meeting.start.date().isocalendar()
    async for staff in start_staff(api):
        consultant = await staff.login("consultant")
        for path in (f"/week?uge={year}-W{week:02d}",
                     f"/week?uge={year}-W{week:02d}&konsulent={someone}"):
            resp, html = await consultant.get(path)
            assert resp.status == 200 and "Sag w1" not in html, path
        manager = await staff.login("manager")
        _, html = await manager.get(f"/week?uge={year}-W{week:02d}&konsulent={me}")
        assert "Sag w1" in html  # the manager sees the consultant's calendar as it is
