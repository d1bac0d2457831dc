"""Who may do what from Slack: the case's owner or a manager registers; intake staff, other
consultants and people fasthold does not know are told so ephemerally and nothing changes;
only intake staff choose another owner (service.platform.policies)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bots.slack import blocks
from bots.slack.fake_api import FakeSlackApi
from bots.slack.requests import block_action, view_submission
from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.db.models import AuditEntry, Case
from service.text.case_words import CLOSE_OUTCOME
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import (
    ANNA,
    BO,
    INTAKE_USER,
    MANAGER,
    post_signed,
    start_slack_api,
)
from tests.slack.test_reminders import FIXED
from tests.support import Api, SmtpSink, local_now, wait_until


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        await intake(running, body("anna-1", employer=FIXED))
        yield running


async def press(api: Api, fake: FakeSlackApi, user: str, action: str) -> str:
    """Click `action` on case anna-1 in the user's DM; the ephemeral answer."""
    channel = fake.dm_channel(user)
    before = len(fake.conversation(channel))
    resp = await post_signed(api, block_action(user, action, "anna-1", fake.issue_trigger(user),
                                               channel, "1764230400.000001"))
    assert resp.status == 200
    answer = await wait_until(lambda: [p for p in fake.conversation(channel)[before:]
                                       if p.ephemeral_for == user],
                              what=f"an ephemeral answer to {user}")
    return str(answer[0].text)


async def citizen_called(api: Api) -> bool:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "anna-1"))
                ).unique().scalar_one()
        return case.citizen_called_at is not None


async def test_others_are_told_it_is_not_their_case(api: Api, slack_api: FakeSlackApi
                                                    ) -> None:
    assert await press(api, slack_api, BO, "contact_citizen") == "Det er ikke din sag."
    assert await press(api, slack_api, INTAKE_USER, "contact_citizen") == \
        "Det er ikke din sag."
    assert slack_api.users is not None
    slack_api.users.add("U0STRANGER")  # in the workspace, unknown to fasthold
    assert "ikke sat op" in await press(api, slack_api, "U0STRANGER", "contact_citizen")
    assert await press(api, slack_api, BO, "register_meeting") == "Det er ikke din sag."
    assert not await citizen_called(api)
    assert slack_api.open_view(BO) is None


async def test_a_manager_may_register_on_any_case(api: Api, slack_api: FakeSlackApi) -> None:
    resp = await post_signed(api, block_action(MANAGER, "contact_citizen", "anna-1",
                                               slack_api.issue_trigger(MANAGER)))
    assert resp.status == 200
    assert await citizen_called(api)
    async with api.client.app[DB].read() as session:
        actors = (await session.execute(select(AuditEntry.actor).where(
            AuditEntry.action == "case.called_citizen"))).scalars().all()
    assert actors == ["manager:Mette Leder via Slack"]


async def test_only_intake_chooses_the_owner(api: Api, slack_api: FakeSlackApi) -> None:
    """One policy for every channel (service.platform.policies.CHOOSE_OWNER): intake staff
    choose the owner in Slack as on the case page and in the API; a consultant or a manager
    is told so, and no modal opens."""
    for user in (ANNA, MANAGER):
        assert await press(api, slack_api, user, "change_owner") == \
            "Kun visitationen kan skifte konsulent."
        assert slack_api.open_view(user) is None
    resp = await post_signed(api, block_action(INTAKE_USER, "change_owner", "anna-1",
                                               slack_api.issue_trigger(INTAKE_USER)))
    assert resp.status == 200
    assert await wait_until(lambda: slack_api.open_view(INTAKE_USER), what="the modal")


async def test_a_slack_click_reads_nothing_in_the_persons_name(api: Api,
                                                              slack_api: FakeSlackApi) -> None:
    """A button and a modal do their use case and answer from its result: the audit log
    has the call and the closing, and no `case.read` nobody made."""
    resp = await post_signed(api, block_action(ANNA, "contact_citizen", "anna-1",
                                               slack_api.issue_trigger(ANNA)))
    assert resp.status == 200 and await citizen_called(api)
    today = local_now().date().isoformat()
    view = blocks.close_modal("anna-1", today, {"case_ref": "anna-1"},
                              list(CLOSE_OUTCOME.items()), 1000)
    resp = await post_signed(api, view_submission(ANNA, view, {"outcome": "recovered",
                                                               "on": today}))
    assert resp.status == 200, await resp.text()
    async with api.client.app[DB].read() as session:
        actions = (await session.execute(select(AuditEntry.action).where(
            AuditEntry.case_id.is_not(None)).order_by(AuditEntry.id))).scalars().all()
    assert "case.read" not in actions, actions
    assert actions[-2:] == ["case.called_citizen", "case.close"]


async def test_intake_may_close_from_slack_as_from_the_api(api: Api, slack_api: FakeSlackApi
                                                           ) -> None:
    """Closing has one policy (intake, a manager, the owner): intake staff get the close
    modal in Slack as they may close on the case page and in the API; another consultant
    does not, and the attempt is audited."""
    resp = await post_signed(api, block_action(INTAKE_USER, "close_case", "anna-1",
                                               slack_api.issue_trigger(INTAKE_USER)))
    assert resp.status == 200
    assert slack_api.open_view(INTAKE_USER) is not None
    assert await press(api, slack_api, BO, "close_case") == "Det er ikke din sag."
    assert slack_api.open_view(BO) is None
    async with api.client.app[DB].read() as session:
        refused = (await session.execute(select(AuditEntry.details).where(
            AuditEntry.action == "case.read_refused"))).scalars().all()
    assert refused == [{"action": "close"}]
