"""Reminders to employers: no answer after two working days, and the day before a meeting."""

from __future__ import annotations

import re
from datetime import date, timedelta

from service.keys import REMINDERS
from tests.conftest import Api, SmtpSink, link_path, text_part, today_local
from tests.meetings.email_cases import body, form_token, intake, invitation


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
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    await mail_api.client.post(f"{path}/confirm", data={"csrf": csrf, "slot": slot})
    day_before = date.fromisoformat(slot[:10]) - timedelta(days=1)
    assert await reminders.send_due(day_before) == 1
    assert await reminders.send_due(day_before) == 0
    mail = (await smtp_sink.wait_for(lambda m: "I morgen" in str(m["Subject"])))[0]
    assert "Mads Madsen" in text_part(mail)
