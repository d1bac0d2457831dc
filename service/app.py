"""The composition root: builds every area's services with their collaborators, mounts the
areas' routes, and starts and stops the resources with the app (cleanup_ctx)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from bots.delivery import ChannelSender
from bots.email.channel import EmailChannel, SenderIdentity
from bots.email.dev_sink import DevSmtp
from bots.email.sender import SmtpSettings
from bots.slack.channel import make_client
from bots.slack.fake_api import FakeSlackApi
from bots.slack.listeners import build_app
from service.access_requests import pages as access_request_pages
from service.calendars import api as calendars_api
from service.calendars import pages as calendars_pages
from service.clock import Clock, SystemClock
from service.config import MunicipalityConfig, Secrets
from service.consultants import api as consultants_api
from service.consultants import pages as consultant_pages
from service.demo import kept, mailbox, slack_page
from service.followup import api as tasks_api
from service.followup import cases_api as closing_api
from service.followup import pages as followup_pages
from service.intake import api as cases_api
from service.intake import import_page
from service.intake import pages as intake_pages
from service.jobs.queue import ProcrastinateQueue
from service.jobs.runner import InProcessRunner, JobRunner
from service.keys import (
    ACCESS_REQUESTS,
    ANSWERS,
    AUDIT_LOG,
    AUTH,
    CALENDAR_FEEDS,
    CALENDAR_IMPORTS,
    CASE_CLOSING,
    CASE_READS,
    CLOCK,
    CONFIG,
    CONSULTANTS,
    CSV_IMPORT,
    DB,
    DEMO_SESSIONS,
    DEV_SMTP,
    EMPLOYER_DECLINES,
    FAKE_SLACK,
    HELD_INVITATIONS,
    INTAKE,
    JOBS,
    KPI_REPORTS,
    KPIS,
    LINKS,
    MEETING_CONFLICTS,
    MEETING_MOVES,
    MY_WORK,
    NOTIFIER,
    OIDC,
    OUTBOX,
    OUTBOX_SERVICE,
    OUTCOMES,
    PAGES,
    PLANNER,
    PRIVATE_TALKS,
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
from service.meetings import api as meetings_api
from service.meetings import pages as employer_pages
from service.meetings import staff_pages as meeting_staff_pages
from service.meetings import talk_pages
from service.outbox import api as outbox_api
from service.outbox import pages as outbox_pages
from service.planning import api as planning_api
from service.planning.consultants import sync_consultants
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform import health, home, openapi, operations
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import check_at_head, upgrade_async
from service.platform.http import MAX_JSON_BODY, MAX_REQUEST_LINE, error_middleware
from service.platform.logs import install_bad_request_filter
from service.platform.pages import Pages, page_errors
from service.platform.pages import add_routes as add_page_routes
from service.platform.security import FailureLimiter, harden_response, limit_failures
from service.slack import api as slack_api
from service.slack.settings import SlackSettings, workspace_users
from service.staff import admin as staff_admin
from service.staff import audit_pages as staff_audit
from service.staff import login as staff_login
from service.staff import oidc_pages as staff_oidc
from service.staff.oidc import OidcClient, client_secret
from service.wiring.services import build_services

log = logging.getLogger("fasthold")

# The staff pages' template directories, one per area ("area/name.html").
PAGE_TEMPLATES = {
    "access_requests": access_request_pages.TEMPLATES,
    "staff": staff_login.TEMPLATES,
    "intake": intake_pages.TEMPLATES,
    "kpis": kpi_pages.TEMPLATES,
    "followup": followup_pages.TEMPLATES,
    "outbox": outbox_pages.TEMPLATES,
    "meetings": meeting_staff_pages.TEMPLATES,
    "consultants": consultant_pages.TEMPLATES,
    "calendars": calendars_pages.TEMPLATES,
}


def senders_for(secrets: Secrets, config: MunicipalityConfig, dev_smtp: DevSmtp | None
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


def job_runner(config: MunicipalityConfig, secrets: Secrets, clock: Clock,
               municipality_ids: list[str] | None = None) -> JobRunner:
    """`[jobs] runner`: this process's in-process runner, or the PostgreSQL job queue; for
    `config`'s municipality, or for all of `municipality_ids` (a deployment of many)."""
    closed = config.planning.closed()
    ids = municipality_ids or [config.municipality.id]
    if config.jobs.runner == "procrastinate":
        return ProcrastinateQueue(secrets.database_url, clock, ids, closed)
    return InProcessRunner(clock, ids, closed)


