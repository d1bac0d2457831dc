"""The composition root: builds every area's services with their collaborators, mounts the
areas' routes, and starts and stops the resources with the app (cleanup_ctx)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bots.delivery import ChannelSender
from bots.email.channel import EmailChannel, SenderIdentity
from bots.email.dev_sink import DevSmtp
from bots.email.render import EmailRenderer
from bots.email.sender import SmtpSettings
from bots.slack.channel import SlackChannel, make_client
from bots.slack.fake_api import FakeSlackApi
from bots.slack.listeners import build_app
from rules.engine import RulesEngine
from service.clock import Clock, SystemClock
from service.config import MunicipalityConfig, Secrets
from service.demo import mailbox, slack_page
from service.followup import api as tasks_api
from service.followup import cases_api as closing_api
from service.followup import pages as followup_pages
from service.followup.calendar_feed import CalendarFeeds
from service.followup.closing import CaseClosing
from service.followup.my_work import ConsultantWork
from service.followup.outcomes import CaseOutcomes
from service.followup.tasks import TaskService
from service.intake import api as cases_api
from service.intake import import_page
from service.intake import pages as intake_pages
from service.intake.case_reads import CaseReads
from service.intake.csv_import import CsvImport
from service.intake.service import IntakeService
from service.jobs.catalog import declare_jobs
from service.jobs.runner import InProcessRunner
from service.keys import (
    ANSWERS,
    AUTH,
    CALENDAR_FEEDS,
    CASE_CLOSING,
    CASE_READS,
    CLOCK,
    CONFIG,
    CSV_IMPORT,
    DB,
    DEMO_SESSIONS,
    DEV_SMTP,
    FAKE_SLACK,
    INTAKE,
    JOBS,
    KPIS,
    LINKS,
    MY_WORK,
    NOTIFIER,
    OUTBOX,
    OUTBOX_SERVICE,
    OUTCOMES,
    PAGES,
    PLANNER,
    READ_AUDIT,
    REMINDERS,
    SECRETS,
    SLACK_BOLT,
    SLACK_DESK,
    SLACK_HOME,
    SLACK_SETTINGS,
    STAFF_MEETINGS,
    STAFF_SESSIONS,
    STAFF_USERS,
    TASKS,
    UNANSWERED,
)
from service.kpis import api as kpis_api
from service.kpis import pages as kpi_pages
from service.kpis.figures import KpiService
from service.meetings import api as meetings_api
from service.meetings import pages as employer_pages
from service.meetings.answers import MeetingAnswers
from service.meetings.links import MeetingLinks
from service.meetings.notifications import MeetingNotifier
from service.meetings.owner_change import MeetingsFollowOwner
from service.meetings.reminders import Reminders
from service.meetings.staff import StaffMeetings
from service.meetings.unanswered import UnansweredInvitations
from service.outbox import api as outbox_api
from service.outbox import pages as outbox_pages
from service.outbox.deliverer import OutboxDeliverer
from service.outbox.service import OutboxService
from service.outbox.store import Outbox
from service.planning import api as planning_api
from service.planning.consultants import sync_consultants
from service.planning.service import Planner
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform import health, home, openapi
from service.platform.audit import ReadAudit
from service.platform.auth import Authenticator
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import upgrade_async
from service.platform.http import MAX_JSON_BODY, MAX_REQUEST_LINE, error_middleware
from service.platform.jobqueue import PUBLISH_SLACK_HOME
from service.platform.logs import install_bad_request_filter
from service.platform.pages import Pages, page_errors
from service.platform.pages import add_routes as add_page_routes
from service.platform.security import FailureLimiter, harden_response, limit_failures
from service.platform.sessions import StaffSessions
from service.slack import api as slack_api
from service.slack.desk import ServiceDesk
from service.slack.home import SlackHome
from service.slack.notices import SlackNotices
from service.slack.people import SlackPeople
from service.slack.posts import EmailInstead, PostLog
from service.slack.reminders import ConsultantReminders
from service.slack.settings import SlackSettings, workspace_users
from service.staff import admin as staff_admin
from service.staff import login as staff_login
from service.staff.users import StaffUsers
from service.text.danish import FILTERS, GLOBALS

log = logging.getLogger("fasthold")

# The staff pages' template directories, one per area ("area/name.html").
PAGE_TEMPLATES = {
    "staff": staff_login.TEMPLATES,
    "intake": intake_pages.TEMPLATES,
    "kpis": kpi_pages.TEMPLATES,
    "followup": followup_pages.TEMPLATES,
    "outbox": outbox_pages.TEMPLATES,
}


def _senders(secrets: Secrets, config: MunicipalityConfig, dev_smtp: DevSmtp | None
             ) -> dict[str, ChannelSender]:
    """A sender per channel that can be delivered here (Slack joins with its bot)."""
    identity = SenderIdentity(config.mail.from_address, config.mail.from_name)
    if dev_smtp is not None:
        return {"email": EmailChannel(SmtpSettings("127.0.0.1", dev_smtp.port), identity)}
    if secrets.smtp_host:
        return {"email": EmailChannel(SmtpSettings(
            host=secrets.smtp_host, port=secrets.smtp_port, username=secrets.smtp_username,
            password=secrets.smtp_password, starttls=secrets.smtp_starttls,
            tls=secrets.smtp_tls), identity)}
    return {}


def _services(demo: bool, solver: Solver | None, cipher: DataCipher
              ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config, secrets, clock = app[CONFIG], app[SECRETS], app[CLOCK]
        municipality = config.municipality.id
        db = Database(secrets.database_url, clock)
        await upgrade_async(db.url, cipher)
        async with db.write() as session:
            await sync_consultants(session, config)
        dev_smtp = None
        if demo and not secrets.smtp_host:
            dev_smtp = DevSmtp(clock.now)
            dev_smtp.start()
            app[DEV_SMTP] = dev_smtp
            log.info("demo mail sink on 127.0.0.1:%s; mails at /demo/mailbox", dev_smtp.port)
        slack = SlackSettings.from_secrets(secrets)
        fake_slack = None
        if demo and not slack.sending:
            # No workspace: the bot talks to a local fake Web API, shown on /demo/slack.
            fake_slack = FakeSlackApi(users=workspace_users(config))
            await fake_slack.start()
            slack = slack.on_fake(fake_slack.token, fake_slack.base_url)
            fake_slack.channels.add(slack.intake_channel or "")
            app[FAKE_SLACK] = fake_slack
            log.info("demo Slack Web API on %s; messages at /demo/slack", fake_slack.base_url)
        app[SLACK_SETTINGS] = slack
        jobs = InProcessRunner(clock, [municipality], frozenset(config.planning.closed_dates))
        domain = config.mail.from_address.rpartition("@")[2] or "fasthold.local"
        outbox = Outbox(clock, jobs, municipality, domain)
        links = MeetingLinks(secrets.secret_key, municipality, clock)
        people = SlackPeople(config)
        notices = SlackNotices(
            config, clock, outbox, people, slack.intake_channel,
            on_change=(lambda: jobs.request(PUBLISH_SLACK_HOME, municipality, "change"))
            if slack.sending else None)
        notifier = MeetingNotifier(config, clock, links, outbox, EmailRenderer(FILTERS, GLOBALS),
                                   notices)
        reads = ReadAudit(db, clock)
        intake = IntakeService(db, config, clock, RulesEngine(config.rules.thresholds()), jobs,
                               reads, cipher, owner_listener=notices,
                               owner_meetings=MeetingsFollowOwner(config, clock, notifier))
        await intake.check_data_keys()
        own_solver = solver is None
        planner = Planner(db, config, clock, solver or ProcessPoolSolver(), notifier)
        senders = _senders(secrets, config, dev_smtp)
        if slack.bot_token:
            # No network call here: the client connects when the first message is sent.
            senders["slack"] = SlackChannel(make_client(slack.bot_token, slack.api_url),
                                            PostLog(db, municipality),
                                            EmailInstead(db, config, outbox), clock.utcnow)
        else:
            log.warning("no Slack bot token (FASTHOLD_SLACK_BOT_TOKEN): Slack messages stay "
                        "in the outbox until one is set")
        deliverer = OutboxDeliverer(db, clock, municipality, senders,
                                    on_failed=notices.delivery_failed)
        reminders = Reminders(db, config, clock, notifier,
                              ConsultantReminders(db, config, notices))
        slack_home = SlackHome(db, config, clock, outbox, people, notices)
        answers = MeetingAnswers(db, clock, notifier, intake, jobs)
        jobs.declare(declare_jobs(config, planner, deliverer, reminders,
                                  slack_home if slack.sending else None))
        app[DB], app[JOBS], app[LINKS], app[NOTIFIER] = db, jobs, links, notifier
        app[AUTH], app[READ_AUDIT] = Authenticator(db.read, clock), reads
        app[INTAKE], app[PLANNER], app[OUTBOX], app[REMINDERS] = intake, planner, deliverer, \
            reminders
        app[ANSWERS] = answers
        app[STAFF_MEETINGS] = StaffMeetings(db, municipality, answers, intake)
        app[OUTBOX_SERVICE] = OutboxService(db, clock, jobs, municipality)
        app[TASKS] = TaskService(db, clock, municipality)
        app[CASE_CLOSING] = CaseClosing(db, clock, notifier, intake, jobs)
        app[KPIS] = KpiService(db, config, clock)
        app[MY_WORK] = ConsultantWork(db, config, clock, reads)
        app[CALENDAR_FEEDS] = CalendarFeeds(db, config, clock, notifier)
        app[UNANSWERED] = UnansweredInvitations(db, config, clock)
        sessions = StaffSessions(db, clock, municipality)
        app[STAFF_SESSIONS] = sessions
        app[STAFF_USERS] = StaffUsers(db, config, clock, sessions)
        app[CASE_READS] = CaseReads(db, reads, clock, municipality)
        app[CSV_IMPORT] = CsvImport(intake, app[CASE_READS])
        app[OUTCOMES] = CaseOutcomes(db, clock, intake, jobs)
        app[SLACK_HOME] = slack_home
        app[SLACK_DESK] = desk = ServiceDesk(
            db, config, clock, people, notices, slack_home, app[OUTCOMES], app[CASE_CLOSING],
            intake, reads, jobs)
        if slack.signing_secret and slack.bot_token:
            # /slack/events verifies the signature with the signing secret (service/slack/api)
            app[SLACK_BOLT] = build_app(desk, make_client(slack.bot_token, slack.api_url))
        jobs.start()
        try:
            yield
        finally:
            await jobs.stop()
            await reads.close()
            if own_solver:
                planner.solver.close()
            if dev_smtp is not None:
                dev_smtp.stop()
            if fake_slack is not None:
                await fake_slack.stop()
            await db.dispose()

    return ctx


def create_app(config: MunicipalityConfig, secrets: Secrets, *, demo: bool = False,
               clock: Clock | None = None, solver: Solver | None = None) -> web.Application:
    """Build the application for one municipality. `clock` defaults to the system clock in
    the municipality's time zone; `solver` to a worker process owned by the app. Raises
    DataKeyError if FASTHOLD_DATA_KEY (in `secrets`) is missing or malformed."""
    clock = clock or SystemClock(config.municipality.timezone)
    # Forged employer-link tokens (403) from one address: 429 after a burst.
    link_guesses = limit_failures("/m/", 403, FailureLimiter(clock))
    app = web.Application(middlewares=[error_middleware, link_guesses, page_errors],
                          client_max_size=MAX_JSON_BODY,
                          handler_args={"max_line_size": MAX_REQUEST_LINE})
    app.on_response_prepare.append(harden_response)
    install_bad_request_filter()
    app[CONFIG] = config
    app[SECRETS] = secrets
    app[CLOCK] = clock
    # CPR numbers at rest: a missing or malformed FASTHOLD_DATA_KEY fails here, at once.
    cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    app.cleanup_ctx.append(_services(demo, solver, cipher))
    health.add_routes(app)
    home.add_routes(app)
    cases_api.add_routes(app)
    planning_api.add_routes(app)
    meetings_api.add_routes(app)
    employer_pages.add_routes(app)
    outbox_api.add_routes(app)
    tasks_api.add_routes(app)
    closing_api.add_routes(app)
    slack_api.add_routes(app)
    kpis_api.add_routes(app)
    if demo:
        app[DEMO_SESSIONS] = mailbox.MailboxSessions(clock)
        mailbox.add_routes(app)
        slack_page.add_routes(app)
    openapi.add_routes(app)
    # Staff pages: the foundation first (areas add their navigation entries to it).
    app[PAGES] = Pages(PAGE_TEMPLATES, config.municipality.timezone)
    add_page_routes(app)
    staff_login.add_routes(app)
    staff_admin.add_routes(app)
    intake_pages.add_routes(app)
    import_page.add_routes(app)
    kpi_pages.add_routes(app)
    followup_pages.add_routes(app)
    outbox_pages.add_routes(app)
    if demo:
        mailbox.add_demo_nav(app)
    return app
