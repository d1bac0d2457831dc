"""Modal submissions the bot did not write as it wrote them — `private_metadata` that is no
JSON, cut short or of another shape, text longer than the API takes or with a character no
database stores — are answered in the modal with a Danish message naming the field (never a
5xx), and nothing is stored. The Slack modals apply the API's limits for the same fields."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bots.slack import blocks
from bots.slack.fake_api import FakeSlackApi
from bots.slack.listeners import COULD_NOT_OPEN, STALE_FORM
from bots.slack.requests import block_action, view_submission
from service.config import MunicipalityConfig
from service.followup.closing import CLOSE_OUTCOMES, MAX_CLOSE_NOTE, CaseClose
from service.followup.outcomes import PLACES
from service.followup.slack_actions import PLACE_WORDS
from service.intake.schemas import MAX_OWNER_NOTE
from service.keys import DB
from service.platform.db.models import (
    INTERVENTION_KINDS,
    Case,
    ConsultantTask,
    Intervention,
    Meeting,
    OutboxMessage,
)
from service.platform.slack_replies import max_length_of
from service.text.case_words import CLOSE_OUTCOME
from service.text.minutes_words import INTERVENTION_KIND, SEND_TO, WHO
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import ANNA, INTAKE_USER, post_signed, start_slack_api
from tests.slack.test_reminders import FIXED
from tests.support import Api, SmtpSink, local_now, wait_until

META = {"case_ref": "anna-1"}
TODAY = local_now().date().isoformat()
# (user, modal, values) for each modal the bot opens.
MODALS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "meeting": (ANNA, blocks.meeting_modal("anna-1", META, list(PLACE_WORDS.items()),
                                           list(WHO.items()), list(SEND_TO.items())),
                {"place": "workplace", "employer_took_part": "yes"}),
    "intervention": (ANNA, blocks.intervention_modal(
        "anna-1", TODAY, META, [(k, INTERVENTION_KIND[k]) for k in INTERVENTION_KINDS]),
                     {"started_on": TODAY, "kind": "partial_return"}),
    "close": (ANNA, blocks.close_modal("anna-1", TODAY, META, list(CLOSE_OUTCOME.items()),
                                       MAX_CLOSE_NOTE),
              {"outcome": "recovered", "on": TODAY}),
    "owner": (INTAKE_USER, blocks.owner_modal("anna-1", [("bo", "Bo")],
                                              [("capacity", "Kapacitet")], META, 500),
              {"consultant": "bo", "category": "capacity"}),
}


@pytest.fixture
async def api(demo_config: MunicipalityConfig, sqlite_url: str, slack_api: FakeSlackApi,
              smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for running in start_slack_api(demo_config, sqlite_url, slack_api, smtp_sink.port):
        await intake(running, body("anna-1", employer=FIXED))
        yield running


async def submit(api: Api, name: str, metadata: Any = None,
                 values: dict[str, str] | None = None) -> dict[str, Any]:
    user, view, defaults = MODALS[name]
    if metadata is not None:
        view = {**view, "private_metadata": metadata}
    resp = await post_signed(api, view_submission(user, view, {**defaults, **(values or {})}))
    assert resp.status == 200, (name, metadata, await resp.text())
    text = await resp.text()
    return json.loads(text) if text.strip() else {}


async def the_case(api: Api) -> Case:
    async with api.client.app[DB].read() as session:
        return (await session.execute(select(Case).where(Case.case_ref == "anna-1"))
                ).unique().scalar_one()


async def test_metadata_the_bot_did_not_write_is_a_clear_error(api: Api) -> None:
    for metadata in ("ikke json", '{"case_ref": "anna-1"', "[1]", '{"case_ref": 5}', "null",
                     '""', '{"channel": "D0DEMO001"}', 5, {"case_ref": "anna-1"}, ["anna-1"],
                     True):
        for name in MODALS:
            answer = await submit(api, name, metadata)
            assert answer.get("response_action") == "errors", (name, metadata, answer)
            assert list(answer["errors"].values()) == [STALE_FORM], (name, answer)
    case = await the_case(api)
    assert case.closed_on is None and case.intervention_started_on is None
    assert case.owner is not None and case.owner.key == "anna"


async def test_text_fields_keep_to_the_apis_limits(api: Api) -> None:
    note_limit = max_length_of(CaseClose, "note")
    assert note_limit == MAX_CLOSE_NOTE
    assert blocks.close_modal("k", TODAY, META, [], note_limit)["blocks"][3]["element"][
        "max_length"] == note_limit
    answer = await submit(api, "close", values={"note": "x" * 100_000 + "\x00"})
    assert answer == {"response_action": "errors", "errors": {
        "note": "Noten indeholder tegn, der ikke kan gemmes (fx NUL-tegnet)."}}
    answer = await submit(api, "close", values={"note": "x" * (note_limit + 1)})
    assert answer == {"response_action": "errors", "errors": {
        "note": f"Noten må højst være {note_limit} tegn."}}
    answer = await submit(api, "close", values={"outcome": "recovered", "on": "2026-02-30"})
    assert answer["errors"] == {"on": "Vælg en dato."}
    assert (await the_case(api)).closed_on is None
    answer = await submit(api, "owner", values={"owner_note": "x" * (MAX_OWNER_NOTE + 1)})
    assert answer == {"response_action": "errors", "errors": {
        "owner_note": f"Noten må højst være {MAX_OWNER_NOTE} tegn."}}
    answer = await submit(api, "owner", values={"owner_note": "a\x00b"})
    assert answer["errors"] == {
        "owner_note": "Noten indeholder tegn, der ikke kan gemmes (fx NUL-tegnet)."}
    case = await the_case(api)
    assert case.owner is not None and case.owner.key == "anna"
    # Within the limits both are taken.
    assert await submit(api, "owner", values={"owner_note": "y" * MAX_OWNER_NOTE}) == {}
    assert (await the_case(api)).owner_reasons[0].endswith("y" * MAX_OWNER_NOTE)


async def test_a_meeting_is_registered_with_both_answers(api: Api) -> None:
    """Neither question of the meeting modal is optional (its minutes are): the employer
    question has an answer for a meeting that was not held, and a held meeting needs yes or
    no."""
    _, view, _ = MODALS["meeting"]
    assert [b["block_id"] for b in view["blocks"]
            if b.get("type") == "input" and not b.get("optional")] == [
        "place", "employer_took_part"]
    answer = await submit(api, "meeting", values={"employer_took_part": "not_held"})
    assert answer["errors"] == {"employer_took_part": "Mødet blev holdt: svar ja eller nej."}


async def test_an_intervention_is_registered_with_its_kind(api: Api) -> None:
    """Issue 20: the intervention modal asks for the kind (the use case's list); a partial
    return keeps the case open."""
    answer = await submit(api, "intervention", values={"kind": ""})
    assert answer["errors"] == {"kind": "Vælg, hvilken indsats det er."}
    answer = await submit(api, "intervention", values={"kind": "holiday"})
    assert list(answer["errors"]) == ["kind"]
    assert await submit(api, "intervention") == {}
    async with api.client.app[DB].read() as session:
        kinds = list((await session.execute(select(Intervention.kind))).scalars())
    case = await the_case(api)
    assert kinds == ["partial_return"] and case.closed_on is None
    assert case.intervention_started_on is not None


async def test_clicks_of_another_shape_are_answered(api: Api, slack_api: FakeSlackApi
                                                    ) -> None:
    """Signed interactions whose parts have other types than Slack's: acknowledged (or 400
    when bolt cannot read them), nothing done, never a 5xx; a modal Slack will not open (an
    expired trigger) is told to the user."""
    for changes in ({"user": "U0DEMO001"}, {"user": None}, {"container": "x"},
                    {"channel": 5, "container": ["D0DEMO001"]}, {"trigger_id": 7}):
        for action in ("contact_citizen", "close_case", "change_owner"):
            payload = {"type": "block_actions", "user": {"id": ANNA}, "trigger_id": "1.x.y",
                       "actions": [{"type": "button", "action_id": action, "block_id": "b",
                                    "value": "anna-1", "action_ts": "1"}], **changes}
            resp = await post_signed(api, urlencode({"payload": json.dumps(payload)}))
            assert resp.status in (200, 400), (changes, action, await resp.text())
    assert (await the_case(api)).closed_on is None
    resp = await post_signed(api, block_action(ANNA, "close_case", "anna-1", "expired.trigger",
                                               "D0DEMO001", "1764230400.000001"))
    assert resp.status == 200
    told = await wait_until(lambda: [p.text for p in slack_api.conversation("D0DEMO001")
                                     if p.ephemeral_for == ANNA], what="Anna told")
    assert told == [COULD_NOT_OPEN]


async def test_the_modals_offer_the_use_cases_choices_and_limits(api: Api,
                                                                 slack_api: FakeSlackApi
                                                                 ) -> None:
    """The close and meeting modals opened by a click list the use cases' own choices (the
    close outcomes in the words every page uses) and the close note's limit of the API."""
    wanted = {
        blocks.CLOSE_CASE: ("outcome", [(o, CLOSE_OUTCOME[o]) for o in CLOSE_OUTCOMES]),
        blocks.REGISTER_MEETING: ("place", [(p, PLACE_WORDS[p]) for p in PLACES]),
        blocks.REGISTER_INTERVENTION: ("kind", [(k, INTERVENTION_KIND[k])
                                                for k in INTERVENTION_KINDS])}
    for action, (block_id, choices) in wanted.items():
        resp = await post_signed(api, block_action(ANNA, action, "anna-1",
                                                   slack_api.issue_trigger(ANNA)))
        assert resp.status == 200
        opened = await wait_until(lambda: slack_api.open_view(ANNA), what="a modal")
        block = next(b for b in opened.view["blocks"] if b.get("block_id") == block_id)
        assert [(o["value"], o["text"]["text"]) for o in block["element"]["options"]] == \
            choices, action
        if action == blocks.CLOSE_CASE:
            note = next(b for b in opened.view["blocks"] if b.get("block_id") == "note")
            assert note["element"]["max_length"] == MAX_CLOSE_NOTE == 1000
        slack_api.close_view(opened.view_id)
    # "other_municipality" reads as on every page, not as a word of Slack's own.
    assert ("other_municipality", "Flyttet til anden kommune") in wanted[blocks.CLOSE_CASE][1]


