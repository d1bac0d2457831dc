"""A message about a meeting is queued once per meeting, kind, calendar SEQUENCE and recipient:
a double submit, answers racing, a use case repeated or a retried job never queue it twice."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from service.keys import DB, NOTIFIER
from service.outbox.store import Message
from service.platform.db.models import Meeting, OutboxMessage
from tests.meetings.email_cases import (
    CITIZEN,
    EMPLOYER,
    body,
    form_token,
    intake,
    invitation,
    meeting_of,
)
from tests.support import Api, SmtpSink, link_path, wait_until_mail_delivered


async def _queued(api: Api, kind: str, recipient: str) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == kind, OutboxMessage.recipient == recipient))).scalar_one()


async def test_a_double_submitted_confirm_form_queues_one_confirmation_each(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("d1"))
    path = link_path(await invitation(smtp_sink))
    csrf = await form_token(mail_api, path)
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    answers = await asyncio.gather(*(mail_api.client.post(
        f"{path}/confirm", data={"csrf": csrf, "slot": slot}, allow_redirects=False)
        for _ in range(3)))
    assert [a.status for a in answers] == [303, 303, 303]
    assert (await meeting_of(mail_api, "d1"))["status"] == "confirmed"
    await wait_until_mail_delivered(mail_api)
    assert await _queued(mail_api, "employer_confirmed", EMPLOYER) == 1
    assert await _queued(mail_api, "citizen_meeting", CITIZEN) == 1


async def test_a_confirmation_written_twice_is_queued_once(mail_api: Api) -> None:
    """The use case's messages repeated (a retry, a second caller in the same transaction or
    a racing one that saw the same state): one confirmation per recipient."""
    await intake(mail_api, body("d2"))
    app = mail_api.client.app
    async with app[DB].write() as session:
        meeting = (await session.execute(select(Meeting))).unique().scalar_one()
        meeting.status = "confirmed"
        await app[NOTIFIER].confirmed(session, meeting)
        await app[NOTIFIER].confirmed(session, meeting)
    assert await _queued(mail_api, "employer_confirmed", EMPLOYER) == 1
    assert await _queued(mail_api, "citizen_meeting", CITIZEN) == 1


async def test_racing_writes_of_one_message_queue_it_once(mail_api: Api) -> None:
    """Two transactions writing the same message at once (on PostgreSQL the second insert
    waits for the first to commit, then skips): one row, and neither transaction fails."""
    from service.outbox.store import dedupe_key

    outbox = mail_api.client.app[NOTIFIER].outbox
    key = dedupe_key("test", "race")

    async def write() -> bool:
        async with mail_api.client.app[DB].write() as session:
            return await outbox.enqueue_once(session, Message(
                "email", "employer_confirmed", "x@example.org", "s", "t"), key)

    assert sorted(await asyncio.gather(write(), write(), write())) == [False, False, True]
    assert await _queued(mail_api, "employer_confirmed", "x@example.org") == 1


async def test_confirming_the_jobcentre_time_the_citizen_has_does_not_repeat_it(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    """A jobcentre meeting's time goes to the citizen with the proposal; staff confirming that
    same time sends the citizen no second, identical letter."""
    await intake(mail_api, body("d3", citizen_declines_workplace_meeting=True))
    meeting = await meeting_of(mail_api, "d3")
    assert meeting["kind"] == "jobcenter_meeting"
    resp = await mail_api.client.post("/api/cases/d3/meeting/confirm",
                                      json={"start": meeting["start"]},
                                      headers=mail_api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await wait_until_mail_delivered(mail_api)
    assert await _queued(mail_api, "citizen_meeting", CITIZEN) == 1
    # the meeting's letter once (besides the first message at assignment)
    assert len([m for m in smtp_sink.to(CITIZEN)
                if "Din fastholdelseskonsulent" not in str(m["Subject"])]) == 1
