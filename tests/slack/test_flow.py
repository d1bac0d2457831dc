"""One case's life in Slack, end to end over the real protocol: planning assigns it (a DM to
the owner with the call buttons, a post in the intake channel with the reasons), the owner
registers the calls (the message is updated), another consultant is told it is not theirs,
intake staff choose another consultant from the channel (a modal with the load; the post is
updated), the meeting's outcome and the case's end are registered through modals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bots.slack.fake_api import FakeSlackApi
from bots.slack.requests import block_action, view_submission
from service.config import MunicipalityConfig
from service.keys import ANSWERS, CONFIG, DB, JOBS, SLACK_DESK
from service.platform.db.models import Case, Meeting
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import (
    INTAKE_USER,
    buttons,
    message_to,
    post_signed,
    start_slack_api,
    texts,
)
from tests.support import SLACK_INTAKE_CHANNEL, Api, SmtpSink, local_now, wait_until


@pytest.fixture
async def api(demo_config: MunicipalityConfig, database_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, database_url, slack_api,
                                         smtp_sink.port):
        yield running


async def owner_of(api: Api, case_ref: str) -> tuple[str, str]:
    """(consultant id, Slack user id) of the case's owner."""
    resp = await api.client.get(f"/api/cases/{case_ref}", headers=api.auth("intake"))
    owner = (await resp.json())["owner"]["consultant_id"]
    consultant = api.client.app[CONFIG].consultant(owner)
    assert consultant is not None and consultant.slack_user_id
    return owner, consultant.slack_user_id


async def click(api: Api, fake: FakeSlackApi, user: str, action: str, value: str,
                channel: str | None = None, ts: str | None = None) -> None:
    resp = await post_signed(api, block_action(user, action, value, fake.issue_trigger(user),
                                               channel, ts))
    assert resp.status == 200, await resp.text()