async def test_the_meeting_modal_takes_the_minutes(api: Api, slack_api: FakeSlackApi) -> None:
    """Issue 20 item 1 in Slack: the meeting modal takes the minutes as the API and the page
    do (agreements, the plan back to full time, a retention plan, whom to send them, when it
    was held) — never the staff-only note — checked by the same use case, each error in
    Danish on its block."""
    async with api.client.app[DB].write() as session:
        for meeting in (await session.execute(select(Meeting))).unique().scalars():
            start = local_now().replace(second=0, microsecond=0) - timedelta(hours=3)
            meeting.start, meeting.end = start, start + timedelta(hours=1)
    resp = await post_signed(api, block_action(ANNA, blocks.REGISTER_MEETING, "anna-1",
                                               slack_api.issue_trigger(ANNA)))
    assert resp.status == 200
    opened = await wait_until(lambda: slack_api.open_view(ANNA), what="the meeting modal")
    view = opened.view
    ids = [b.get("block_id") for b in view["blocks"]]
    assert {"agreement-0-what", "agreement-0-who", "agreement-0-due", "step-0-from",
            "step-0-hours", "full_time_from", "retention_plan_requested", "send_to",
            "held_on", "held_time"} <= set(ids)
    assert not [i for i in ids if i and "note" in i]  # the note is written on the page
    assert "Noter skrives på sagssiden" in json.dumps(view, ensure_ascii=False)
    who = next(b for b in view["blocks"] if b.get("block_id") == "agreement-0-who")
    assert [o["value"] for o in who["element"]["options"]] == list(WHO)

    held = local_now().replace(second=0, microsecond=0) - timedelta(hours=1)
    today = held.date()
    soon, later = (today + timedelta(days=7)).isoformat(), (today + timedelta(days=21)).isoformat()
    good = {"place": "workplace", "employer_took_part": "yes",
            "held_on": held.date().isoformat(), "held_time": held.strftime("%H:%M"),
            "agreement-0-what": "Find opgaver uden tunge løft", "agreement-0-who": "employer",
            "agreement-0-due": soon,
            "agreement-1-what": "Ring til arbejdsgiveren", "agreement-1-who": "consultant",
            "agreement-1-due": later,
            "step-0-from": soon, "step-0-hours": "12,5", "step-1-from": later,
            "step-1-hours": "25", "full_time_from": (today + timedelta(days=35)).isoformat(),
            "retention_plan_requested": "ja", "send_to": ["employer"]}

    async def refused(**changes: Any) -> dict[str, str]:
        resp = await post_signed(api, view_submission(ANNA, view, {
            k: v for k, v in {**good, **changes}.items() if v is not None}))
        answer = json.loads(await resp.text())
        assert answer.get("response_action") == "errors", (changes, answer)
        return dict(answer["errors"])

    assert await refused(**{"agreement-1-who": None}) == {
        "agreement-1-who": "Aftale 2, hvem: vælg en af mulighederne."}
    assert list(await refused(**{"agreement-0-what": None})) == ["agreement-0-what"]
    assert list(await refused(**{"agreement-0-due": None})) == ["agreement-0-due"]
    assert list(await refused(**{"step-1-hours": "mange"})) == ["step-1-hours"]
    assert list(await refused(**{"step-0-hours": "81"})) == ["step-0-hours"]
    assert await refused(**{"full_time_from": soon}) == {
        "full_time_from": "Fuld tid fra: skal ligge efter planens sidste trin."}
    assert await refused(held_time=None) == {
        "held_time": "Vælg både dato og klokkeslæt – eller ingen af dem."}
    future = local_now() + timedelta(hours=2)
    assert list(await refused(held_on=future.date().isoformat(),
                              held_time=future.strftime("%H:%M"))) == ["held_on"]
    assert list(await refused(place="not_held", employer_took_part="not_held", held_on=None,
                              held_time=None)) == [
        "agreement-0-what"]  # minutes only for a meeting that was held
    async with api.client.app[DB].read() as session:
        assert (await session.execute(select(Meeting.status))).scalars().all() != ["held"]

    resp = await post_signed(api, view_submission(ANNA, view, good))
    assert resp.status == 200 and not (await resp.text()).strip(), await resp.text()
    async with api.client.app[DB].read() as session:
        meeting = (await session.execute(select(Meeting).where(Meeting.status == "held"))
                   ).unique().scalar_one()
        tasks = (await session.execute(select(ConsultantTask.text, ConsultantTask.due_on)
                                       .where(ConsultantTask.kind == "agreement"))).all()
        mails = (await session.execute(select(OutboxMessage.recipient).where(
            OutboxMessage.kind == "meeting_minutes"))).scalars().all()
    assert (meeting.held_at, meeting.place, meeting.employer_took_part) == (
        held.replace(tzinfo=None), "workplace", True)
    assert meeting.agreements == [
        {"what": "Find opgaver uden tunge løft", "who": "employer", "due": soon},
        {"what": "Ring til arbejdsgiveren", "who": "consultant", "due": later}]
    assert meeting.return_plan == {"steps": [{"from": soon, "hours_per_week": 12.5},
                                             {"from": later, "hours_per_week": 25.0}],
                                   "full_time_from": (today + timedelta(days=35)).isoformat()}
    assert meeting.retention_plan_requested is True and meeting.minutes_note is None
    assert [(t, d.isoformat()) for t, d in tasks] == [("Aftale: Ring til arbejdsgiveren", later)]
    assert mails == [FIXED["contact_email"]]
