"""The email flow (issue 5) wired into the app: outbox deliverer, reminders, employer link
pages, staff outbox API and — in demo mode — the local SMTP sink with its mailbox page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web

from service import demo_mailbox, employer_pages
from service.api import meetings as meetings_api
from service.api import outbox as outbox_api
from service.api import tasks as tasks_api
from service.background import finish_or_cancel
from service.invitations import EMAIL_FLOW, EmailFlow
from service.links import MeetingLinks
from service.meeting_answers import MeetingAnswers
from service.outbox import OUTBOX, OutboxDeliverer, SenderIdentity, running, smtp_sender_from
from service.timeutil import COPENHAGEN

log = logging.getLogger("fasthold.email")

REMINDER_INTERVAL_SECONDS = 15 * 60
REMINDER_HOURS = (7, 18)  # reminders go out in the daytime (Danish time), not at night


async def _reminders(flow: EmailFlow, stop: asyncio.Event) -> None:
    """Every quarter of an hour; stops between rounds, never inside a database call."""
    while not stop.is_set():
        try:
            if REMINDER_HOURS[0] <= datetime.now(COPENHAGEN).hour < REMINDER_HOURS[1]:
                await flow.send_due_reminders()
        except Exception:
            log.exception("reminder round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REMINDER_INTERVAL_SECONDS)


def _email_ctx(demo: bool) -> object:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        from service.app import CONFIG, SECRETS
        from service.http import DB

        config, secrets = app[CONFIG], app[SECRETS]
        sink: demo_mailbox.DemoSmtp | None = None
        override = None
        if demo and not secrets.smtp_host:
            sink = demo_mailbox.DemoSmtp()
            sink.start()
            app[demo_mailbox.DEMO_SMTP] = sink
            override = ("127.0.0.1", sink.port)
            log.info("demo mail sink on 127.0.0.1:%s; mails at /demo/mailbox", sink.port)
        deliverer = OutboxDeliverer(
            app[DB], config.municipality.id,
            SenderIdentity(config.mail.from_address, config.mail.from_name),
            smtp_sender_from(secrets, override), poll_seconds=config.mail.poll_seconds)
        links = MeetingLinks(secrets.secret_key, config.municipality.id)
        flow = EmailFlow(app[DB], config, links, deliverer,
                         link_days_after_deadline=config.mail.link_valid_days_after_deadline,
                         reminder_after_working_days=config.mail.reminder_after_working_days)
        app[OUTBOX] = deliverer
        app[EMAIL_FLOW] = flow
        app[employer_pages.LINKS] = links
        stop = asyncio.Event()
        reminders = asyncio.create_task(_reminders(flow, stop), name="email-reminders")
        try:
            async with running(deliverer):
                yield
        finally:
            stop.set()
            await finish_or_cancel(reminders, timeout=60)
            if sink is not None:
                sink.stop()

    return ctx


async def _answers_ctx(app: web.Application) -> AsyncIterator[None]:
    from service.intake import INTAKE
    from service.planning import PLANNER

    app[employer_pages.ANSWERS] = MeetingAnswers(app[EMAIL_FLOW].db, app[EMAIL_FLOW],
                                                 app[INTAKE], app[PLANNER])
    yield


def setup(app: web.Application, *, demo: bool) -> None:
    """Register the email flow's routes and background jobs on the app.

    Called after the database, intake and planner contexts are registered, so the email
    context starts after them; the planner only sends invitations once a run stores results.
    """
    # The email context must exist before the planner stores its first plan: insert it
    # right after the database context.
    app.cleanup_ctx.insert(1, _email_ctx(demo))  # type: ignore[arg-type]
    app.cleanup_ctx.append(_answers_ctx)
    employer_pages.add_routes(app)
    outbox_api.add_routes(app)
    tasks_api.add_routes(app)
    meetings_api.add_routes(app)
    if demo:
        demo_mailbox.add_routes(app)
