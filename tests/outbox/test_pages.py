"""`/deliveries`: failed deliveries with "Send igen" (through the outbox's retry use case) and
invitations employers have not answered after 2 working days. Intake, managers, admins;
consultants 403; no session → login; "Send igen" needs the CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import DB, JOBS
from service.platform.db.models import AuditEntry, OutboxMessage
from tests.meetings.email_cases import EMPLOYER, body, intake
from tests.support import (
    SmtpSink,
    Staff,
    mail_config,
    smtp_secrets,
    start_api,
    start_staff,
    wait_until,
)

MONDAY = date(2026, 11, 30)


@pytest.fixture
async def clock() -> SettableClock:
    return SettableClock(datetime.combine(MONDAY, time(9, 0)))


@pytest.fixture
async def staff(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
                clock: SettableClock) -> AsyncIterator[Staff]:
    smtp_sink.refuse[EMPLOYER] = 550  # the employer's address does not exist
    async for api in start_api(mail_config(demo_config),
                               smtp_secrets(sqlite_url, smtp_sink.port), clock=clock):
        await intake(api, body("d1", first_absence_day=(MONDAY - timedelta(days=10))
                               .isoformat()))
        async for running in start_staff(api):
            yield running


async def _invitation(staff: Staff) -> OutboxMessage:
    async def found() -> OutboxMessage | None:
        async with staff.api.client.app[DB].read() as session:
            return (await session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == "employer_invitation"))).scalar_one_or_none()

    return await wait_until(found, what="the employer's invitation")


async def test_failed_delivery_is_listed_and_sent_again(staff: Staff,
                                                        smtp_sink: SmtpSink) -> None:
    async def failed() -> bool:
        return (await _invitation(staff)).status == "failed"

    await wait_until(failed, what="the invitation to fail (550)")
    manager = await staff.login("manager")
    resp, html = await manager.get("/deliveries")
    assert resp.status == 200, html
    section = html[html.index('id="fejlede"'):html.index('id="ubesvarede"')]
    assert "Fejlede forsendelser (1)" in section
    assert EMPLOYER in section and "Mødeforslag" in section  # text/case_words.MESSAGE_KIND
    assert "E-mail" in section and "550" in section and "Send igen" in section
    message = await _invitation(staff)
    # Without the form's token nothing is sent again.
    resp, _ = await manager.post(f"/deliveries/{message.id}/retry", csrf=False)
    assert resp.status == 403
    assert (await _invitation(staff)).status == "failed"
    # The address works now: "Send igen" delivers it.
    smtp_sink.refuse.clear()
    resp, html = await manager.post(f"/deliveries/{message.id}/retry")
    assert resp.status == 200 and "Beskeden sendes igen nu." in html
    await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER)
    await staff.api.client.app[JOBS].wait_idle()
    assert (await _invitation(staff)).status == "sent"
    _, html = await manager.get("/deliveries")
    assert "Ingen fejlede forsendelser." in html
    # Again: it is no longer failed; nothing happens.
    resp, html = await manager.post(f"/deliveries/{message.id}/retry")
    assert resp.status == 200 and "ikke længere fejlet" in html
    resp, _ = await manager.post("/deliveries/999999/retry")
    assert resp.status == 404
    async with staff.api.client.app[DB].read() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert actions.count("outbox.retry") == 1


async def test_unanswered_invitations_after_two_working_days(
        staff: Staff, smtp_sink: SmtpSink, clock: SettableClock) -> None:
    smtp_sink.refuse.clear()
    intake_user = await staff.login("intake")
    _, html = await intake_user.get("/deliveries")
    assert "Ubesvarede invitationer (0)" in html
    # Wednesday: 2 working days after Monday's invitation.
    clock.set(datetime.combine(MONDAY + timedelta(days=2), time(10, 0)))
    intake_user = await staff.login("intake")
    _, html = await intake_user.get("/deliveries")
    section = html[html.index('id="ubesvarede"'):]
    assert "Ubesvarede invitationer (1)" in section
    assert "d1" in section and "Sunds Træ ApS" in section and "Lone Berg" in section
    assert "2 arbejdsdage siden" in section
    async with staff.api.client.app[DB].read() as session:
        entries = (await session.execute(select(AuditEntry).where(
            AuditEntry.action == "case.list"))).scalars().all()
    assert any(e.details.get("page") == "deliveries" and e.details["unanswered"] == ["d1"]
               for e in entries)


async def test_who_may_see_it(staff: Staff) -> None:
    for role in ("intake", "admin"):
        browser = await staff.login(role)
        assert (await browser.get("/deliveries"))[0].status == 200, role
    consultant = await staff.login("consultant")
    resp, html = await consultant.get("/deliveries")
    assert resp.status == 403 and "ikke adgang" in html
    message = await _invitation(staff)
    resp, _ = await consultant.post(f"/deliveries/{message.id}/retry")
    assert resp.status == 403
    anonymous = await staff.browser()
    resp, _ = await anonymous.get("/deliveries", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login?next=")
