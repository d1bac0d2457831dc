"""The citizen's talk page remembers: opened again after the button (or with the wish made
another way), it says the wish is registered — with the talk's planned time once there is
one, or that it was held — instead of offering the talk and its button anew."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.keys import DB, JOBS
from service.platform.db.models import Case
from service.text.danish import danish_slot
from tests.meetings.email_cases import CITIZEN, body, intake
from tests.meetings.test_private_talk import (
    FIRST_CONTACT,
    _rows,
    _talk_link,
    _talks,
    talk_begun,
)
from tests.support import Api, SmtpSink

BUTTON = "Jeg vil gerne tale med min konsulent først"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


async def test_the_page_shows_the_wish_and_the_talk_once_registered(
        mail: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail, body("TP-1"))
    first = (await smtp_sink.wait_for(lambda m: m["To"] == CITIZEN
                                      and FIRST_CONTACT in str(m["Subject"])))[0]
    path = _talk_link(first)
    page = await (await mail.client.get(path)).text()
    assert BUTTON in page and 'id="talk-standing"' not in page
    csrf = _csrf(page)

    # The wish stands, no time yet (planning has not run): registered, no button.
    async with mail.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "TP-1"))
                ).unique().scalar_one()
        case.private_talk_first = True
    page = await (await mail.client.get(path)).text()
    assert "Dit ønske er registreret" in page and BUTTON not in page
    assert "Vil du alligevel ikke have samtalen, så ring til" in page
    async with mail.client.app[DB].write() as session:
        case = (await session.execute(select(Case).where(Case.case_ref == "TP-1"))
                ).unique().scalar_one()
        case.private_talk_first = False

    # The button, then the page opened again: the planned time, no offer.
    resp = await mail.client.post(path, data={"csrf": csrf},
                                  allow_redirects=False)
    assert resp.status == 303
    await mail.client.app[JOBS].wait_idle()
    _, meetings = await _rows(mail, "TP-1")
    (talk,) = _talks(meetings)
    page = await (await mail.client.get(path)).text()
    assert BUTTON not in page and 'name="csrf"' not in page
    assert "Dit ønske er registreret" in page
    assert f"planlagt til <strong>{danish_slot(talk.start, talk.end)}</strong>" in page
    assert "vil du alligevel ikke have samtalen" in page

    # Held (once its time has come): the page says so.
    await talk_begun(mail, talk.id)
    resp = await mail.client.post("/api/cases/TP-1/private-talk", json={"outcome": "held"},
                                  headers=mail.auth("manager"))
    assert resp.status == 200, await resp.text()
    await mail.client.app[JOBS].wait_idle()
    page = await (await mail.client.get(path)).text()
    assert "Du har haft din samtale med" in page and BUTTON not in page
