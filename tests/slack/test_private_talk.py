"""Issue 19 item 2 in Slack: the private talk without the employer — the owner's DM on
assignment names its time (and nothing of the citizen), "/fasthold næste" and the Home tab's
week list it, the day before a reminder comes once, and its buttons ("Holdt", "Ikke holdt",
"Borgeren ønsker den ikke længere") register it by the API's use case; the citizen hears
when it is cancelled (over SMTP and the fake Slack API, on SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from bots.slack.requests import block_action
from service.config import MunicipalityConfig
from service.keys import DB, JOBS, SLACK_HOME
from service.meetings.talk_kinds import PRIVATE_TALK, TALK_CANCELLED, TALK_HELD, TALK_PLANNED
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.platform.workdays import previous_working_day
from service.text.danish import danish_slot
from tests.meetings.email_cases import CITIZEN, body, intake
from tests.meetings.test_private_talk import talk_begun
from tests.slack.slack_helpers import (
    ANNA,
    BO,
    buttons,
    message_to,
    post_signed,
    start_slack_api,
    texts,
)
from tests.slack.test_reminders import FIXED, consultant_reminders
from tests.support import Api, SmtpSink, text_part, wait_until

TALK_BUTTONS = {"private_talk_held": "Holdt", "private_talk_not_held": "Ikke holdt",
                "private_talk_not_wanted": "Borgeren ønsker den ikke længere"}


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        yield running


async def talk_of(api: Api, ref: str, status: str = TALK_PLANNED) -> Meeting:
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == ref))
                ).unique().scalar_one()
        return (await session.execute(select(Meeting).where(
            Meeting.case_id == case.id, Meeting.kind == PRIVATE_TALK,
            Meeting.status == status))).unique().scalar_one()


async def click(api: Api, fake: FakeSlackApi, user: str, action: str, value: str,
                channel: str, ts: str) -> None:
    resp = await post_signed(api, block_action(user, action, value, fake.issue_trigger(user),
                                               channel, ts))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()


async def test_the_talk_in_the_dm_the_home_tab_the_reminder_and_its_buttons(
        api: Api, slack_api: FakeSlackApi, smtp_sink: SmtpSink) -> None:
    fake = slack_api
    await intake(api, body("talk-s1", employer=FIXED, citizen_wants_private_talk=True))
    talk = await talk_of(api, "talk-s1")
    when = danish_slot(talk.start, talk.end)

    # The DM on assignment: the talk's time in words, its buttons; no citizen name, no CPR.
    dm = fake.dm_channel(ANNA)
    new_case = await message_to(fake, dm, "Ny sag til dig")
    shown = texts(new_case)
    assert f"Samtale uden arbejdsgiver:* {when}" in shown
    assert TALK_BUTTONS.items() <= buttons(new_case).items()
    assert "Mads" not in shown and "Madsen" not in shown

    # "/fasthold næste" and the Home tab's week: the talk with the meetings.
    async with api.client.app[DB].read() as session:
        home = api.client.app[SLACK_HOME]
        items = [home.meeting_item(m) for m in await home.next_meetings(
            session, "anna", talk.start - timedelta(days=1))]
    assert any(i.case_ref == "talk-s1" and i.text == f"{when} samtale uden arbejdsgiver "
               "(planlagt)" for i in items)

    # The working day before: one reminder with the buttons, however often the job runs.
    reminders = await consultant_reminders(api)
    day_before = previous_working_day(talk.start.date())
    assert await reminders.send_due(day_before) >= 1
    assert await reminders.send_due(day_before) == 0
    await api.client.app[JOBS].wait_idle()
    reminder = await message_to(fake, dm, "Næste arbejdsdag: samtale uden arbejdsgiver")
    assert TALK_BUTTONS.items() <= buttons(reminder).items()
    assert when in texts(reminder)
    async with api.client.app[DB].read() as session:
        assert len((await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.kind == "talk_tomorrow"))).all()) == 1

    # Another consultant is told it is not theirs; nothing is registered.
    await click(api, fake, BO, "private_talk_held", "talk-s1", reminder.channel, reminder.ts)
    refusal = await wait_until(lambda: next((p for p in fake.conversation(reminder.channel)
                                             if p.ephemeral_for == BO), None))
    assert refusal.text == "Det er ikke din sag."
    await talk_of(api, "talk-s1")

    # The owner, once its time has come: "Holdt" registers it as the API does; the
    # messages show it, buttons gone.
    await talk_begun(api, talk.id)
    await click(api, fake, ANNA, "private_talk_held", "talk-s1", reminder.channel, reminder.ts)
    held = await talk_of(api, "talk-s1", TALK_HELD)
    assert held.outcome_registered_at is not None
    await wait_until(lambda: "Samtale uden arbejdsgiver: holdt" in texts(new_case)
                     and not set(TALK_BUTTONS) & set(buttons(new_case)),
                     what="the DM updated")
    # The talk held is not the workplace meeting held.
    assert "Møde registreret" not in texts(new_case)
    assert "register_meeting" in buttons(new_case)


async def test_not_wanted_from_slack_cancels_and_the_citizen_is_told(
        api: Api, slack_api: FakeSlackApi, smtp_sink: SmtpSink) -> None:
    fake = slack_api
    await intake(api, body("talk-s2", employer=FIXED, citizen_wants_private_talk=True))
    talk = await talk_of(api, "talk-s2")
    new_case = await message_to(fake, fake.dm_channel(ANNA), "Ny sag til dig")
    await click(api, fake, ANNA, "private_talk_not_wanted", "talk-s2", new_case.channel,
                new_case.ts)
    cancelled = await talk_of(api, "talk-s2", TALK_CANCELLED)
    assert cancelled.id == talk.id
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "talk-s2"))
                ).unique().scalar_one()
        assert case.private_talk_first is False
    told = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                     and "er aflyst" in str(m["Subject"])))[0]
    assert danish_slot(talk.start, talk.end) in text_part(told)
    assert "ønsker ikke længere" in text_part(told)
    await wait_until(lambda: "Samtale uden arbejdsgiver: aflyst" in texts(new_case),
                     what="the DM updated")
    for message in smtp_sink.to(FIXED["contact_email"]):
        assert "samtale" not in (str(message["Subject"]) + text_part(message)).lower()


async def test_a_talk_wished_after_assignment_reaches_the_owner(
        api: Api, slack_api: FakeSlackApi) -> None:
    fake = slack_api
    await intake(api, body("talk-s3", employer=FIXED))
    dm = fake.dm_channel(ANNA)
    new_case = await message_to(fake, dm, "Ny sag til dig")
    assert "Samtale uden arbejdsgiver" not in texts(new_case)
    resp = await api.client.patch("/api/cases/talk-s3",
                                  json={"citizen_wants_private_talk": True},
                                  headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    await api.client.app[JOBS].wait_idle()
    talk = await talk_of(api, "talk-s3")
    when = danish_slot(talk.start, talk.end)
    told = await message_to(fake, dm, "vil gerne tale med dig uden arbejdsgiveren")
    assert when in texts(told) and TALK_BUTTONS.items() <= buttons(told).items()
    await wait_until(lambda: when in texts(new_case)
                     and TALK_BUTTONS.items() <= buttons(new_case).items(),
                     what="the new-case message shows the talk")
