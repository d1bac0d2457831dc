"""The employer's decline form without a reason comes back with the error and with what they
typed in the note (escaped), not as a redirect that empties it — and the note is never put
in a URL (it may name an illness)."""

from __future__ import annotations

from tests.meetings.email_cases import body, form_token, intake, invitation
from tests.support import Api, SmtpSink, link_path

NOTE = 'Hun er sygemeldt med stress & vi har <ingen> "rolige" lokaler'


async def test_the_typed_note_stays_in_the_form(mail_api: Api, smtp_sink: SmtpSink) -> None:
    await intake(mail_api, body("note-1"))
    path = link_path(await invitation(smtp_sink))
    resp = await mail_api.client.post(
        f"{path}/decline", data={"csrf": await form_token(mail_api, path), "reason": NOTE},
        allow_redirects=False)
    assert resp.status == 422 and "Location" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    assert 'id="decline-error"' in page and "<details open>" in page
    assert ">Hun er sygemeldt med stress &amp; vi har &lt;ingen&gt; &#34;rolige&#34; " \
           "lokaler</textarea>" in page
    assert 'action="' + path + '/decline"' in page
    # Opened again, the page does not hold on to it.
    again = await (await mail_api.client.get(path)).text()
    assert "stress" not in again
