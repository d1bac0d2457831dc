"""The email channel of the outbox: an outbox message becomes a MIME email sent over SMTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bots.delivery import OutboundMessage, RetryPolicy
from bots.email.sender import Attachment, OutgoingEmail, SmtpSender, SmtpSettings

CALENDAR_METHODS = ("REQUEST", "CANCEL")

# Quick when a server blips, calm when it is down, and "at least 24 hours" before giving up.
EMAIL_RETRY = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=30),
                          give_up_after=timedelta(hours=26))


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    address: str
    name: str


class EmailChannel:
    """Sends the outbox's email messages from one sender identity through one SMTP server."""

    def __init__(self, smtp: SmtpSettings, identity: SenderIdentity,
                 retry: RetryPolicy = EMAIL_RETRY) -> None:
        self.smtp = SmtpSender(smtp)
        self.identity = identity
        self.retry = retry

    def email(self, message: OutboundMessage) -> OutgoingEmail:
        """`payload["ics"]` (an iCalendar file) goes inline and as an attachment, both marked
        with its METHOD (`payload["ics_method"]`: REQUEST, the default, or CANCEL), which is
        how mail clients know to add, update or remove the event."""
        calendar = message.payload.get("ics")
        data = calendar.encode("utf-8") if isinstance(calendar, str) else None
        method = message.payload.get("ics_method")
        method = method if method in CALENDAR_METHODS else "REQUEST"
        return OutgoingEmail(
            message_id=message.message_id, sender_address=self.identity.address,
            sender_name=self.identity.name, recipient=message.recipient,
            subject=message.subject, text=message.text, html=message.html,
            attachments=[Attachment("moede.ics", f"text/calendar; method={method}", data)]
            if data else [],
            calendar=data, calendar_method=method)

    async def send(self, message: OutboundMessage) -> None:
        await self.smtp.send(self.email(message))
