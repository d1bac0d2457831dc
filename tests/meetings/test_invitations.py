"""Issue 19 item 4: calls before letters (`[meetings] invitation = "after_calls"`), end to end
over SMTP (aiosmtpd) and the fake Slack Web API, on SQLite: the proposal is planned and kept
(reserved) while the employer's invitation waits for the consultant's calls — the Slack
button, the case page, the API — or for the configured working days (the named job, the
consultant told); a proposal moved meanwhile never has its old time sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.clock import SettableClock
from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, HELD_INVITATIONS, JOBS
from service.meetings.invitations import SENT_AFTER_WAIT
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.platform.jobqueue import PLAN
from service.platform.workdays import add_working_days
from tests.meetings.email_cases import EMPLOYER, body, intake, invitation
from tests.slack.slack_helpers import buttons, message_to, texts
from tests.slack.test_flow import click, owner_of
from tests.support import (
    Api,
    SmtpSink,
    mail_config,
    make_secrets,
    slack_env,
    start_api,
    start_staff,
    text_part,
    wait_until,
    wait_until_mail_delivered,
)

INVITED = "vælg et tidspunkt"


@dataclass
class App:
    api: Api
    clock: SettableClock
    fake: FakeSlackApi


def after_calls(config: MunicipalityConfig, wait: int = 1) -> MunicipalityConfig:
    return config.model_copy(update={"meetings": config.meetings.model_copy(update={
        "invitation": "after_calls", "invitation_wait_working_days": wait})})


@pytest.fixture
async def app(demo_config: MunicipalityConfig, sqlite_url: str, smtp_sink: SmtpSink,
              slack_api: FakeSlackApi) -> AsyncIterator[App]:
    clock = SettableClock(datetime.now(UTC), demo_config.municipality.timezone)
    secrets = make_secrets(sqlite_url, FASTHOLD_SMTP_HOST="127.0.0.1",
                           FASTHOLD_SMTP_PORT=str(smtp_sink.port), **slack_env(slack_api))
    async for api in start_api(mail_config(after_calls(demo_config)), secrets, clock=clock):
        await api.client.app[JOBS].wait_idle()
        yield App(api, clock, slack_api)


async def rows(api: Api, ref: str) -> tuple[Case, list[Meeting]]:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        meetings = list((await session.execute(select(Meeting).where(
            Meeting.case_id == case.id).order_by(Meeting.id))).unique().scalars())
    return case, meetings


def active(meetings: list[Meeting]) -> Meeting:
    (meeting,) = [m for m in meetings if m.status in ("proposed", "confirmed")]
    return meeting


def invitations_to_employer(sink: SmtpSink) -> list[str]:
    return [text_part(m) for m in sink.to(EMPLOYER) if INVITED in str(m["Subject"])]


async def employer_kinds(api: Api, case_id: int) -> list[str]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.case_id == case_id, OutboxMessage.recipient == EMPLOYER))
        ).scalars())


async def replan(api: Api) -> None:
    api.client.app[JOBS].request(PLAN, api.client.app[CONFIG].municipality.id, "test")
    await api.client.app[JOBS].wait_idle()


async def test_the_invitation_waits_for_the_calls_registered_in_slack(
        app: App, smtp_sink: SmtpSink) -> None:
    api, fake = app.api, app.fake
    await intake(api, body("call-1"))
    case, meetings = await rows(api, "call-1")
    proposal = active(meetings)
    assert proposal.kind == "workplace_meeting" and proposal.invitation_held_at is not None
    assert proposal.invited_at is None
    await wait_until_mail_delivered(api)
    assert invitations_to_employer(smtp_sink) == []
    assert await employer_kinds(api, case.id) == []

    # The owner's DM says to call first, with the button that sends the invitation.
    _, user = await owner_of(api, "call-1")
    dm = await message_to(fake, fake.dm_channel(user), "Ring først")
    assert buttons(dm)["calls_done"] == "Jeg har ringet — send invitationen"

    # The proposal is reserved: another planning run keeps it as it is.
    await replan(api)
    _, meetings = await rows(api, "call-1")
    assert active(meetings).id == proposal.id and active(meetings).start == proposal.start

    # "Jeg har ringet": both calls registered, the invitation goes out for that proposal.
    await click(api, fake, user, "calls_done", "call-1", dm.channel, dm.ts)
    mail = await invitation(smtp_sink)
    time = f"{proposal.start.hour:02d}.{proposal.start.minute:02d}"
    assert time in text_part(mail)
    case, meetings = await rows(api, "call-1")
    assert case.citizen_called_at is not None and case.employer_called_at is not None
    assert case.invitation_released_at is not None
    assert active(meetings).invited_at is not None
    await wait_until(lambda: "calls_done" not in buttons(dm), what="the DM updated")


async def test_after_the_wait_the_job_sends_it_and_tells_the_consultant(
        app: App, smtp_sink: SmtpSink) -> None:
    api, fake, clock = app.api, app.fake, app.clock
    held = api.client.app[HELD_INVITATIONS]
    await intake(api, body("call-2"))
    case, meetings = await rows(api, "call-2")
    assert active(meetings).invitation_held_at is not None
    assert await held.scan() == 0  # the same day: still waiting
    # One working day later (`invitation_wait_working_days = 1`) the job lets it go, once.
    clock.set_today(add_working_days(clock.today(), 1), hour=9)
    assert await held.scan() == 1
    assert await held.scan() == 0
    await invitation(smtp_sink)
    _, user = await owner_of(api, "call-2")
    told = await message_to(fake, fake.dm_channel(user), "ventetiden")
    # The first message's "send the invitation" button is gone: it went by itself.
    first = await message_to(fake, fake.dm_channel(user), "Ring først")
    await wait_until(lambda: "calls_done" not in buttons(first), what="the DM updated")
    assert "calls_done" not in buttons(told)
    assert "call-2" in texts(told)
    case, meetings = await rows(api, "call-2")
    assert case.invitation_released_at is not None and active(meetings).invited_at
    assert (await employer_kinds(api, case.id)).count("employer_invitation") == 1
    async with api.client.app[DB].read() as session:
        kinds = list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.case_id == case.id, OutboxMessage.kind == SENT_AFTER_WAIT))
        ).scalars())
    assert kinds == [SENT_AFTER_WAIT]


async def test_a_proposal_moved_meanwhile_never_has_its_old_time_sent(
        app: App, smtp_sink: SmtpSink) -> None:
    api, fake = app.api, app.fake
    await intake(api, body("call-3"))
    case, meetings = await rows(api, "call-3")
    old = active(meetings)
    # Staff cancel the proposal (as if the consultant's calendar changed): planning
    # proposes another time, its invitation held too.
    resp = await api.client.post("/api/cases/call-3/meeting/cancel",
                                 json={"reason": "konsulenten er optaget"},
                                 headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    _, meetings = await rows(api, "call-3")
    new = active(meetings)
    assert new.id != old.id and new.invitation_held_at is not None and new.invited_at is None

    # Who may: intake may not register the calls (403); the owner's case page has the button.
    resp = await api.client.post("/api/cases/call-3/calls-done", headers=api.auth("intake"))
    assert resp.status == 403
    async for staff in start_staff(api):
        manager = await staff.login("manager")
        _, page = await manager.get("/my-cases/call-3")
        assert 'id="calls-done"' in page and "Invitationen venter på dine opkald" in page
        response, page = await manager.post("/my-cases/call-3/calls-done")
        assert response.status == 200 and "invitationen er sendt" in page
    # Registered on the case page: the Slack message's button is gone too.
    _, user = await owner_of(api, "call-3")
    dm = await message_to(fake, fake.dm_channel(user), "Ring først")
    await wait_until(lambda: "calls_done" not in buttons(dm), what="the DM updated")
    mail = await invitation(smtp_sink)
    assert f"{new.start.hour:02d}.{new.start.minute:02d}" in text_part(mail)
    await wait_until_mail_delivered(api)
    assert len(invitations_to_employer(smtp_sink)) == 1
    async with api.client.app[DB].read() as session:
        about_old = list((await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.meeting_id == old.id, OutboxMessage.channel == "email"))).scalars())
    assert about_old == []
    # Registered: later invitations of the case go out at once; a second click is harmless.
    resp = await api.client.post("/api/cases/call-3/calls-done", headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    assert (await employer_kinds(api, case.id)).count("employer_invitation") == 1


async def test_at_once_is_the_default(demo_config: MunicipalityConfig) -> None:
    assert demo_config.meetings.invitation == "at_once"
    assert demo_config.meetings.decline_grace_working_days == 1
