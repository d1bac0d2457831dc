"""What the domain tells the owner in Slack, each in the transaction of its change: the
employer's answers (other times, a decline), and a mail to the employer that could not be
delivered. The employer's free-text message stays in fasthold (the privacy scan of every
payload runs when the test ends)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from service.config import MunicipalityConfig
from service.keys import ANSWERS, DB, JOBS
from service.platform.db.models import Meeting, OutboxMessage
from tests.conftest import SLACK_INTAKE_CHANNEL, Api, SmtpSink
from tests.meetings.email_cases import EMPLOYER, body, intake
from tests.slack.slack_helpers import message_to, start_slack_api, texts
from tests.slack.test_reminders import ANNA_DM, FIXED


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def proposed(api: Api) -> int:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Meeting.id).where(Meeting.status == "proposed"))
                ).scalar_one()


async def test_the_employers_answers_reach_the_owner(api: Api, slack_api: FakeSlackApi
                                                     ) -> None:
    await intake(api, body("answer-1", employer={**FIXED, "contact_email": EMPLOYER}))
    answers = api.client.app[ANSWERS]
    await answers.other_times(await proposed(api), {
        "weekdays_text": ["mandag", "tirsdag"], "parts_text": ["formiddag"],
        "text": "Mads Madsen har det svært om eftermiddagen"})
    message = await message_to(slack_api, ANNA_DM, "beder om andre tider")
    assert "Ønsker: mandag, tirsdag; formiddag." in texts(message)
    await api.client.app[JOBS].wait_idle()
    await answers.decline(await proposed(api), "vi har ikke plads")
    declined = await message_to(slack_api, ANNA_DM, "takket nej")
    assert "vi har ikke plads" not in texts(declined)


async def test_an_undeliverable_employer_mail_tells_the_owner(
        api: Api, slack_api: FakeSlackApi, smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse["bounce@fast.example"] = 550
    await intake(api, body("bounce-1", employer={**FIXED,
                                                 "contact_email": "bounce@fast.example"}))
    message = await message_to(slack_api, ANNA_DM, "kunne ikke leveres")
    assert "contact_employer" in str(message.blocks)
    async with api.client.app[DB].read() as session:
        failed = (await session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.status == "failed"))).scalars().all()
    assert failed == ["employer_invitation"]


async def test_an_owner_chosen_through_the_api_is_told_in_slack(api: Api,
                                                                 slack_api: FakeSlackApi) -> None:
    """Choosing the owner on the case page or through the API tells Slack as the button
    does: the intake channel's post names the new owner, the new owner gets the case."""
    await intake(api, body("moved-1", employer={**FIXED, "contact_email": EMPLOYER}))
    await message_to(slack_api, ANNA_DM, "moved-1")
    resp = await api.client.put("/api/cases/moved-1/owner", json={
        "consultant_id": "bo", "reason": "kender virksomheden"}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    new_owner = await message_to(slack_api, "D0DEMO002", "moved-1")
    assert "Ny sag til dig" in texts(new_owner)
    post = await message_to(slack_api, SLACK_INTAKE_CHANNEL, "flyttet til Bo Nielsen")
    assert "kender virksomheden" in texts(post)
    # The same owner again changes nothing in Slack.
    before = len(slack_api.conversation("D0DEMO002"))
    resp = await api.client.put("/api/cases/moved-1/owner", json={
        "consultant_id": "bo", "reason": "igen"}, headers=api.auth("intake"))
    assert resp.status == 200
    await api.client.app[JOBS].wait_idle()
    assert len(slack_api.conversation("D0DEMO002")) == before
