"""The employer's link: signed, expiring, bound to one meeting; its forms carry a CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from service.keys import DB, LINKS
from service.platform.db.models import Meeting
from tests.meetings.email_cases import body, form_token, intake, invitation, meeting_of
from tests.support import Api, SmtpSink, link_path, today_local


async def test_bad_tokens_and_csrf(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("s1"))
    path = link_path(await invitation(smtp_sink))
    token = path.removeprefix("/m/")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    resp = await mail_api.client.get(f"/m/{tampered}")
    assert resp.status == 403
    assert "96 28 28 28" in await resp.text()  # the jobcentre's phone
    links = mail_api.client.app[LINKS]
    meeting_id = (await _meeting_ids(mail_api))[0]
    expired = links.token(meeting_id, today_local() - timedelta(days=1))
    resp = await mail_api.client.get(f"/m/{expired}")
    assert resp.status == 410
    assert "udløbet" in await resp.text()
    unknown = links.token(999_999, today_local() + timedelta(days=5))
    assert (await mail_api.client.get(f"/m/{unknown}")).status == 404
    other = type(links)("another-secret-key-" + "y" * 32, "demo", links.clock).token(
        meeting_id, today_local() + timedelta(days=5))
    assert (await mail_api.client.get(f"/m/{other}")).status == 403
    # POST without the form token, with a wrong one, and from another site's page.
    page = await (await mail_api.client.get(path)).text()
    slot = re.findall(r'name="slot" value="([^"]+)"', page)[0]
    assert (await mail_api.client.post(f"{path}/confirm", data={"slot": slot})).status == 403
    assert (await mail_api.client.post(f"{path}/confirm", data={
        "slot": slot, "csrf": "0" * 64})).status == 403
    csrf = await form_token(mail_api, path)
    resp = await mail_api.client.post(f"{path}/confirm", data={"slot": slot, "csrf": csrf},
                                      headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await meeting_of(mail_api, "s1"))["status"] == "proposed"
    # Another meeting's form token does not work on this meeting.
    other_csrf = links.form_token(unknown)
    assert (await mail_api.client.post(f"{path}/confirm", data={
        "slot": slot, "csrf": other_csrf})).status == 403


async def _meeting_ids(api: Api) -> list[int]:
    async with api.client.app[DB].read() as session:
        return list((await session.execute(select(Meeting.id).order_by(Meeting.id))).scalars())
