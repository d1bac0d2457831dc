"""Small Danish slips in the employer's mails: staff's cancel reason inserted mid-sentence
starts in lower case ("da konsulenten er blevet forhindret", but "da IT-afdelingen …"); a
blank line before "Ring gerne til …"; a nameless case's "der er sygemeldt fra <date>" clause
is closed before the sentence goes on."""

from __future__ import annotations

import re

import pytest

from bots.email.render import EmailRenderer
from service.text.danish import FILTERS, GLOBALS
from tests.meetings.email_cases import body, intake, invitation
from tests.meetings.test_fix_templates import CONTEXT
from tests.support import Api, SmtpSink, link_path, text_part


def _render(name: str, **context: object) -> tuple[str, str]:
    rendered = EmailRenderer(FILTERS, GLOBALS).render(name, **(CONTEXT | context))
    return rendered.text, rendered.html


@pytest.mark.parametrize("was_confirmed", [True, False])
@pytest.mark.parametrize(("reason", "said"), [
    ("Konsulenten er blevet forhindret", "da konsulenten er blevet forhindret."),
    ("IT-afdelingen har lukket bygningen", "da IT-afdelingen har lukket bygningen."),
    ("mødet er flyttet", "da mødet er flyttet."),
])
def test_the_cancel_reason_goes_on_the_sentence(was_confirmed: bool, reason: str, said: str
                                                ) -> None:
    for part in _render("employer_cancelled", reason=reason, cause=None,
                        was_confirmed=was_confirmed):
        assert said in part


@pytest.mark.parametrize("name", ["employer_decline_restored", "employer_decline_received"])
@pytest.mark.parametrize("flag", [True, False])
def test_ring_gerne_is_a_paragraph_of_its_own(name: str, flag: bool) -> None:
    text, _ = _render(name, confirmed=flag, grace=flag)
    assert re.search(r"[^\n]\n\nRing gerne til ", text), text


async def test_a_nameless_case_is_named_by_its_first_day_in_good_danish(
        mail_api: Api, smtp_sink: SmtpSink) -> None:
    data = body("anon-1")
    data["citizen"] = {"email": "anon@example.org"}
    await intake(mail_api, data)
    mail = await invitation(smtp_sink)
    text = text_part(mail)
    day = re.search(r"sygemeldt fra (\d+\. [a-zæø]+)", text)
    assert day, text
    assert f"om jeres medarbejder, der er sygemeldt fra {day[1]}, hos jer på arbejdspladsen" \
        in text
    assert f"om jeres medarbejder (sygemeldt fra {day[1]})" in str(mail["Subject"])
    page = await (await mail_api.client.get(link_path(mail))).text()
    assert f"jeres medarbejder, der er sygemeldt fra {day[1]},</strong> hos jer" in page
