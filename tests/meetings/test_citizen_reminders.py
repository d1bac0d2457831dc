"""The citizen's reminder on the working day before their meeting or private talk: by
e-mail, else by Digital Post, never as a printed letter (it would come too late); not when
they were told of the time that same day; not of a meeting being moved; once. (The scan on
PostgreSQL too in the first test; the others are about what is sent, on SQLite.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB, JOBS, REMINDERS
from service.meetings.reminders import CITIZEN_DAY_BEFORE
from service.platform.db.models import Meeting, OutboxMessage
from service.platform.workdays import is_working_day
from tests.meetings.conftest import sqlite_mail_secrets
from tests.meetings.email_cases import CITIZEN, body, confirm_first_time, intake, invitation
from tests.support import (
    Api,
    SmtpSink,
    link_path,
    mail_config,
    start_api,
    text_part,
    today_local,
)


async def _confirmed(api: Api, sink: SmtpSink, ref: str) -> Meeting:
    await intake(api, body(ref))
    await confirm_first_time(api, link_path(await invitation(sink)))
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Meeting).where(Meeting.status == "confirmed"))
                ).unique().scalar_one()


async def _move_to(api: Api, meeting_id: int, day: date, **changes: object) -> None:
    """The meeting on `day` at 10:00 (its length kept), with other columns changed."""
    async with api.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting).where(Meeting.id == meeting_id))
                   ).unique().scalar_one()
        length = meeting.end - meeting.start
        meeting.start = datetime.combine(day, time(10, 0))
        meeting.end = meeting.start + length
        for name, value in changes.items():
            setattr(meeting, name, value)


async def _reminders(api: Api) -> list[OutboxMessage]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind.in_(("employer_day_before", CITIZEN_DAY_BEFORE)))
            .order_by(OutboxMessage.id))).scalars())


def _plain_weekday_after(day: date, weekday: int) -> date:
    """A `weekday` after `day` (and after a week), which and whose day before are working
    days."""
    found = day + timedelta(days=7 + (weekday - day.weekday()) % 7)
    while not is_working_day(found) or not is_working_day(found - timedelta(days=1)):
        found += timedelta(days=7)
    return found


async def test_the_citizen_is_reminded_of_the_workplace_meeting_with_its_place(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    meeting = await _confirmed(mail_api, smtp_sink, "r1")
    wednesday = _plain_weekday_after(today_local(), 2)
    await _move_to(mail_api, meeting.id, wednesday)
    reminders = mail_api.client.app[REMINDERS]
    assert await reminders.send_due(wednesday - timedelta(days=2)) == 0  # not yet
    assert await reminders.send_due(wednesday - timedelta(days=1)) == 2
    assert await reminders.send_due(wednesday - timedelta(days=1)) == 0  # once
    assert await reminders.send_due(wednesday) == 0  # nor on the day
    sent = await _reminders(mail_api)
    assert [(m.kind, m.channel, m.recipient) for m in sent] == [
        ("employer_day_before", "email", "leder@sundstrae.example"),
        (CITIZEN_DAY_BEFORE, "email", CITIZEN)]
    mail = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "I morgen" in str(m["Subject"])))[0]
    assert str(mail["Subject"]) == "I morgen: dit opfølgningsmøde kl. 10.00"
    text = text_part(mail)
    assert "Kære Mads Madsen" in text
    assert "dit opfølgningsmøde i morgen på din arbejdsplads hos Sunds Træ ApS, " \
        "Fabriksvej 3, 7451 Sunds" in text
    assert "10.00" in text and "kontakt" in text
    # what the citizen is told carries no health data, no CPR (the e-mail is not secure)
    assert "mental" not in text.lower() and "010190" not in text


async def test_not_when_told_the_same_day_nor_of_a_meeting_being_moved(
        mail: Api, smtp_sink: SmtpSink) -> None:
    """Confirmed today for the next working day: the citizen has the time from today's mail
    (the employer gets the day-before reminder all the same). A meeting its consultant can
    no longer hold (a conflict, being moved) reminds nobody."""
    meeting = await _confirmed(mail, smtp_sink, "r2")
    today = today_local()
    tomorrow = today + timedelta(days=1)
    while not is_working_day(tomorrow):
        tomorrow += timedelta(days=1)
    await _move_to(mail, meeting.id, tomorrow)
    reminders = mail.client.app[REMINDERS]
    assert await reminders.send_due(today) == 1
    assert [m.kind for m in await _reminders(mail)] == ["employer_day_before"]

    later = _plain_weekday_after(today, 3)
    await _move_to(mail, meeting.id, later, conflict_at=datetime(2026, 1, 5, 8, 0),
                   conflict_reason="absence")
    assert await reminders.send_due(later - timedelta(days=1)) == 0
    await _move_to(mail, meeting.id, later, conflict_at=None, conflict_reason=None)
    # settled (the consultant stays): the citizen's reminder goes (the employer had theirs
    # of this meeting before)
    assert await reminders.send_due(later - timedelta(days=1)) == 1
    assert [m.kind for m in await _reminders(mail)] == ["employer_day_before",
                                                            CITIZEN_DAY_BEFORE]


async def test_a_jobcentre_meeting_and_a_private_talk_are_reminded_to_the_citizen_only(
        mail: Api, smtp_sink: SmtpSink) -> None:
    meeting = await _confirmed(mail, smtp_sink, "r3")
    thursday = _plain_weekday_after(today_local(), 3)
    await _move_to(mail, meeting.id, thursday, kind="jobcenter_meeting")
    reminders = mail.client.app[REMINDERS]
    assert await reminders.send_due(thursday - timedelta(days=1)) == 1
    message = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "I morgen" in str(m["Subject"])))[0]
    assert "dit opfølgningsmøde i morgen i jobcentret (" in text_part(message)

    friday = thursday + timedelta(days=8)
    while not is_working_day(friday) or not is_working_day(friday - timedelta(days=1)):
        friday += timedelta(days=7)
    async with mail.client.app[DB].write() as session:  # the talk: a row of its own
        talk = Meeting(municipality_id=meeting.municipality_id, case_id=meeting.case_id,
                       consultant_id=meeting.consultant_id, kind="private_talk",
                       status="talk_planned", start=meeting.start, end=meeting.end,
                       created_at=meeting.created_at, updated_at=meeting.updated_at)
        session.add(talk)
        await session.flush()
    await _move_to(mail, talk.id, friday)
    assert await reminders.send_due(friday - timedelta(days=1)) == 1
    message = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "din samtale" in str(m["Subject"])))[0]
    text = text_part(message)
    assert "din samtale i morgen med din konsulent" in text and "ringer til dig" in text
    assert [m.recipient for m in await _reminders(mail)] == [CITIZEN, CITIZEN]


@pytest.fixture
async def post_api(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
                   request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """The app with letters by Digital Post (`request.param`: on or off)."""
    config = mail_config(demo_config)
    config = config.model_copy(update={"letters": config.letters.model_copy(
        update={"digital_post": request.param})})
    async for api in start_api(config, sqlite_mail_secrets(sqlite_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


@pytest.mark.parametrize("post_api", [True, False], indirect=True, ids=["digital", "printed"])
async def test_without_an_e_mail_address_by_digital_post_or_not_at_all(
        post_api: Api, smtp_sink: SmtpSink, request: pytest.FixtureRequest) -> None:
    digital = request.node.callspec.id == "digital"
    await intake(post_api, body("r4", citizen={"name": "Mads Madsen"}))
    await confirm_first_time(post_api, link_path(await invitation(smtp_sink)))
    async with post_api.client.app[DB].read() as session:
        meeting_id = (await session.execute(select(Meeting.id).where(
            Meeting.status == "confirmed"))).scalar_one()
    tuesday = _plain_weekday_after(today_local(), 1)
    await _move_to(post_api, meeting_id, tuesday)
    assert await post_api.client.app[REMINDERS].send_due(tuesday - timedelta(days=1)) == \
        (2 if digital else 1)
    citizen = [m for m in await _reminders(post_api) if m.kind == CITIZEN_DAY_BEFORE]
    if not digital:
        assert citizen == []  # a printed letter would come after the meeting
        return
    assert [(m.channel, m.recipient, m.payload) for m in citizen] == [
        ("letter", "Mads Madsen", {"case_ref": "r4"})]
    assert citizen[0].status != "to_print"  # Digital Post delivers it, nobody prints it


@pytest.fixture
async def off_api(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink
                  ) -> AsyncIterator[Api]:
    async for api in start_api(mail_config(demo_config, citizen_day_before=False),
                               sqlite_mail_secrets(sqlite_url, smtp_sink.port)):
        await api.client.app[JOBS].wait_idle()
        yield api


async def test_a_municipality_that_reminds_its_own_way_turns_it_off(
        off_api: Api, smtp_sink: SmtpSink) -> None:
    meeting = await _confirmed(off_api, smtp_sink, "r5")
    wednesday = _plain_weekday_after(today_local(), 2)
    await _move_to(off_api, meeting.id, wednesday)
    assert await off_api.client.app[REMINDERS].send_due(wednesday - timedelta(days=1)) == 1
    assert [m.kind for m in await _reminders(off_api)] == ["employer_day_before"]
