"""Delivering the outbox over real SMTP: retries until the server is back (exactly once),
permanent failures visible to staff and retried by hand, letters for staff to print."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from bots.delivery import RetryPolicy
from service.keys import DB, OUTBOX
from service.platform.db.models import OutboxMessage
from tests.meetings.email_cases import body, intake
from tests.support import (
    Api,
    SmtpSink,
    email_statuses,
    mail_config,
    smtp_secrets,
    start_api,
    wait_until,
)


async def every_email_tried(api: Api) -> list[OutboxMessage] | None:
    """Every row of the outbox, once each email has been tried at least once."""
    async with api.client.app[DB].read() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    tried = rows and all(r.attempts >= 1 for r in rows if r.channel == "email")
    return list(rows) if tried else None


async def every_email_sent(api: Api) -> bool:
    statuses = await email_statuses(api)
    return bool(statuses) and set(statuses) == {"sent"}


async def test_smtp_down_then_up_delivers_exactly_once(demo_config, sqlite_url,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    quick = RetryPolicy(first=timedelta(milliseconds=200), cap=timedelta(milliseconds=400),
                        give_up_after=timedelta(hours=26))
    down = SmtpSink()  # not started: connections are refused
    config = mail_config(demo_config)
    async for api in start_api(config, smtp_secrets(sqlite_url, down.port)):
        api.client.app[OUTBOX].senders["email"].retry = quick
        await intake(api, body("x1"), body("x2", citizen={"name": "Eva Holm"}))
        rows = await wait_until(partial(every_email_tried, api),
                                what="a first try of every email")
        assert rows and all(r.status in ("pending", "sending") for r in rows
                            if r.channel == "email")
        assert all(r.last_error for r in rows if r.channel == "email")
    # The service stopped with mail pending; it comes back with the SMTP server up.
    up = SmtpSink(port=down.port).start()
    try:
        async for api in start_api(config, smtp_secrets(sqlite_url, down.port)):
            await up.wait_for(lambda m: True, count=2)
            await wait_until(partial(every_email_sent, api), what="every email in the outbox sent")
            async with api.client.app[DB].read() as session:
                rows = (await session.execute(select(OutboxMessage).where(
                    OutboxMessage.channel == "email"))).scalars().all()
            assert {r.status for r in rows} == {"sent"}
            ids = [m["Message-ID"] for m in up.messages]
            assert len(ids) == len(set(ids)) == len(rows)
            assert sorted(ids) == sorted(r.message_id for r in rows)
    finally:
        up.stop()


async def test_permanent_failure_is_visible_to_staff(mail_api: Api,
                                                     smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse["nobody@gone.example"] = 550
    await intake(mail_api, body("p1", employer={
        "cvr": "11223344", "name": "Lukket ApS", "contact_email": "nobody@gone.example",
        "location": {"lat": 56.1, "lon": 9.0}}, citizen={"name": "Ib"}))

    async def failed_messages() -> list[dict[str, Any]]:
        resp = await mail_api.client.get("/api/outbox?status=failed",
                                         headers=mail_api.auth("intake"))
        return (await resp.json())["messages"]

    failed = await wait_until(failed_messages, what="a failed message in the staff's list")
    assert failed and failed[0]["recipient"] == "nobody@gone.example"
    assert "550" in failed[0]["last_error"]
    assert (await mail_api.client.get("/api/outbox?status=nope",
                                      headers=mail_api.auth("intake"))).status == 422
    smtp_sink.refuse.clear()
    retry = await mail_api.client.post(f"/api/outbox/{failed[0]['id']}/retry",
                                       headers=mail_api.auth("intake"))
    assert retry.status == 200
    await smtp_sink.wait_for(lambda m: m["To"] == "nobody@gone.example")


async def test_citizen_without_email_gets_a_letter_for_staff(mail_api: Api) -> None:
    await intake(mail_api, body("l1", citizen_declines_workplace_meeting=True,
                                citizen={"name": "Ib Holm"}))
    resp = await mail_api.client.get("/api/outbox?status=to_print",
                                     headers=mail_api.auth("intake"))
    # The first contact (their consultant, the right to a talk first) and the meeting's.
    letters = sorted((await resp.json())["messages"], key=lambda m: m["kind"])
    assert [(m["channel"], m["kind"], m["recipient"]) for m in letters] == [
        ("letter", "citizen_first_contact", "Ib Holm"), ("letter", "citizen_meeting", "Ib Holm")]
    letters = letters[1:]
    async with mail_api.client.app[DB].read() as session:
        letter = await session.get(OutboxMessage, letters[0]["id"])
        assert letter is not None and "i jobcentret" in letter.body_text
    done = await mail_api.client.post(f"/api/outbox/{letters[0]['id']}/printed",
                                      headers=mail_api.auth("intake"))
    assert done.status == 200 and (await done.json())["status"] == "printed"
    again = await mail_api.client.post(f"/api/outbox/{letters[0]['id']}/printed",
                                       headers=mail_api.auth("intake"))
    assert again.status == 409
