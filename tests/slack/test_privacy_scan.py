"""The scan every test's fake Slack gets (tests/support.py `_scan_slack_of_this_test`) must
catch what it is there for, or the Slack tests relying on it prove nothing: a CPR number, a
citizen's name, a diagnosis or an exclusion reason in anything the bot sent. And what the
planner says about a case with a diagnosis group reaches the intake channel without it."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.fake_api import FakeSlackApi
from service.slack.notices import slack_reasons
from tests.privacy import assert_no_private_slack_data


@pytest.mark.parametrize("text", [
    "Sag k1: borgerens CPR er 010190-1234",
    "Ny sag: Mads Madsen",
    "Sygemeldt med en psykisk lidelse",
    "Undtaget: alvorligt syg",
    "follow_up excluded: workplace_cause",
])
async def test_a_leak_in_a_slack_payload_is_caught(text: str) -> None:
    fake = await FakeSlackApi(users={"U1"}).start()
    try:
        client = AsyncWebClient(token=fake.token, base_url=fake.base_url, retry_handlers=[])
        await client.chat_postMessage(channel="U1", text="Ny sag til dig: k1", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Frist 3. december"}}])
        assert_no_private_slack_data(fake.payloads())  # clean so far (ts is no CPR)
        await client.chat_postMessage(channel="U1", text="Ny sag", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        with pytest.raises(AssertionError):
            assert_no_private_slack_data(fake.payloads())
    finally:
        await fake.stop()


def test_the_planners_specialty_reason_loses_its_diagnosis_group() -> None:
    assert slack_reasons(["speciale: psykisk", "laveste belastning", "speciale: fysisk"]) == [
        "matcher konsulentens speciale", "laveste belastning"]
