"""The bot's Block Kit stays within Slack's limits (Slack refuses the whole message
otherwise): texts, buttons, modal titles, the Home tab's 100 blocks however many cases."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bots.slack import blocks
from bots.slack.blocks import Assignment, CaseCard, HomeItem
from bots.slack.fake_api import _modal_fits
from service.demo.slack_page import EMOJI
from service.slack import notices as notices_module

CARD = CaseCard(case_ref="k" * 64, link="https://fasthold.example/cases/k1",
                follow_up="møde på arbejdspladsen", deadline="mandag den 11. januar 2027",
                meeting="mandag den 30. november 2026 kl. 08.15-09.15 på arbejdspladsen",
                citizen_called="27. november kl. 09.41", note="Ønsker: mandag; formiddag.")


def walk(value: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(value, dict):
        out.append(value)
        for item in value.values():
            out.extend(walk(item))
    elif isinstance(value, list):
        for item in value:
            out.extend(walk(item))
    return out


def within_limits(body: list[dict[str, Any]]) -> None:
    assert len(body) <= 50
    for node in walk(body):
        if node.get("type") == "mrkdwn":
            assert len(node["text"]) <= 3000
        if node.get("type") == "actions":
            assert len(node["elements"]) <= 25
            assert len(node.get("block_id", "")) <= 255
        if node.get("type") == "button":
            assert len(node["text"]["text"]) <= 75 and len(node.get("value", "")) <= 2000


@pytest.mark.parametrize("kind", blocks.KINDS)
def test_every_consultant_message_fits(kind: str) -> None:
    text, body = blocks.case_message(kind, CARD)
    within_limits(body)
    assert "k" * 64 in text and CARD.link in text


def test_the_intake_post_and_modals_fit() -> None:
    _, body = blocks.assignment_message(Assignment("k1", "https://x/cases/k1", "Anna Kjær",
                                                   ["laveste belastning"] * 10, "11. januar"))
    within_limits(body)
    meta = {"case_ref": "k" * 64, "channel": "D0DEMO001", "ts": "1764230400.000001"}
    choices = [(f"c{i}", f"Konsulent nummer {i} med et langt navn (12/37 sager)" * 3)
               for i in range(150)]
    places = [("workplace", "På arbejdspladsen"), ("not_held", "Ikke holdt")]
    outcomes = [("recovered", "Raskmeldt"), ("other_municipality", "Flyttet til anden kommune")]
    for modal in (blocks.meeting_modal("k1", meta, places), blocks.intervention_modal(
            "k1", "2026-11-27", meta), blocks.close_modal("k1", "2026-11-27", meta, outcomes,
                                                          1000),
            blocks.owner_modal("k1", choices, [("other", "Andet")], meta, 500)):
        assert _modal_fits(modal), modal["title"]
        for node in walk(modal):
            if "options" in node:
                assert len(node["options"]) <= 100
                assert all(len(o["text"]["text"]) <= 75 for o in node["options"])


def test_the_home_tab_keeps_to_100_blocks() -> None:
    many = [HomeItem(f"k{i}", f"https://x/cases/k{i}", "frist 3. december") for i in range(300)]
    view = blocks.home_view("Anna Kjær", many, many, many, "https://x/week")
    assert len(view["blocks"]) <= 100
    assert "… og 288 til" in str(view["blocks"])


def test_the_home_tab_names_the_week_it_lists() -> None:
    this_week = str(blocks.home_view("Anna Kjær", [], [], [], "https://x/week"))
    assert "Møder denne uge" in this_week and "Ingen møder resten af ugen." in this_week
    coming = str(blocks.home_view("Anna Kjær", [], [], [], "https://x/week", coming_week=True))
    assert "Møder i den kommende uge" in coming and "Ingen møder i den kommende uge." in coming
    assert "denne uge" not in coming


def _action_ids(body: list[dict[str, Any]]) -> set[str]:
    return {node["action_id"] for node in walk(body) if node.get("type") == "button"
            and "action_id" in node}


def test_a_registered_meeting_leaves_the_next_one_to_register() -> None:
    """After the first meeting is registered, the message about the coming follow-up still
    has "Registrér mødet" (it was gone for every meeting after the first); with no meeting
    coming there is nothing to register."""
    registered = replace(CARD, meeting_registered="på arbejdspladsen")
    for kind in ("meeting_tomorrow", "employer_confirmed"):
        _, coming = blocks.case_message(kind, registered)
        assert blocks.REGISTER_MEETING in _action_ids(coming), kind
        _, none = blocks.case_message(kind, replace(registered, meeting=""))
        assert blocks.REGISTER_MEETING not in _action_ids(none), kind


def test_the_demo_page_shows_every_emoji_the_bot_writes() -> None:
    """Every `:name:` the messages use has its sign on the demo's Slack page (some showed as
    raw codes there)."""
    sources = [Path(blocks.__file__), *Path(notices_module.__file__).parent.glob("*.py")]
    used = {code for path in sources for code in re.findall(r":[a-z_]+:", path.read_text())
            if code not in (":-", "::")}
    assert used and used <= set(EMOJI), sorted(used - set(EMOJI))