async def test_a_case_from_assignment_to_closing(api: Api, slack_api: FakeSlackApi) -> None:
    fake = slack_api
    await intake(api, body("slack-1"))
    owner, user = await owner_of(api, "slack-1")
    dm = fake.dm_channel(user)
    new_case = await message_to(fake, dm, "Ny sag til dig")
    shown = texts(new_case)
    assert "slack-1" in shown and "Frist for første samtale" in shown
    assert "/cases/slack-1" in str(new_case.blocks)
    assert {"contact_citizen", "contact_employer"} <= set(buttons(new_case))
    post = await message_to(fake, SLACK_INTAKE_CHANNEL, "slack-1")
    assert "Hvorfor" in texts(post) and "change_owner" in buttons(post)

    # The owner called the citizen: registered on the case, the message updated.
    await click(api, fake, user, "contact_citizen", "slack-1", new_case.channel, new_case.ts)
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "slack-1"))
                ).unique().scalar_one()
        assert case.citizen_called_at is not None
    await wait_until(lambda: "Ringet til borger" in texts(new_case) and
                     "contact_citizen" not in buttons(new_case), what="the DM updated")

    # Another consultant clicking the owner's button is told it is not theirs.
    other = next(c.slack_user_id for c in api.client.app[CONFIG].consultants
                 if c.id != owner and c.slack_user_id)
    await click(api, fake, other, "contact_employer", "slack-1", new_case.channel,
                new_case.ts)
    refusal = await wait_until(lambda: next((p for p in fake.conversation(new_case.channel)
                                             if p.ephemeral_for == other), None))
    assert refusal.text == "Det er ikke din sag."
    async with api.client.app[DB].read() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "slack-1"))
                ).unique().scalar_one()
        assert case.employer_called_at is None

    # The employer agrees a time by phone; staff confirm it: the owner is told.
    meeting = (await (await api.client.get("/api/cases/slack-1", headers=api.auth("intake"))
                      ).json())["meeting"]
    resp = await api.client.post("/api/cases/slack-1/meeting/confirm",
                                 json={"start": meeting["start"]}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    confirmed = await message_to(fake, dm, "har bekræftet mødet")
    assert "register_meeting" in buttons(confirmed) and "bekræftet" in texts(confirmed)

    # Intake staff choose another consultant from the channel: a modal with the load.
    await click(api, fake, INTAKE_USER, "change_owner", "slack-1", post.channel, post.ts)
    modal = await wait_until(lambda: fake.open_view(INTAKE_USER), what="the owner modal")
    options = modal.view["blocks"][1]["element"]["options"]
    labels = {o["value"]: o["text"]["text"] for o in options}
    assert owner not in labels and all("sager" in label for label in labels.values())
    new_owner = next(iter(labels))
    resp = await post_signed(api, view_submission(INTAKE_USER, modal.view, {
        "consultant": new_owner, "category": "regular_employer",
        "owner_note": "kender virksomheden"}))
    assert resp.status == 200 and not (await resp.text()).strip(), await resp.text()
    fake.close_view(modal.view_id)
    _, new_user = await owner_of(api, "slack-1")
    assert new_user != user
    await wait_until(lambda: "flyttet til" in texts(post), what="the channel post updated")
    # The fixed reason reaches Slack; the note typed with it stays in fasthold.
    assert "fast arbejdsgiver" in texts(post) and "kender virksomheden" not in texts(post)
    new_dm = await message_to(fake, fake.dm_channel(new_user), "Ny sag til dig")
    # The previous owner's messages no longer show the case: the newest says it moved (once),
    # the older ones are gone.
    def old_owners_messages() -> list[str]:
        return [texts(p) for p in fake.conversation(dm)
                if p.ephemeral_for is None and "slack-1" in texts(p)]

    await wait_until(lambda: len(old_owners_messages()) == 1 and
                     "flyttet til en anden konsulent" in old_owners_messages()[0],
                     what=lambda: f"one withdrawn message, not {old_owners_messages()}")
    assert not any(buttons(p) for p in fake.conversation(dm) if p.ephemeral_for is None)

    # The new owner registers the meeting (held by phone, employer took part) and closes.
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].write() as session:
        for meeting in (await session.execute(select(Meeting))).unique().scalars():
            start = local_now().replace(second=0, microsecond=0) - timedelta(hours=2)
            meeting.start, meeting.end = start, start + timedelta(hours=1)
    await click(api, fake, new_user, "register_meeting", "slack-1", new_dm.channel, new_dm.ts)
    form = await wait_until(lambda: fake.open_view(new_user), what="the meeting modal")
    resp = await post_signed(api, view_submission(new_user, form.view, {"place": "workplace"}))
    assert (await resp.json())["errors"] == {"employer_took_part":
                                             "Svar på, om arbejdsgiveren deltog."}
    resp = await post_signed(api, view_submission(new_user, form.view, {
        "place": "workplace", "employer_took_part": "yes"}))
    assert resp.status == 200 and not (await resp.text()).strip(), await resp.text()
    fake.close_view(form.view_id)
    async with api.client.app[DB].read() as session:
        held = (await session.execute(select(Meeting).where(Meeting.status == "held"))
                ).unique().scalar_one()
        assert (held.place, held.employer_took_part) == ("workplace", True)
    await wait_until(lambda: "holdt på arbejdspladsen, arbejdsgiveren deltog" in texts(new_dm),
                     what="the DM shows the meeting registered")

    await click(api, fake, new_user, "close_case", "slack-1", new_dm.channel, new_dm.ts)
    close = await wait_until(lambda: fake.open_view(new_user), what="the close modal")
    tomorrow = (local_now() + timedelta(days=1)).date().isoformat()
    resp = await post_signed(api, view_submission(new_user, close.view, {
        "outcome": "recovered", "on": tomorrow}))
    assert resp.status == 200
    assert (await resp.json()) == {"response_action": "errors",
                                   "errors": {"on": "Datoen må ikke ligge i fremtiden."}}
    resp = await post_signed(api, view_submission(new_user, close.view, {
        "outcome": "recovered", "on": local_now().date().isoformat(), "note": "fuldt rask"}))
    assert resp.status == 200 and not (await resp.text()).strip()
    await wait_until(lambda: "Sagen er afsluttet" in texts(new_dm), what="the DM closed")
    assert "close_case" not in buttons(new_dm)


