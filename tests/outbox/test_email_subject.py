"""E-mail subjects with long Danish names keep their spaces in every mail client: the Subject
is folded only at spaces, and no encoded word starts or ends where a space was lost. Checked by
sending over real SMTP (aiosmtplib to aiosmtpd) and parsing the raw message back with the
standard library, and by decoding it the strict RFC 2047 way."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from bots.email.sender import OutgoingEmail, SmtpSender, SmtpSettings, build_message
from bots.email.subject import subject_header
from tests.support import SmtpSink

NAMES = ["Karen Østergård", "Søren Æbelø Kjærgård", "Åse Ørsted-Bødtcher Mølgaard Ærenlund",
         "Karen Østergård Christiansen-Møllergaard"]
SUBJECTS = [f"Bekræftet: opfølgningsmøde om {'x' * pad} {name} tirsdag den 10. marts 2026"
            for name in NAMES for pad in range(1, 70, 3)]
_ENCODED = re.compile(r"=\?utf-8\?q\?([^?]*)\?=", re.IGNORECASE)


def _email(subject: str) -> OutgoingEmail:
    return OutgoingEmail(message_id="<s@fasthold.test>", sender_address="jc@fasthold.test",
                         sender_name="Jobcenter", recipient="lone@firma.example",
                         subject=subject, text="Hej")


def _raw_subject(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(r"^Subject: (.*?)\r\n(?! )", head, re.MULTILINE | re.DOTALL)
    assert match is not None
    return match.group(1)


def _strict_decode(value: str) -> str:
    """RFC 2047 the way a strict client reads it: unfold, drop the whitespace between two
    adjacent encoded words, decode each word."""
    unfolded = value.replace("\r\n", "")
    unfolded = re.sub(r"(\?=)\s+(?==\?)", r"\1", unfolded)

    def decode(match: re.Match[str]) -> str:
        text = match.group(1).replace("_", " ")
        data = re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
        return data.encode("latin-1").decode("utf-8")

    return _ENCODED.sub(decode, unfolded)


@pytest.mark.parametrize("subject", SUBJECTS[::5])
def test_a_long_danish_name_keeps_its_spaces_when_parsed_back(subject: str) -> None:
    raw = build_message(_email(subject)).as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["Subject"]) == subject
    assert _strict_decode(_raw_subject(raw)) == subject


def test_every_subject_folds_at_spaces_only_within_the_line_length() -> None:
    for subject in SUBJECTS:
        raw = build_message(_email(subject)).as_bytes(policy=policy.SMTP)
        value = _raw_subject(raw)
        assert all(len(line) <= 78 for line in f"Subject: {value}".split("\r\n")), value
        assert all(len(word) <= 75 for word in _ENCODED.findall(value))
        assert str(message_from_bytes(raw, policy=policy.default)["Subject"]) == subject
        assert _strict_decode(value) == subject, value
        for name in NAMES:
            if name in subject:
                assert name in _strict_decode(value)


def test_a_subject_with_a_line_break_is_refused_as_before() -> None:
    for bad in ("Karen\r\nBcc: x@evil.example", "Karen\u2028Østergård", "Karen\nØ"):
        with pytest.raises(ValueError):
            subject_header(bad)


async def test_sent_over_smtp_the_subject_reads_karen_oestergaard(smtp_sink: SmtpSink) -> None:
    subject = ("Flyttet: forslaget til opfølgningsmøde om xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
               "Karen Østergård tirsdag den 10. marts 2026")
    await SmtpSender(SmtpSettings("127.0.0.1", smtp_sink.port)).send(_email(subject))
    (message,) = await smtp_sink.wait_for(lambda m: True)
    assert str(message["Subject"]) == subject
    assert "Karen Østergård" in str(message["Subject"])
