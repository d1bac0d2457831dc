"""The development SMTP sink (aiosmtpd): keeps what it receives in memory, so a newcomer can
read the service's mails and click their links without any real mail server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
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


@dataclass
class MailSink:
    """Keeps the last `keep` messages in memory; `now` stamps them (the service's clock)."""

    now: Callable[[], datetime]
    keep: int = 500
    messages: list[ReceivedMail] = field(default_factory=list)
    _count: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        self._count += 1
        self.messages.append(ReceivedMail(
            number=self._count, received_at=self.now(), sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos), subject=str(parsed.get("Subject", "")),
            text=text_part.get_content() if text_part is not None else "",
            html=html_part.get_content() if html_part is not None else None,
            attachments=[ReceivedAttachment(p.get_filename() or f"bilag-{i}",
                                            p.get_content_type(),
                                            p.get_payload(decode=True) or b"")
                         for i, p in enumerate(parsed.iter_attachments(), 1)]))
        del self.messages[:-self.keep]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevSmtp:
    """The aiosmtpd controller on 127.0.0.1 and a free port."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.sink = MailSink(now)
        self.port = _free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