async def test_a_new_proposal_s_next_step_is_the_employer_s_answer(
        api: Api, slack_api: FakeSlackApi) -> None:
    """The employer asked for other times; planning proposed a new time and invited them:
    the owner's message says to await their answer, as every page does (it was updated
    before the invitation went out and said to agree the time)."""
    fake = slack_api
    await intake(api, body("slack-3"))
    _, user = await owner_of(api, "slack-3")
    new_case = await message_to(fake, fake.dm_channel(user), "Ny sag til dig")
    async with api.client.app[DB].write() as session:  # the owner has made both calls
        case = (await session.execute(select(Case).where(Case.case_ref == "slack-3"))
                ).unique().scalar_one()
        case.citizen_called_at = case.employer_called_at = case.created_at
        meeting_id = (await session.execute(select(Meeting.id).where(
            Meeting.status == "proposed"))).scalar_one()
    assert await api.client.app[ANSWERS].other_times(meeting_id, {"text": "Ikke i år"}) \
        == "done"
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        again = (await session.execute(select(Meeting).where(
            Meeting.status == "proposed"))).unique().scalar_one()
    assert again.id != meeting_id and again.invited_at is not None
    await wait_until(lambda: "Afvent arbejdsgiverens svar" in texts(new_case)
                     and "Aftal tidspunktet" not in texts(new_case),
                     what=lambda: f"the DM awaiting the answer; got {texts(new_case)!r}")


async def test_what_is_registered_elsewhere_reads_the_same_in_slack(
        api: Api, slack_api: FakeSlackApi) -> None:
    """A call registered through the API (as on the case page) and the case closed there:
    the owner's Slack message follows each (it kept saying the call was still to make, and
    kept the buttons of a closed case)."""
    fake = slack_api
    await intake(api, body("slack-4"))
    _, user = await owner_of(api, "slack-4")
    new_case = await message_to(fake, fake.dm_channel(user), "Ny sag til dig")
    assert "contact_citizen" in buttons(new_case)
    resp = await api.client.post("/api/cases/slack-4/contacts", json={"who": "citizen"},
                                 headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    await wait_until(lambda: "Ringet til borger" in texts(new_case)
                     and "contact_citizen" not in buttons(new_case),
                     what=lambda: f"the DM updated; got {texts(new_case)!r}")
    resp = await api.client.post("/api/cases/slack-4/close", json={
        "outcome": "recovered", "on": local_now().date().isoformat()},
        headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    await wait_until(lambda: "Sagen er afsluttet" in texts(new_case)
                     and set(buttons(new_case)) <= {"open_link"},
                     what=lambda: f"the DM closed; got {buttons(new_case)!r}")


async def test_closing_a_closed_case_from_a_stale_button_says_so(
        api: Api, slack_api: FakeSlackApi) -> None:
    """A stale "Afslut sag" on a case closed meanwhile: the modal says it was closed already
    and how (it closed as if it had been saved, changing nothing)."""
    await intake(api, body("slack-5"))
    _, user = await owner_of(api, "slack-5")
    today = local_now().date()
    resp = await api.client.post("/api/cases/slack-5/close", json={
        "outcome": "recovered", "on": today.isoformat()}, headers=api.auth("manager"))
    assert resp.status == 200, await resp.text()
    reply = await api.client.app[SLACK_DESK].close(user, "slack-5", "other", today, "", None)
    assert not reply.ok and reply.field == "outcome"
    assert reply.text.startswith("Sagen er allerede afsluttet") and "raskmeldt" in reply.text
