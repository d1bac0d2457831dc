"""The letter's short code `/samtale/k/294-IDPD-RJJQ` forgives what people type: lower case,
missing dashes, spaces instead of dashes and a 0 read for O (README, "The first contact and
the private talk"); a wrong code is still refused."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from service.clock import SettableClock
from service.keys import NOTIFIER
from service.meetings.links import TALK_LINK_SALT, LinkInvalid, MeetingLinks
from tests.meetings.email_cases import body, case_row_id, intake
from tests.support import Api

LINKS = MeetingLinks("s" * 32, "demo", SettableClock(datetime(2026, 12, 1, tzinfo=UTC)),
                     TALK_LINK_SALT)


def _variants(code: str) -> list[str]:
    ident, first, second = code.split("-")
    return [code, code.lower(), f"{ident}{first}{second}", f"{ident}{first}{second}".lower(),
            f"{ident} {first} {second}", f" {ident} - {first}-{second} ",
            f"{ident}-{first}{second}", f"{ident}{first}-{second}",
            f"{ident}-{(first + second).replace('O', '0')}"]


@pytest.mark.parametrize("ident", [7, 294, 120, 100_000])
def test_typed_codes_name_their_case(ident: int) -> None:
    code = LINKS.short_code(ident)
    for typed in _variants(code):
        assert LINKS.short_id(typed) == ident, typed


@pytest.mark.parametrize("typed", ["", "294", "IDPDRJJQ", "-IDPD-RJJQ", "29x-IDPD-RJJQ",
                                   "294-IDPD-RJJ", "294-ÆDPD-RJJQ", "²94IDPDRJJQ"])
def test_what_is_no_code_is_refused(typed: str) -> None:
    with pytest.raises(LinkInvalid):
        LINKS.short_id(typed)


def test_a_wrong_code_is_refused() -> None:
    code = LINKS.short_code(294)
    wrong = code[:-1] + ("A" if not code.endswith("A") else "B")
    with pytest.raises(LinkInvalid):
        LINKS.short_id(wrong)
    with pytest.raises(LinkInvalid):
        LINKS.short_id(code.replace("294-", "295-", 1))


async def test_the_short_address_opens_the_page_however_typed(mail: Api) -> None:
    data = body("SHORT-1")
    data["citizen"] = {"name": "Mads Madsen"}
    await intake(mail, data)
    case_id = await case_row_id(mail, "SHORT-1")
    code = mail.client.app[NOTIFIER].talk_links.short_code(case_id)
    for typed in _variants(code):
        resp = await mail.client.get(f"/samtale/k/{quote(typed)}", allow_redirects=False)
        assert resp.status == 303, typed
        assert resp.headers["Location"].startswith("/samtale/")
    resp = await mail.client.get(f"/samtale/k/{case_id + 1}{code.split('-', 1)[1]}",
                                 allow_redirects=False)
    assert resp.status == 403
