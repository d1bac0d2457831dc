"""The privacy scan itself: it must catch what it is there to catch, or every mail test that
relies on it proves nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import pytest

from bots.email.dev_sink import ReceivedMail
from tests.privacy import assert_no_private_data
from tests.support import SmtpSink


def mail(subject: str, text: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "jobcenter@demo.example"
    message["To"] = "leder@sundstrae.example"
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


CLEAN = mail("Opfølgningsmøde om Mads Madsen – vælg et tidspunkt",
             "Kære Lone Berg\nVælg et tidspunkt: https://fasthold.example/m/0101901234.abc\n",
             "<p>Kære Lone Berg</p>")


def test_a_clean_mail_passes() -> None:
    assert_no_private_data([CLEAN])  # a link's token may hold digits: it is not prose


@pytest.mark.parametrize(("subject", "text", "html"), [
    ("Møde", "Borgerens CPR er 010190-1234.", None),
    ("Møde", "CPR 0101901234", None),
    ("Møde om 010190-1234", "Kære Lone Berg", None),
    ("Møde", "Kære Lone Berg", "<p>Sygemeldt med en psykisk lidelse</p>"),
    ("Møde", "Diagnosen er kræft.", None),
    ("Møde", "Sygdommen er alvorlig.", None),
    ("Møde", "follow_up excluded: workplace_cause", None),
])
def test_a_cpr_number_or_a_health_word_is_caught(subject: str, text: str,
                                                 html: str | None) -> None:
    with pytest.raises(AssertionError):
        assert_no_private_data([CLEAN, mail(subject, text, html)])


def test_the_demo_sinks_mails_are_scanned_too() -> None:
    def received(text: str, html: str | None = None) -> ReceivedMail:
        return ReceivedMail(number=1, received_at=datetime(2026, 11, 20, tzinfo=UTC),
                            sender="jobcenter@demo.example", recipients=["a@b.example"],
                            subject="Møde", text=text, html=html, attachments=[])

    assert_no_private_data([received("Kære Lone Berg", "<p>Kære Lone Berg</p>")])
    with pytest.raises(AssertionError):
        assert_no_private_data([received("Kære Lone Berg", "<p>cancer</p>")])
    with pytest.raises(AssertionError):
        assert_no_private_data([received("CPR 010190-1234")])


async def test_a_leak_over_real_smtp_is_caught() -> None:
    """A mail with a CPR number, sent over SMTP to a test sink and parsed there, fails the scan
    (the same scan every test's sinks get when the test ends)."""
    sink = SmtpSink().start()
    try:
        await aiosmtplib.send(mail("Møde", "Mads Madsen, 010190-1234, har en diagnose."),
                              hostname="127.0.0.1", port=sink.port)
        await sink.wait_for(lambda m: True)
        with pytest.raises(AssertionError) as caught:
            assert_no_private_data(sink.messages)
        assert "Møde" in str(caught.value)
        sink.messages.clear()  # the leak was planted here on purpose; this test passes
    finally:
        sink.stop()
