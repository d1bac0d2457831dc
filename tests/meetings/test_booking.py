"""Booking a meeting is enforced by the database: of racing confirmations exactly one wins."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.keys import ANSWERS, DB, LINKS
from service.meetings.answers import Outcome
from service.meetings.booking import Slot, book, free_slots, occupied_minutes
from service.platform.db.models import BookedMinute, Meeting
from tests.meetings.email_cases import body, intake, make_second_overlap_first, planning_held
from tests.support import Api, SmtpSink, today_local


async def test_racing_confirms_one_booking_wins(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("r1"), body("r2", employer={
        "cvr": "87654321", "name": "Ikast Metal", "contact_email": "hr@ikastmetal.example",
        "location": {"lat": 56.14, "lon": 9.16}}))
    app = mail_api.client.app
    ids, key = await make_second_overlap_first(mail_api)
    answers = app[ANSWERS]
    results = await asyncio.gather(answers.confirm(ids[0], key), answers.confirm(ids[1], key),
                                   answers.confirm(ids[0], key))
    # Exactly one booking; the other meeting lost the race; a repeated click changes nothing.
    assert results.count(Outcome.CONFIRMED) == 1
    assert set(results) <= {Outcome.CONFIRMED, Outcome.TAKEN, Outcome.ALREADY}
    assert Outcome.TAKEN in results
    async with app[DB].read() as session:
        statuses = [m.status for m in (await session.execute(
            select(Meeting).where(Meeting.id.in_(ids)))).unique().scalars()]
    assert sorted(statuses) == ["confirmed", "proposed"]
    # The loser's page no longer offers the taken slot.
    loser = ids[1] if results[0] == Outcome.CONFIRMED else ids[0]
    token = app[LINKS].token(loser, today_local() + timedelta(days=30))
    page = await (await mail_api.client.get(f"/m/{token}")).text()
    assert key not in page


async def test_the_page_says_when_the_mailed_time_was_taken(
        mail_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    await intake(mail_api, body("r3"), body("r4", employer={
        "cvr": "87654321", "name": "Ikast Metal", "contact_email": "hr@ikastmetal.example",
        "location": {"lat": 56.14, "lon": 9.16}}))
    app = mail_api.client.app
    ids, key = await make_second_overlap_first(mail_api)
    async with planning_held(mail_api, monkeypatch):
        assert await app[ANSWERS].confirm(ids[0], key) == Outcome.CONFIRMED
        token = app[LINKS].token(ids[1], today_local() + timedelta(days=30))
        page = await (await mail_api.client.get(f"/m/{token}")).text()
    assert "kan ikke længere vælges" in page and 'id="notice"' in page
    assert "Bed om andre tider" in page  # no other time was offered with this proposal


async def test_a_booking_writes_each_minute_of_the_slot_and_refuses_an_overlap(api: Api) -> None:
    """`book` is one statement whose rows the database makes (a CTE on SQLite,
    generate_series on PostgreSQL): the same minutes as `occupied_minutes` — travel out, the
    meeting, travel back —, read back as the datetimes every other statement compares them
    with, and a second meeting of the consultant sharing one minute is refused."""
    await intake(api, body("b1"), body("b2"))
    db = api.client.app[DB]
    async with db.read() as session:
        first, second = (await session.execute(select(Meeting).where(
            Meeting.status == "proposed").order_by(Meeting.id))).unique().scalars().all()
    slot = Slot(datetime(2030, 3, 4, 9, 30), datetime(2030, 3, 4, 10, 30), 25)
    async with db.write() as session:
        await book(session, first, slot)
    async with db.read() as session:
        minutes = list((await session.execute(select(BookedMinute.minute).where(
            BookedMinute.meeting_id == first.id, BookedMinute.consultant_id ==
            first.consultant_id).order_by(BookedMinute.minute))).scalars())
        assert minutes == occupied_minutes(slot, first.kind)
        assert minutes[0] == datetime(2030, 3, 4, 9, 5) and len(minutes) == 110
        # the other meeting's offer at that time is no longer free
        second.consultant_id = first.consultant_id
        second.start, second.end, second.alternatives = slot.start, slot.end, []
        assert await free_slots(session, second, datetime(2026, 1, 1)) == []
    overlapping = Slot(datetime(2030, 3, 4, 10, 54), datetime(2030, 3, 4, 11, 30), 0)
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            other = await session.get(Meeting, second.id)
            assert other is not None
            other.consultant_id = first.consultant_id
            await book(session, other, overlapping)
    touching = Slot(datetime(2030, 3, 4, 10, 55), datetime(2030, 3, 4, 11, 30), 0)
    async with db.write() as session:
        other = await session.get(Meeting, second.id)
        assert other is not None
        other.consultant_id = first.consultant_id
        await book(session, other, touching)
