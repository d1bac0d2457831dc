"""The privacy scan of outgoing mail: no CPR number and no health data in any mail a test's
SMTP sink received. Run at the end of every test over the mail that test produced (see
`_scan_mail_of_this_test` in tests/support.py and the demo mailbox's fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from email.message import Message
from typing import Any

CPR = re.compile(r"\b\d{6}-?\d{4}\b")
FORBIDDEN = re.compile(
    r"\b(mental|psykisk\w*|physical|fysisk\w*|kræft|hjerte\w*|lunge\w*|cancer|diagnos\w*|"
    r"serious\w*|alvorlig\w*|workplace_cause|årsag til sygemeldingen|ekskluder\w*|"
    r"exclu\w*|sygdom\w*|010190)\b")


def _contents(message: Any) -> Iterator[str]:
    """Every text a mail carries: each non-multipart part of a parsed message, or the text and
    HTML of a mail kept by the demo's sink (`bots.email.dev_sink.ReceivedMail`)."""
    if isinstance(message, Message):
        for part in message.walk():
            if part.get_content_maintype() == "multipart":
                continue
            content = part.get_content()
            yield content.decode() if isinstance(content, bytes) else str(content)
    else:
        yield message.text
        if message.html is not None:
            yield message.html


def _subject(message: Any) -> str:
    return str(message["Subject"]) if isinstance(message, Message) else message.subject


def assert_no_private_data(messages: Iterable[Any]) -> None:
    """Fail, naming the mail's subject, if any mail shows a CPR number or a health word."""
    for message in messages:
        subject = _subject(message)
        for content in _contents(message):
            text = f"{subject}\n{content}".lower()
            text = re.sub(r"https?://\S+", "", text)  # signed tokens are not prose
            assert not CPR.search(text), subject
            found = FORBIDDEN.search(text)
            assert found is None, (found and found.group(0), subject)


# Citizens' names in the suite's cases: Slack must never show one (employers may).
CITIZEN_NAMES = ("Mads Madsen", "Jens Jensen", "Ib Holm", "Eva Holm")
_SLACK_IDS = re.compile(r"\b\d{10}\.\d{6}\b")  # message timestamps are not CPR numbers


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (keys and values)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def assert_no_private_slack_data(payloads: Iterable[tuple[str, Any]]) -> None:
    """Fail, naming the Web API method, if anything the bot sent to Slack shows a CPR
    number, a citizen's name, or a health or exclusion word (Slack is an external cloud)."""
    for method, args in payloads:
        for content in _strings(args):
            text = re.sub(r"https?://\S+", "", _SLACK_IDS.sub("", content))
            assert not CPR.search(text), (method, content)
            found = FORBIDDEN.search(text.lower())
            assert found is None, (found and found.group(0), method, content)
            for name in CITIZEN_NAMES:
                assert name.lower() not in text.lower(), (name, method, content)
