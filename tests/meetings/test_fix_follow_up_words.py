"""A follow-up meeting after the first is not called the first one: the employer's page says
"det næste opfølgningsmøde" and the calendar event's description "Opfølgningsmøde" (as the
invitation's "et nyt opfølgningsmøde" and the citizen's "næste")."""

from __future__ import annotations

from icalendar import Calendar
from sqlalchemy import select

from service.keys import ANSWERS, DB, NOTIFIER
from service.platform.db.models import Meeting
from tests.meetings.email_cases import body, intake, invitation
from tests.support import Api, SmtpSink, link_path


async def _set_purpose(api: Api, purpose: str) -> int:
    async with api.client.app[DB].write() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalar_one()
        meeting.purpose = purpose
        return meeting.id


async def _description(api: Api, meeting_id: int) -> str:
    meeting = await api.client.app[ANSWERS].meeting(meeting_id)
    assert meeting is not None
    ics = api.client.app[NOTIFIER].ics(meeting, 0, "leder@example.org")
    event = next(c for c in Calendar.from_ical(ics).walk() if c.name == "VEVENT")
    return str(event["DESCRIPTION"])


async def test_a_follow_up_is_the_next_meeting_on_the_page_and_in_the_calendar(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("fw1"))
    path = link_path(await invitation(smtp_sink))
    page = await (await mail_api.client.get(path)).text()
    assert "det første opfølgningsmøde" in page
    meeting_id = await _set_purpose(mail_api, "first_meeting")
    assert (await _description(mail_api, meeting_id)).startswith("Første opfølgningsmøde med ")

    await _set_purpose(mail_api, "follow_up")
    page = await (await mail_api.client.get(path)).text()
    assert "det næste opfølgningsmøde" in page and "første" not in page
    description = await _description(mail_api, meeting_id)
    assert description.startswith("Opfølgningsmøde med ") and "Første" not in description
