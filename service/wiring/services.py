"""One builder of the service graph: the use cases of every area and their collaborators,
from the configuration, the database, the clock, the job queue, the senders and the solver.

The web app (`service.app`) and the simulation (`service.simulation.world`) both build their
services here, so what one does when a use case runs the other does too (the simulation's
owner changes tell Slack as the app's do). What differs is handed in: the clock (the system's
or a settable one), the job queue (the in-process runner, or the simulation's recorded
requests), the senders (SMTP and Slack's Web API, or memory) and the solver (a worker process,
or the simulation's in this process). Building does no I/O: the callers open the database and
start and stop what runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bots.delivery import ChannelSender
from bots.digital_post import DigitalPost
from bots.email.render import EmailRenderer
from bots.slack.channel import SlackChannel, make_client
from bots.sms import SmsGateway
from rules.engine import RulesEngine
from service.access_requests.report import AccessRequests
from service.calendars.imports import CalendarImports
from service.clock import Clock
from service.config import MunicipalityConfig
from service.consultants.service import ConsultantService
from service.followup.calendar_feed import CalendarFeeds
from service.followup.closing import CaseClosing
from service.followup.my_work import ConsultantWork
from service.followup.outcomes import CaseOutcomes
from service.followup.records import FollowupRecords
from service.followup.slack_actions import FollowupActions
from service.followup.tasks import TaskService
from service.intake.case_reads import CaseReads
from service.intake.csv_import import CsvImport
from service.intake.service import IntakeService
from service.intake.slack_actions import OwnerActions
from service.jobs.catalog import declare_jobs
from service.jobs.runner import JobSpec
from service.kpis.figures import KpiService
from service.kpis.reports import KpiReports
from service.meetings.answers import MeetingAnswers
from service.meetings.conflicts import MeetingConflicts
from service.meetings.declines import EmployerDeclines
from service.meetings.invitations import HeldInvitations
from service.meetings.links import MeetingLinks
from service.meetings.notifications import MeetingNotifier
from service.meetings.owner_change import MeetingsFollowOwner
from service.meetings.private_talk import PrivateTalks
from service.meetings.reminders import Reminders
from service.meetings.slack_actions import TalkActions
from service.meetings.staff import StaffMeetings
from service.meetings.staff_moves import MeetingMoves
from service.meetings.unanswered import UnansweredInvitations
from service.outbox.deliverer import OutboxDeliverer
from service.outbox.service import OutboxService
from service.outbox.store import Outbox
from service.places import Placer
from service.planning.service import Planner
from service.planning.solver import Solver
from service.platform.audit import ReadAudit
from service.platform.auth import Authenticator
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.jobqueue import PUBLISH_SLACK_HOME, JobQueue
from service.platform.sessions import StaffSessions
from service.retention.erasure import CaseErasure
from service.slack.desk import ServiceDesk
from service.slack.home import SlackHome
from service.slack.notices import SlackNotices
from service.slack.people import SlackPeople
from service.slack.posts import EmailInstead, PostLog
from service.slack.quiet import QuietableNotices
from service.slack.reminders import ConsultantReminders
from service.slack.settings import DEMO_INTAKE_CHANNEL, SlackSettings
from service.staff.audit_log import AuditLog
from service.staff.users import StaffUsers
from service.text.danish import FILTERS, GLOBALS
from service.text.minutes_words import MinutesMail

log = logging.getLogger("fasthold")

# Slack as in the demo, with nothing sent to a workspace: consultants' messages and the intake
# channel's posts go to whatever "slack" sender is given (the simulation's memory).
SLACK_IN_MEMORY = SlackSettings(bot_token=None, signing_secret=None, api_url=None,
                                intake_channel=DEMO_INTAKE_CHANNEL)


@dataclass(frozen=True)
class Services:
    """Every use case of one municipality, and the collaborators the channels need."""

    config: MunicipalityConfig
    clock: Clock
    db: Database
    jobs: JobQueue
    slack: SlackSettings
    outbox: Outbox
    links: MeetingLinks
    people: SlackPeople
    notices: SlackNotices
    quiet: QuietableNotices | None  # the areas' Slack notices when they can be held quiet
    notifier: MeetingNotifier
    reads: ReadAudit
    auth: Authenticator
    intake: IntakeService
    planner: Planner
    deliverer: OutboxDeliverer
    reminders: Reminders
    answers: MeetingAnswers
    talks: PrivateTalks
    invitations: HeldInvitations
    declines: EmployerDeclines
    staff_meetings: StaffMeetings
    moves: MeetingMoves
    conflicts: MeetingConflicts
    outbox_service: OutboxService
    tasks: TaskService
    closing: CaseClosing
    outcomes: CaseOutcomes
    kpis: KpiService
    my_work: ConsultantWork
    calendar_feeds: CalendarFeeds
    calendar_imports: CalendarImports
    unanswered: UnansweredInvitations
    sessions: StaffSessions
    staff_users: StaffUsers
    audit_log: AuditLog
    case_reads: CaseReads
    csv_import: CsvImport
    slack_home: SlackHome
    desk: ServiceDesk
    consultants: ConsultantService
    erasure: CaseErasure
    access_requests: AccessRequests
    kpi_reports: KpiReports

    def job_specs(self) -> list[JobSpec]:
        """The background jobs of these services (`service.jobs.catalog`); the Home tabs'
        job only when Slack messages are sent to a workspace."""
        return declare_jobs(self.config, self.planner, self.deliverer, self.reminders,
                            self.slack_home if self.slack.sending else None,
                            self.calendar_imports, self.invitations, self.declines,
                            self.erasure, self.kpi_reports)


def build_services(config: MunicipalityConfig, db: Database, clock: Clock, jobs: JobQueue, *,
                   cipher: DataCipher, secret_key: str, solver: Solver,
                   senders: dict[str, ChannelSender], slack: SlackSettings,
                   planning_time_limit: float | None = None, quiet_slack: bool = False
                   ) -> Services:
    """The service graph. `senders`: a sender per outbox channel that can be delivered
    (e-mail; Slack's is added here from `slack`'s bot token unless one is given); `slack`:
    the intake channel, and whether messages reach a workspace (then a change a consultant
    was told of asks for their Home tab to be published again); `planning_time_limit`: the
    solver's limit per run (default: the configuration's); `quiet_slack`: the areas' Slack
    notices start held quiet (`Services.quiet`: the simulation's past)."""
    municipality = config.municipality.id
    domain = config.mail.from_address.rpartition("@")[2] or "fasthold.local"
    outbox = Outbox(clock, jobs, municipality, domain,
                    digital_post=config.letters.digital_post)
    links = MeetingLinks(secret_key, municipality, clock)
    people = SlackPeople(config)
    # Slack is one more caller of the areas: they name what they tell consultants
    # (`ConsultantNotices`, `OwnerListener`, `ConsultantReminderScan`, `HomePublisher`) and
    # the Slack channel's notices are given to them here.
    notices = SlackNotices(
        config, clock, outbox, people, slack.intake_channel,
        on_change=(lambda: jobs.request(PUBLISH_SLACK_HOME, municipality, "change"))
        if slack.sending else None)
    consultant_reminders = ConsultantReminders(db, config, notices)
    quiet = QuietableNotices(notices, consultant_reminders) if quiet_slack else None
    told: SlackNotices | QuietableNotices = quiet or notices
    notifier = MeetingNotifier(config, clock, links, outbox, EmailRenderer(FILTERS, GLOBALS),
                               told)
    reads = ReadAudit(db, clock)
    # Typed addresses placed on the map (offline; DAWA first when `[places] online`).
    placer = Placer(config.places)
    intake = IntakeService(db, config, clock, RulesEngine(config.rules.thresholds()), jobs,
                           reads, cipher, owner_listener=told,
                           owner_meetings=MeetingsFollowOwner(config, clock, notifier),
                           placer=placer, placement_listener=told,
                           handover_listener=told)
    moves = MeetingMoves(db, config, clock, notifier, intake, jobs)
    conflicts = MeetingConflicts(db, config, clock, notifier, intake, moves)
    planner = Planner(db, config, clock, solver, notifier, planning_time_limit,
                      before=conflicts.scan, unassigned=told)
    senders = dict(senders)
    if "slack" not in senders and slack.bot_token:
        # No network call here: the client connects when the first message is sent.
        senders["slack"] = SlackChannel(make_client(slack.bot_token, slack.api_url),
                                        PostLog(db, municipality),
                                        EmailInstead(db, config, outbox), clock.utcnow)
    if "slack" not in senders:
        log.warning("no Slack bot token (FASTHOLD_SLACK_BOT_TOKEN): Slack messages stay "
                    "in the outbox until one is set")
    if config.letters.digital_post and "letter" not in senders:
        senders["letter"] = DigitalPost(config.letters.digital_post_url,
                                        config.letters.timeout_seconds)
    if config.sms.enabled and "sms" not in senders:
        senders["sms"] = SmsGateway(config.sms.gateway_url, config.sms.sender,
                                    config.sms.timeout_seconds)
    deliverer = OutboxDeliverer(db, clock, municipality, senders,
                                on_failed=notifier.delivery_failed)
    reminders = Reminders(db, config, clock, notifier, quiet or consultant_reminders)
    answers = MeetingAnswers(db, clock, notifier, intake, jobs)
    closing = CaseClosing(db, clock, notifier, intake, jobs)
    outcomes = CaseOutcomes(db, clock, intake, jobs, outbox,
                            MinutesMail(config.jobcentre.name, config.jobcentre.phone,
                                        config.jobcentre.privacy_url,
                                        config.followup.journal_email),
                            every_weeks=config.followup.every_weeks)
    intake.records = FollowupRecords(clock)
    sessions = StaffSessions(db, clock, municipality)
    case_reads = CaseReads(db, reads, clock, municipality)
    slack_home = SlackHome(db, config, clock, outbox, people, notices)
    talks = PrivateTalks(db, clock, notifier, intake, jobs)
    invitations = HeldInvitations(db, clock, notifier, intake)
    declines = EmployerDeclines(db, clock, notifier, intake)
    desk = ServiceDesk(db, config, clock, people, notices, slack_home,
                       FollowupActions(outcomes, closing),
                       OwnerActions(intake, case_reads), intake, reads, jobs,
                       TalkActions(talks), invitations=invitations, declines=declines)
    # The owner's Slack messages follow every staff action on a case, wherever it was made
    # (when messages reach a workspace: else there are none to follow, nor a Home tab job).
    if slack.sending:
        if quiet is not None:
            quiet.cases = desk
        intake.case_listener = quiet or desk
    # The consultants as the database has them; Slack's people follow every change.
    consultants = ConsultantService(db, config, clock, jobs, listeners=[people.set_consultants],
                                    placer=placer, absence_listener=told)
    kpis = KpiService(db, config, clock)
    return Services(
        config=config, clock=clock, db=db, jobs=jobs, slack=slack, outbox=outbox, links=links,
        people=people, notices=notices, quiet=quiet, notifier=notifier, reads=reads,
        auth=Authenticator(db.read, clock, municipality_id=municipality), intake=intake,
        planner=planner,
        deliverer=deliverer, reminders=reminders, answers=answers,
        talks=talks,
        invitations=invitations, declines=declines,
        staff_meetings=StaffMeetings(db, municipality, answers, intake), moves=moves,
        conflicts=conflicts,
        outbox_service=OutboxService(db, clock, jobs, municipality),
        tasks=TaskService(db, clock, municipality), closing=closing, outcomes=outcomes,
        kpis=kpis, kpi_reports=KpiReports(db, clock, kpis, municipality),
        my_work=ConsultantWork(db, config, clock, reads),
        calendar_feeds=CalendarFeeds(db, config, clock, notifier),
        calendar_imports=CalendarImports(db, config, clock, jobs, cipher),
        unanswered=UnansweredInvitations(db, config, clock), sessions=sessions,
        staff_users=StaffUsers(db, config, clock, sessions), case_reads=case_reads,
        audit_log=AuditLog(db, clock, reads, municipality),
        csv_import=CsvImport(intake, case_reads), slack_home=slack_home, desk=desk,
        consultants=consultants,
        erasure=CaseErasure(db, clock, municipality, config.retention),
        access_requests=AccessRequests(db, config, clock, cipher, reads))
