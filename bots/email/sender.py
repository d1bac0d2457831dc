"""Sending one email over SMTP with aiosmtplib, and telling temporary from permanent failures.

The outbox deliverer retries temporary failures and marks permanent ones (a 5xx for the
recipient or the message, a malformed address, a message that cannot be built — e.g. a line
break in its subject) as failed for staff to see. A temporary failure is the recipient's (a
4xx to RCPT TO: a full mailbox, greylisting), retried until the channel gives up, or the
municipality's own relay's (`ServerUnavailable`: refused, timed out, TLS, login, HELO, the
sender refused, a 4xx to the session or the data), retried until the relay is back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from bots.delivery import PermanentFailure, ServerUnavailable, TemporaryFailure
from bots.email.subject import subject_header

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """Everything needed to build one message; `message_id` is stable across retries."""

    message_id: str
    sender_address: str
    sender_name: str
    recipient: str
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    calendar: bytes | None = None  # an iCalendar file shown inline by mail clients
    calendar_method: str = "REQUEST"  # its METHOD: REQUEST or CANCEL


def build_message(email: OutgoingEmail) -> EmailMessage:
    """A multipart/alternative message (plain text + HTML), calendar and attachments added."""
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, email.sender_address))
    message["To"] = email.recipient
    message.set_raw("Subject", subject_header(email.subject))  # folded at spaces only
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text, subtype="plain", charset="utf-8")
    if email.html is not None:
        message.add_alternative(email.html, subtype="html", charset="utf-8")
    if email.calendar is not None:
        message.add_alternative(email.calendar.decode("utf-8"), subtype="calendar",
                                charset="utf-8", params={"method": email.calendar_method})
    for attachment in email.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *parameters = rest.split(";")
        params = dict(p.strip().partition("=")[::2] for p in parameters if "=" in p)
        if maintype == "text":
            # Our text files (the .ics) are UTF-8: said so, or a reader guesses (æøå garbled).
            params.setdefault("charset", "utf-8")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype.strip(),
                               filename=attachment.filename, params=params)
    return message


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 30.0


class SmtpSender:
    """Sends messages to one SMTP server (a new connection per message: simple and robust)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, email: OutgoingEmail) -> None:
        """Send, or raise `TemporaryFailure` / `PermanentFailure`."""
        if not _ADDRESS.match(email.recipient):
            raise PermanentFailure(f"invalid recipient address {email.recipient!r}")
        try:
            message = build_message(email)
            message.as_bytes()  # what cannot be written now never can: fail before connecting
        except (ValueError, TypeError, LookupError, MessageError) as exc:
            # e.g. a line break in a subject: no retry makes this message possible.
            raise PermanentFailure(f"the message cannot be built: {type(exc).__name__}: "
                                   f"{exc}") from None
        s = self.settings
        try:
            await aiosmtplib.send(
                message, hostname=s.host, port=s.port, username=s.username,
                password=s.password, start_tls=s.starttls if not s.tls else False,
                use_tls=s.tls, timeout=s.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:  # the recipient's: theirs to mend
            codes = [r.code for r in exc.recipients]
            if all(400 <= code < 500 for code in codes):
                raise TemporaryFailure(f"recipient refused for now: {exc}") from None
            raise PermanentFailure(f"recipient refused: {exc}") from None
        except aiosmtplib.SMTPRecipientRefused as exc:
            if 400 <= exc.code < 500:
                raise TemporaryFailure(f"recipient refused for now: {exc}") from None
            raise PermanentFailure(f"recipient refused: {exc}") from None
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:  # this message refused (its size, its content)
                raise PermanentFailure(f"message refused: {exc.code} {exc.message}") from None
            raise ServerUnavailable(f"mail server: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:
            # the session's: greeting, HELO, login, STARTTLS, MAIL FROM — the relay's
            raise ServerUnavailable(f"mail server: {type(exc).__name__}: {exc.code} "
                                    f"{exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # refused, timed out, disconnected, TLS: the relay cannot be reached
            raise ServerUnavailable(f"mail server unreachable: {type(exc).__name__}: "
                                    f"{exc}") from None
