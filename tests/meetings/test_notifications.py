"""Invitations from a planning run: one that fails never blocks the others."""

from __future__ import annotations

from typing import Any

import pytest

from service.keys import NOTIFIER
from service.platform.db.models import Meeting
from tests.conftest import Api, SmtpSink
from tests.meetings.email_cases import body, intake, meeting_of


async def test_one_failing_invitation_does_not_block_the_others(
        mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = mail_api.client.app[NOTIFIER]
    real_invite = flow.invite

    async def invite(session: Any, meeting: Meeting) -> None:
        if meeting.case.case_ref == "bad":
            raise RuntimeError("template broke")
        await real_invite(session, meeting)

    monkeypatch.setattr(flow, "invite", invite)
    await intake(mail_api, body("bad"), body("good", employer={
        "cvr": "55667788", "name": "Brande Byg", "contact_email": "byg@brande.example",
        "location": {"lat": 55.94, "lon": 9.12}}))
    await smtp_sink.wait_for(lambda m: m["To"] == "byg@brande.example")
    assert (await meeting_of(mail_api, "good"))["invited_at"] is not None
    bad = await meeting_of(mail_api, "bad")
    assert bad is not None and bad["invited_at"] is None  # planned, not lost
    tasks = await (await mail_api.client.get("/api/tasks", headers=mail_api.auth("intake"))
                   ).json()
    assert [t["kind"] for t in tasks["tasks"] if t["case_id"] == "bad"] == ["invitation_failed"]
