"""Each case's invitation goes to its own contact person (the sick employee's nearest
manager): a second case of the same CVR with another contact never redirects the first
case's mail (over SMTP, to a real aiosmtpd sink)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import DB
from service.platform.db.models import Employer
from tests.meetings.email_cases import EMPLOYER, body, intake, invitation, planning_held
from tests.support import Api, SmtpSink, mail_config, smtp_secrets, start_api, text_part

OTHER_MANAGER = "anden.leder@sundstrae.example"


@pytest.fixture
async def sqlite_mail_api(demo_config: MunicipalityConfig, sqlite_url: str,
                          smtp_sink: SmtpSink) -> AsyncIterator[Api]:
    async for api in start_api(mail_config(demo_config), smtp_secrets(sqlite_url,
                                                                        smtp_sink.port)):
        yield api


async def test_a_second_case_of_the_cvr_leaves_the_first_cases_mail_with_its_contact(
        sqlite_mail_api: Api, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    api = sqlite_mail_api
    second = body("second", citizen={"name": "Sofie Sørensen", "email": "sofie@example.org"})
    second["employer"] = {**second["employer"], "contact_name": "Anders Anden",
                          "contact_email": OTHER_MANAGER}
    # Both cases in before the planner sends anything: each invitation is written after
    # the second case's intake (which, with one contact per CVR, redirected both).
    async with planning_held(api, monkeypatch):
        await intake(api, body("first"), second)
    first_mail = await invitation(smtp_sink, EMPLOYER)
    second_mail = await invitation(smtp_sink, OTHER_MANAGER)
    assert "Mads Madsen" in text_part(first_mail) and "Lone Berg" in text_part(first_mail)
    assert "Sofie Sørensen" in text_part(second_mail)
    assert "Anders Anden" in text_part(second_mail)
    assert not [m for m in smtp_sink.messages
                if m["To"] == OTHER_MANAGER and "Mads Madsen" in text_part(m)]
    # The CVR's record keeps the company's default contact (the first one given).
    async with api.client.app[DB].read() as session:
        employer = (await session.execute(select(Employer))).scalar_one()
    assert (employer.contact_name, employer.contact_email) == ("Lone Berg", EMPLOYER)
    # The API shows each case's own contact.
    for ref, email in (("first", EMPLOYER), ("second", OTHER_MANAGER)):
        case = await (await api.client.get(f"/api/cases/{ref}", headers=api.auth("intake"))
                      ).json()
        assert case["contact"]["email"] == email
        assert case["employer"]["contact_email"] == email