@dataclass
class Shared:
    """What the municipalities of one deployment share (`service.wiring.tenants`): the
    database, the one job runner and the solver's process. Its owner opens them before the
    municipalities' apps start (each declares its jobs on the runner) and starts the runner
    after them; it stops and closes them too — the municipalities' apps do neither."""

    db: Database
    jobs: JobRunner
    solver: Solver


def _services(demo: bool, solver: Solver | None, cipher: DataCipher,
              shared: Shared | None = None
              ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config, secrets, clock = app[CONFIG], app[SECRETS], app[CLOCK]
        if shared is not None:
            db = shared.db  # migrated (or checked) by the owner
        else:
            db = Database(secrets.database_url, clock)
            if config.jobs.runner == "procrastinate":
                await check_at_head(db.url)  # migrations only by `fasthold db upgrade`
            else:
                await upgrade_async(db.url, cipher)  # the embedded default migrates itself
        async with db.write() as session:
            await sync_consultants(session, config)
        dev_smtp = None
        if demo and not secrets.smtp_host:
            dev_smtp = DevSmtp(clock.now, store=kept.mail_store(secrets.database_url))
            dev_smtp.start()
            app[DEV_SMTP] = dev_smtp
            log.info("demo mail sink on 127.0.0.1:%s; mails at /demo/mailbox", dev_smtp.port)
        slack = SlackSettings.from_secrets(secrets)
        fake_slack = None
        if demo and not slack.sending:
            # No workspace: the bot talks to a local fake Web API, shown on /demo/slack.
            fake_slack = FakeSlackApi(users=workspace_users(config),
                                      store=kept.slack_store(secrets.database_url))
            await fake_slack.start()
            slack = slack.on_fake(fake_slack.token, fake_slack.base_url)
            fake_slack.channels.add(slack.intake_channel or "")
            app[FAKE_SLACK] = fake_slack
            log.info("demo Slack Web API on %s; messages at /demo/slack", fake_slack.base_url)
        app[SLACK_SETTINGS] = slack
        jobs = shared.jobs if shared is not None else job_runner(config, secrets, clock)
        if isinstance(jobs, ProcrastinateQueue) and shared is None:
            await jobs.open()  # defers only: `fasthold worker` runs the jobs
        the_solver = shared.solver if shared is not None else solver
        own_solver = the_solver is None
        services = build_services(
            config, db, clock, jobs, cipher=cipher, secret_key=secrets.secret_key,
            solver=the_solver or ProcessPoolSolver(),
            senders=senders_for(secrets, config, dev_smtp),
            slack=slack)
        await services.intake.check_data_keys()
        app[CONSULTANTS] = services.consultants
        if fake_slack is not None and fake_slack.users is not None:
            # The demo's fake workspace knows a Slack user given to a consultant in the app.
            known = fake_slack.users
            services.consultants.listeners.append(lambda entries: known.update(
                e.slack_user_id for e in entries if e.slack_user_id))
        await services.consultants.refresh()  # Slack's people as the database has them
        if shared is not None:  # one runner for all: this municipality's own jobs
            jobs.declare(services.job_specs(), config.municipality.id,
                         config.planning.closed())
        else:
            jobs.declare(services.job_specs())
        reads, planner, desk = services.reads, services.planner, services.desk
        app[DB], app[JOBS], app[LINKS], app[NOTIFIER] = db, jobs, services.links, \
            services.notifier
        app[AUTH], app[READ_AUDIT] = services.auth, reads
        app[INTAKE], app[PLANNER], app[OUTBOX], app[REMINDERS] = services.intake, planner, \
            services.deliverer, services.reminders
        app[ANSWERS] = services.answers
        app[PRIVATE_TALKS] = services.talks
        app[HELD_INVITATIONS], app[EMPLOYER_DECLINES] = services.invitations, services.declines
        app[STAFF_MEETINGS] = services.staff_meetings
        app[MEETING_MOVES], app[MEETING_CONFLICTS] = services.moves, services.conflicts
        app[OUTBOX_SERVICE] = services.outbox_service
        app[TASKS] = services.tasks
        app[CASE_CLOSING] = services.closing
        app[KPIS], app[KPI_REPORTS] = services.kpis, services.kpi_reports
        app[MY_WORK] = services.my_work
        app[CALENDAR_FEEDS] = services.calendar_feeds
        app[CALENDAR_IMPORTS] = services.calendar_imports
        app[UNANSWERED] = services.unanswered
        app[STAFF_SESSIONS] = services.sessions
        app[STAFF_USERS] = services.staff_users
        app[AUDIT_LOG] = services.audit_log
        app[ACCESS_REQUESTS] = services.access_requests
        app[CASE_READS] = services.case_reads
        app[CSV_IMPORT] = services.csv_import
        app[OUTCOMES] = services.outcomes
        app[SLACK_HOME] = services.slack_home
        app[SLACK_DESK] = desk
        if slack.signing_secret and slack.bot_token:
            # /slack/events verifies the signature with the signing secret (service/slack/api)
            app[SLACK_BOLT] = build_app(desk, make_client(slack.bot_token, slack.api_url))
        if shared is None:
            jobs.start()
        try:
            yield
        finally:
            if shared is None:
                await jobs.stop()
            await reads.close()
            if own_solver:
                planner.solver.close()
            if dev_smtp is not None:
                dev_smtp.stop()
            if fake_slack is not None:
                await fake_slack.stop()
            if shared is None:
                await db.dispose()

    return ctx


def create_app(config: MunicipalityConfig, secrets: Secrets, *, demo: bool = False,
               clock: Clock | None = None, solver: Solver | None = None,
               shared: Shared | None = None) -> web.Application:
    """Build the application for one municipality. `clock` defaults to the system clock in
    the municipality's time zone; `solver` to a worker process owned by the app; `shared`:
    the database, job runner and solver of a deployment of many municipalities (then the
    app neither opens nor closes them). Raises DataKeyError if FASTHOLD_DATA_KEY (in
    `secrets`) is missing or malformed."""
    clock = clock or SystemClock(config.municipality.timezone)
    # Forged employer-link tokens (403) from one address: 429 after a burst.
    link_guesses = limit_failures("/m/", 403, FailureLimiter(clock))
    talk_link_guesses = limit_failures("/samtale/", 403, FailureLimiter(clock))
    app = web.Application(middlewares=[error_middleware, link_guesses, talk_link_guesses,
                                       page_errors],
                          client_max_size=MAX_JSON_BODY,
                          handler_args={"max_line_size": MAX_REQUEST_LINE})
    app.on_response_prepare.append(harden_response)
    install_bad_request_filter()
    app[CONFIG] = config
    app[SECRETS] = secrets
    app[CLOCK] = clock
    # CPR numbers at rest: a missing or malformed FASTHOLD_DATA_KEY fails here, at once.
    cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    oidc = config.staff_login.oidc
    if oidc is not None:
        # The provider's client secret from the environment (never a file); a name given
        # but not set fails here, at once.
        app[OIDC] = OidcClient(oidc, clock, client_secret(oidc))
    app.cleanup_ctx.append(_services(demo, solver, cipher, shared))
    health.add_routes(app)
    home.add_routes(app)
    cases_api.add_routes(app)
    planning_api.add_routes(app)
    meetings_api.add_routes(app)
    employer_pages.add_routes(app)
    talk_pages.add_routes(app)
    outbox_api.add_routes(app)
    tasks_api.add_routes(app)
    closing_api.add_routes(app)
    slack_api.add_routes(app)
    kpis_api.add_routes(app)
    consultants_api.add_routes(app)
    calendars_api.add_routes(app)
    if demo:
        app[DEMO_SESSIONS] = mailbox.MailboxSessions(clock)
        mailbox.add_routes(app)
        slack_page.add_routes(app)
    openapi.add_routes(app)
    # Staff pages: the foundation first (areas add their navigation entries to it).
    app[PAGES] = Pages(PAGE_TEMPLATES, config.municipality.timezone)
    add_page_routes(app)
    staff_login.add_routes(app)
    staff_oidc.add_routes(app)
    staff_admin.add_routes(app)
    staff_audit.add_routes(app)
    access_request_pages.add_routes(app)
    operations.add_page_routes(app)
    intake_pages.add_routes(app)
    import_page.add_routes(app)
    kpi_pages.add_routes(app)
    followup_pages.add_routes(app)
    outbox_pages.add_routes(app)
    meeting_staff_pages.add_routes(app)
    consultant_pages.add_routes(app)
    calendars_pages.add_routes(app)
    if demo:
        mailbox.add_demo_nav(app)
    return app
