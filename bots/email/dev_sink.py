"""The development SMTP sink (aiosmtpd): keeps what it receives in memory, so a newcomer can
read the service's mails and click their links without any real mail server — and, given a
folder, also as a Maildir there (stdlib `mailbox`), so a restart of the demo keeps the day's
mails (the envelope and the time received ride along as `X-Fasthold-*` headers)."""

from __future__ import annotations

import logging
import mailbox
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection


@dataclass(frozen=True)
class ReceivedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ReceivedMail:
    number: int
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[ReceivedAttachment]


_RECEIVED, _FROM, _TO = "X-Fasthold-Received", "X-Fasthold-Mail-From", "X-Fasthold-Rcpt-To"


def _lines(text: str) -> str:
    """Line ends as `\n` (SMTP sends CRLF; a Maildir keeps the platform's)."""
    return text.replace("\r\n", "\n")


def _parsed(number: int, received_at: datetime, sender: str, recipients: list[str],
            content: bytes) -> ReceivedMail:
    parsed = message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return ReceivedMail(
        number=number, received_at=received_at, sender=sender, recipients=recipients,
        subject=str(parsed.get("Subject", "")),
        text=_lines(text_part.get_content()) if text_part is not None else "",
        html=_lines(html_part.get_content()) if html_part is not None else None,
        attachments=[ReceivedAttachment(p.get_filename() or f"bilag-{i}",
                                        p.get_content_type(),
                                        p.get_payload(decode=True) or b"")
                     for i, p in enumerate(parsed.iter_attachments(), 1)])


@dataclass
class MailSink:
    """Keeps the last `keep` messages in memory; `now` stamps them (the service's clock);
    `store`: a Maildir folder also keeping them across restarts (read back at start)."""

    now: Callable[[], datetime]
    keep: int = 500
    store: Path | None = None
    messages: list[ReceivedMail] = field(default_factory=list)
    _count: int = 0

    def __post_init__(self) -> None:
        if self.store is None:
            return
        kept = []
        for raw in mailbox.Maildir(self.store, create=True):
            content = bytes(raw)
            try:
                received_at = datetime.fromisoformat(str(raw[_RECEIVED]))
            except (TypeError, ValueError):
                continue  # not one of ours
            kept.append((received_at, str(raw[_FROM] or ""),
                         [r for r in str(raw[_TO] or "").split(",") if r], content))
        kept.sort(key=lambda m: m[0])
        for received_at, sender, recipients, content in kept[-self.keep:]:
            self._count += 1
            self.messages.append(_parsed(self._count, received_at, sender, recipients,
                                         content))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self._count += 1
        received_at, recipients = self.now(), list(envelope.rcpt_tos)
        self.messages.append(_parsed(self._count, received_at, envelope.mail_from,
                                     recipients, envelope.content))
        del self.messages[:-self.keep]
        if self.store is not None:
            stamp = (f"{_RECEIVED}: {received_at.isoformat()}\r\n"
                     f"{_FROM}: {envelope.mail_from}\r\n"
                     f"{_TO}: {','.join(recipients)}\r\n").encode()
            mailbox.Maildir(self.store, create=True).add(stamp + envelope.content)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevSmtp:
    """The aiosmtpd controller on 127.0.0.1 and a free port."""

    def __init__(self, now: Callable[[], datetime], store: Path | None = None) -> None:
        self.sink = MailSink(now, store=store)
        self.port = _free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
