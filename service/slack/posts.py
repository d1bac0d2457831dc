"""Where the bot's messages landed in Slack (`slack_posts`), and the e-mail a Slack message
becomes when its recipient cannot get it in Slack — the two things the Slack sender
(`bots.slack.channel.SlackChannel`) asks of the service."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bots.delivery import OutboundMessage
from service.config import MunicipalityConfig
from service.outbox.store import Message, Outbox
from service.platform.db.engine import Database
from service.platform.db.models import Consultant, OutboxMessage, SlackPost

log = logging.getLogger("fasthold.slack")


class PostLog:
    def __init__(self, db: Database, municipality_id: str) -> None:
        self.db = db
        self.municipality_id = municipality_id

    async def posted(self, outbox_id: int) -> tuple[str, str] | None:
        async with self.db.read() as session:
            row = (await session.execute(select(SlackPost).where(
                SlackPost.outbox_id == outbox_id))).scalar_one_or_none()
            return (row.channel, row.ts) if row is not None else None

    async def waiting(self, outbox_id: int) -> bool:
        async with self.db.read() as session:
            status = (await session.execute(select(OutboxMessage.status).where(
                OutboxMessage.id == outbox_id))).scalar_one_or_none()
        return status in ("pending", "sending")

    async def record(self, message: OutboundMessage, channel: str, ts: str) -> None:
        async with self.db.write() as session:
            case_id = (await session.execute(select(OutboxMessage.case_id).where(
                OutboxMessage.id == message.outbox_id))).scalar_one_or_none()
            session.add(SlackPost(municipality_id=self.municipality_id,
                                  outbox_id=message.outbox_id, case_id=case_id,
                                  kind=message.kind, channel=channel, ts=ts))


class EmailInstead:
    """A Slack message to a consultant Slack cannot reach goes to their e-mail address; one
    to a channel (the intake channel) to the jobcentre's address. Once per message."""

    def __init__(self, db: Database, config: MunicipalityConfig, outbox: Outbox) -> None:
        self.db = db
        self.config = config
        self.outbox = outbox

    async def send_by_email(self, message: OutboundMessage, reason: str) -> str | None:
        message_id = f"<slack-fallback-{message.outbox_id}@{self.outbox.domain}>"
        async with self.db.write() as session:
            earlier = (await session.execute(select(OutboxMessage.recipient).where(
                OutboxMessage.message_id == message_id))).scalar_one_or_none()
            if earlier is not None:
                return earlier  # e-mailed when it first failed: once is enough
            to = (await session.execute(select(Consultant.email).where(
                Consultant.municipality_id == self.config.municipality.id,
                Consultant.slack_user_id == message.recipient))).scalar_one_or_none()
            if to is None and not message.recipient.startswith(("U", "W", "D")):
                to = self.config.jobcentre.email
            if to is None:
                return None
            row = (await session.execute(select(OutboxMessage.case_id).where(
                OutboxMessage.id == message.outbox_id))).scalar_one_or_none()
            self.outbox.enqueue(session, Message(
                channel="email", kind="slack_fallback", recipient=to,
                subject=message.subject or "Besked fra fasthold",
                text=(f"{message.text}\n\n(Denne besked kunne ikke leveres i Slack "
                      f"({reason}) og sendes derfor som e-mail.)"),
                case_id=row, message_id=message_id))
        log.warning("Slack message %s could not be delivered (%s): e-mailed instead",
                    message.outbox_id, reason)
        return to
