"""What the domain tells the owner in Slack, each in the transaction of its change: the
employer's answers (other times, a decline), and a mail to the employer that could not be
delivered. The employer's free-text message stays in fasthold (the privacy scan of every
payload runs when the test ends)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi, Posted
from service.config import MunicipalityConfig
from service.keys import ANSWERS, DB, JOBS
from service.meetings.booking import offered_slots
from service.platform.db.models import Meeting, OutboxMessage
from service.text.danish import danish_slot
from tests.meetings.email_cases import EMPLOYER, body, intake
from tests.slack.slack_helpers import message_to, start_slack_api, texts
from tests.slack.test_reminders import ANNA_DM, FIXED
from tests.support import SLACK_INTAKE_CHANNEL, Api, SmtpSink, wait_until


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
    await answers.decline(await proposed(api), "no_rooms", "vi har ikke plads")
    declined = await message_to(slack_api, ANNA_DM, "kan ikke holde mødet")
    assert "Begrundelse: Ingen egnede lokaler." in texts(declined)
    assert "vi har ikke plads" not in texts(declined)  # their own words stay in fasthold


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
    does: the intake channel's post names the new owner and the fixed reason category —
    never the note typed with it, which stays on the case — and the new owner gets the
    case."""
    await intake(api, body("moved-1", employer={**FIXED, "contact_email": EMPLOYER}))
    await message_to(slack_api, ANNA_DM, "moved-1")
    resp = await api.client.put("/api/cases/moved-1/owner", json={
        "consultant_id": "bo", "category": "continuity", "reason": "speciale: psykisk"},
        headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["owner"]["reasons"] == [
        "valgt manuelt af test-intake: kontinuitet – speciale: psykisk"]  # in fasthold
    new_owner = await message_to(slack_api, "D0DEMO002", "moved-1")
    assert "Ny sag til dig" in texts(new_owner)
    post = await message_to(slack_api, SLACK_INTAKE_CHANNEL, "flyttet til Bo Nielsen")
    assert "• kontinuitet" in texts(post)
    assert "psykisk" not in str(slack_api.payloads()) and "speciale" not in texts(post)
    resp = await api.client.put("/api/cases/moved-1/owner", json={
        "consultant_id": "bo", "category": "because I say so"}, headers=api.auth("intake"))
    assert resp.status == 422 and "category" in await resp.text()
    # The same owner again changes nothing in Slack.
    before = len(slack_api.conversation("D0DEMO002"))
    resp = await api.client.put("/api/cases/moved-1/owner", json={
        "consultant_id": "bo", "reason": "igen"}, headers=api.auth("intake"))
    assert resp.status == 200
    await api.client.app[JOBS].wait_idle()
    assert len(slack_api.conversation("D0DEMO002")) == before


def about(fake: FakeSlackApi, channel: str, case_ref: str) -> list[Posted]:
    """The (non-ephemeral) messages in `channel` about the case."""
    return [p for p in fake.conversation(channel)
            if p.ephemeral_for is None and case_ref in texts(p)]


async def test_an_owner_change_is_told_once(api: Api, slack_api: FakeSlackApi) -> None:
    """The previous owner sees one "moved" notice per change of owner — not one per message
    they had about the case — and a notice is not touched again by later changes."""
    await intake(api, body("twice-1", employer={**FIXED, "contact_email": EMPLOYER}))
    await message_to(slack_api, ANNA_DM, "Ny sag til dig")
    await api.client.app[ANSWERS].other_times(await proposed(api), {
        "weekdays_text": ["mandag"], "parts_text": ["formiddag"], "text": ""})
    await message_to(slack_api, ANNA_DM, "beder om andre tider")
    assert len(about(slack_api, ANNA_DM, "twice-1")) == 2
    jobs = api.client.app[JOBS]

    async def owner(consultant: str) -> None:
        resp = await api.client.put("/api/cases/twice-1/owner", json={
            "consultant_id": consultant, "category": "capacity"}, headers=api.auth("intake"))
        assert resp.status == 200, await resp.text()
        await jobs.wait_idle()

    def moved(channel: str) -> list[Posted]:
        return [p for p in about(slack_api, channel, "twice-1")
                if "flyttet til en anden konsulent" in texts(p)]

    await owner("bo")
    await wait_until(lambda: len(about(slack_api, ANNA_DM, "twice-1")) == 1 and
                     len(moved(ANNA_DM)) == 1, what=lambda: "one notice in Anna's DM, not "
                     f"{[texts(p)[:60] for p in about(slack_api, ANNA_DM, 'twice-1')]}")
    first_notice = moved(ANNA_DM)[0]
    await owner("anna")
    await message_to(slack_api, ANNA_DM, "Ny sag til dig")
    await owner("bo")
    await wait_until(lambda: len(moved(ANNA_DM)) == 2 and
                     len(about(slack_api, ANNA_DM, "twice-1")) == 2,
                     what="two changes away from Anna: two notices")
    assert first_notice.edits == 1  # told once, not again at each later change
    await wait_until(lambda: len(moved("D0DEMO002")) == 1, what="one notice in Bo's DM")
    assert not any(b.get("type") == "actions" for p in moved(ANNA_DM) for b in p.blocks)


async def test_the_owners_messages_show_the_meetings_current_time(
        api: Api, slack_api: FakeSlackApi) -> None:
    """The employer confirms another of the offered times: the owner's first message about
    the case shows the confirmed time, not the time first proposed."""
    await intake(api, body("time-1", employer={**FIXED, "contact_email": EMPLOYER}))
    first = await message_to(slack_api, ANNA_DM, "Ny sag til dig")
    async with api.client.app[DB].read() as session:
        meeting = (await session.execute(select(Meeting).where(
            Meeting.status == "proposed"))).unique().scalar_one()
        slots = offered_slots(meeting)
    assert len(slots) > 1
    old_time, new = danish_slot(slots[0].start, slots[0].end), slots[1]
    assert old_time in texts(first)
    assert await api.client.app[ANSWERS].confirm(meeting.id, new.key) == "confirmed"
    await message_to(slack_api, ANNA_DM, "har bekræftet mødet")
    new_time = danish_slot(new.start, new.end)
    await wait_until(lambda: new_time in texts(first) and old_time not in texts(first),
                     what=lambda: f"{new_time} in the first message: {texts(first)}")
    assert "(bekræftet)" in texts(first)
