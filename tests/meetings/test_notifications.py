"""Invitations from a planning run: one that fails never blocks the others."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.keys import NOTIFIER
from service.platform.db.models import Meeting
from service.text.danish import short_date
from tests.meetings.email_cases import body, intake, invitation, meeting_of
from tests.support import Api, SmtpSink, link_path, text_part


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


async def test_without_the_employees_name_the_mail_reads_well_and_names_the_case(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    nameless = body("n1", citizen={"email": "borger@example.org"})
    await intake(mail_api, nameless)
    mail = await invitation(smtp_sink)
    text = text_part(mail)
    since = short_date(date.fromisoformat(nameless["first_absence_day"]))
    assert f"jeres medarbejder, der er sygemeldt fra {since}" in str(mail["Subject"]) + text
    assert "jeres medarbejder jeres medarbejder" not in text
    assert "medarbejder medarbejderen" not in text and "om medarbejderen" not in text
    page = await (await mail_api.client.get(link_path(mail))).text()
    assert f"sygemeldt fra {since}" in page
