"""Reminders to employers: no answer after two working days, and on the working day before a
meeting."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from service.keys import DB, REMINDERS
from service.platform.db.models import Meeting
from service.platform.workdays import is_working_day
from tests.meetings.email_cases import body, confirm_first_time, intake, invitation
from tests.support import Api, SmtpSink, link_path, text_part, today_local


async def test_reminders_after_two_working_days_and_day_before(mail_api: Api,
                                                               smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("m1"))
    path = link_path(await invitation(smtp_sink))
    reminders = mail_api.client.app[REMINDERS]
    today = today_local()
    assert await reminders.send_due(today) == 0
    later = today + timedelta(days=7)
    assert await reminders.send_due(later) == 1
    assert await reminders.send_due(later) == 0  # once only
    await smtp_sink.wait_for(lambda m: "Påmindelse" in str(m["Subject"]))
    slot = await confirm_first_time(mail_api, path)
    day_before = date.fromisoformat(slot[:10]) - timedelta(days=1)
    # the employer's, and the citizen's (`test_citizen_reminders`)
    assert await reminders.send_due(day_before) == 2
    assert await reminders.send_due(day_before) == 0
    mail = (await smtp_sink.wait_for(lambda m: "I morgen" in str(m["Subject"])))[0]
    assert "Mads Madsen" in text_part(mail)


async def test_a_monday_meeting_is_reminded_on_friday(mail_api: Api, smtp_sink: SmtpSink
                                                      ) -> None:
    """The "day before" reminder goes out on the working day before: Friday for a Monday
    meeting (the employer reads work mail on working days; a scan at the weekend still sends
    it when the meeting was confirmed after Friday's), and says which day."""
    await intake(mail_api, body("m2"))
    slot = await confirm_first_time(mail_api, link_path(await invitation(smtp_sink)))
    held = date.fromisoformat(slot[:10])
    monday = held + timedelta(days=7 - held.weekday())
    while not is_working_day(monday) or not is_working_day(monday - timedelta(days=3)):
        monday += timedelta(days=7)  # a plain Monday after a plain Friday
    async with mail_api.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalar_one()
        length = meeting.end - meeting.start
        meeting.start = datetime.combine(monday, time(10, 0))
        meeting.end = meeting.start + length
    friday = monday - timedelta(days=3)
    reminders = mail_api.client.app[REMINDERS]
    assert await reminders.send_due(friday - timedelta(days=1)) == 0
    assert await reminders.send_due(friday) == 2  # the employer's and the citizen's
    assert await reminders.send_due(monday - timedelta(days=1)) == 0  # once only
    mail = (await smtp_sink.wait_for(lambda m: "På mandag" in str(m["Subject"])))[0]
    assert "påmindelse om mødet på mandag på arbejdspladsen" in text_part(mail)
