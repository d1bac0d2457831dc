"""The first contact offers the private talk "før mødet på arbejdspladsen" only when a meeting
at the workplace is planned: a case followed up by telephone gets no such offer and no
/samtale link (in the e-mail and in the letter)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bots.email.render import EmailRenderer
from service.keys import DB
from service.platform.db.models import OutboxMessage
from service.text.danish import FILTERS, GLOBALS
from tests.meetings.email_cases import CITIZEN, body, intake
from tests.meetings.test_fix_templates import CONTEXT
from tests.support import Api, SmtpSink, text_part, today_local


@pytest.mark.parametrize("letter", [False, True])
@pytest.mark.parametrize("wished", [False, True])
def test_the_talk_is_offered_only_before_a_workplace_meeting(letter: bool, wished: bool
                                                             ) -> None:
    for workplace in (True, False):
        rendered = EmailRenderer(FILTERS, GLOBALS).render(
            "citizen_first_contact",
            **(CONTEXT | {"workplace": workplace, "letter": letter, "wished": wished}))
        for part in (rendered.text, rendered.html):
            assert ("ret til at tale med" in part) == workplace
            assert ("før mødet på arbejdspladsen" in part) == workplace
            assert (CONTEXT["link"] in part) == (workplace and not wished)
            assert "Med venlig hilsen" in part


async def test_a_telephone_case_gets_no_offer_of_the_talk(mail: Api, smtp_sink: SmtpSink
                                                          ) -> None:
    soon = (today_local() + timedelta(days=7)).isoformat()
    await intake(mail, body("PHONE-1", full_recovery_plan_date=soon))
    resp = await mail.client.get("/api/cases/PHONE-1", headers=mail.auth("intake"))
    assert (await resp.json())["decision"]["follow_up"] == "telephone"
    first = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN and "fastholdelseskonsulent"
                                      in str(m["Subject"])))[0]
    text = text_part(first)
    assert "Snart holder vi et opfølgningsmøde med dig" in text
    assert "ret til at tale med" not in text and "/samtale/" not in text
    async with mail.client.app[DB].read() as session:
        (row,) = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == "citizen_first_contact"))).scalars()
    assert "/samtale/" not in (row.body_html or "")
