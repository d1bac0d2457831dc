"""The .ics attachment says its charset: the calendar text is UTF-8 with æøå, and a part
`text/calendar; method="REQUEST"` without `charset` leaves the reader to guess."""

from __future__ import annotations

from bots.email.sender import Attachment, OutgoingEmail, build_message
from tests.meetings.email_cases import (
    EMPLOYER,
    body,
    calendar_parts,
    confirm_first_time,
    intake,
    invitation,
)
from tests.support import Api, SmtpSink, link_path

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Opfølgningsmøde på arbejdspladsen\r\n" \
      "END:VCALENDAR\r\n".encode()


def test_a_text_attachment_is_labelled_utf8() -> None:
    message = build_message(OutgoingEmail(
        message_id="<1@example.org>", sender_address="jc@example.org", sender_name="Jobcenter",
        recipient="leder@example.org", subject="Bekræftet", text="Hej",
        attachments=[Attachment("moede.ics", "text/calendar; method=REQUEST", ICS)]))
    (part,) = [p for p in message.walk() if p.get_filename() == "moede.ics"]
    assert part.get_content_type() == "text/calendar"
    assert part.get_content_charset() == "utf-8" and part.get_param("method") == "REQUEST"
    assert part.get_payload(decode=True) == ICS


async def test_the_confirmations_calendar_parts_say_utf8(mail_api: Api, smtp_sink: SmtpSink
                                                         ) -> None:
    await intake(mail_api, body("ics-cs"))
    await confirm_first_time(mail_api, link_path(await invitation(smtp_sink)))
    (mail,) = await smtp_sink.wait_for(lambda m: m["To"] == EMPLOYER
                                       and "Bekræftet" in str(m["Subject"]))
    parts = calendar_parts(mail)
    assert len(parts) == 2  # inline and attached
    for part in parts:
        assert part.get_content_charset() == "utf-8", part["Content-Type"]
        assert "Opfølgningsmøde" in part.get_payload(decode=True).decode("utf-8")
