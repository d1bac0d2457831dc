"""Modal submissions the bot did not write as it wrote them — `private_metadata` that is no
JSON, cut short or of another shape, text longer than the API takes or with a character no
database stores — are answered in the modal with a Danish message naming the field (never a
5xx), and nothing is stored. The Slack modals apply the API's limits for the same fields."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
from service.platform.db.models import INTERVENTION_KINDS, Case, Intervention
from service.platform.slack_replies import max_length_of
from service.text.case_words import CLOSE_OUTCOME
from service.text.minutes_words import INTERVENTION_KIND
from tests.conftest import Api, SmtpSink, local_now, wait_until
from tests.meetings.email_cases import body, intake
from tests.slack.slack_helpers import ANNA, INTAKE_USER, post_signed, start_slack_api
from tests.slack.test_reminders import FIXED

META = {"case_ref": "anna-1"}
TODAY = local_now().date().isoformat()
# (user, modal, values) for each modal the bot opens.
MODALS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "meeting": (ANNA, blocks.meeting_modal("anna-1", META, list(PLACE_WORDS.items())),
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
    """No question in the meeting modal is optional: the employer question has an answer for
    a meeting that was not held, and a held meeting needs yes or no."""
    _, view, _ = MODALS["meeting"]
    assert all(not b.get("optional") for b in view["blocks"] if b.get("type") == "input")
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
