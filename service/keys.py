"""Every `web.AppKey` of the application, in one leaf module: it imports no service code at
run time (the types are for the type checker only), so any module may import it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bots.email.dev_sink import DevSmtp
    from bots.slack.fake_api import FakeSlackApi
    from service.access_requests.report import AccessRequests
    from service.calendars.imports import CalendarImports
    from service.clock import Clock
    from service.config import MunicipalityConfig, Secrets
    from service.consultants.service import ConsultantService
    from service.demo.mailbox import MailboxSessions
    from service.followup.calendar_feed import CalendarFeeds
    from service.followup.closing import CaseClosing
    from service.followup.my_work import ConsultantWork
    from service.followup.outcomes import CaseOutcomes
    from service.followup.tasks import TaskService
    from service.intake.case_reads import CaseReads
    from service.intake.csv_import import CsvImport
    from service.intake.service import IntakeService
    from service.jobs.runner import JobRunner
    from service.kpis.figures import KpiService
    from service.kpis.reports import KpiReports
    from service.meetings.answers import MeetingAnswers
    from service.meetings.conflicts import MeetingConflicts
    from service.meetings.declines import EmployerDeclines
    from service.meetings.invitations import HeldInvitations
    from service.meetings.links import MeetingLinks
    from service.meetings.notifications import MeetingNotifier
    from service.meetings.private_talk import PrivateTalks
    from service.meetings.reminders import Reminders
    from service.meetings.staff import StaffMeetings
    from service.meetings.staff_moves import MeetingMoves
    from service.meetings.unanswered import UnansweredInvitations
    from service.outbox.deliverer import OutboxDeliverer
    from service.outbox.service import OutboxService
    from service.planning.service import Planner
    from service.platform.audit import ReadAudit
    from service.platform.auth import Authenticator
    from service.platform.db.engine import Database
    from service.platform.pages import Pages
    from service.platform.sessions import StaffLogin, StaffSessions
    from service.slack.desk import ServiceDesk
    from service.slack.home import SlackHome
    from service.slack.settings import SlackSettings
    from service.staff.audit_log import AuditLog
    from service.staff.oidc import OidcClient
    from service.staff.users import StaffUsers

CONFIG: web.AppKey[MunicipalityConfig] = web.AppKey("config")
SECRETS: web.AppKey[Secrets] = web.AppKey("secrets")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
AUTH: web.AppKey[Authenticator] = web.AppKey("authenticator")
READ_AUDIT: web.AppKey[ReadAudit] = web.AppKey("read_audit")
JOBS: web.AppKey[JobRunner] = web.AppKey("jobs")
INTAKE: web.AppKey[IntakeService] = web.AppKey("intake")
PLANNER: web.AppKey[Planner] = web.AppKey("planner")
NOTIFIER: web.AppKey[MeetingNotifier] = web.AppKey("meeting_notifier")
REMINDERS: web.AppKey[Reminders] = web.AppKey("reminders")
LINKS: web.AppKey[MeetingLinks] = web.AppKey("meeting_links")
ANSWERS: web.AppKey[MeetingAnswers] = web.AppKey("meeting_answers")
PRIVATE_TALKS: web.AppKey[PrivateTalks] = web.AppKey("private_talks")
HELD_INVITATIONS: web.AppKey[HeldInvitations] = web.AppKey("held_invitations")
EMPLOYER_DECLINES: web.AppKey[EmployerDeclines] = web.AppKey("employer_declines")
STAFF_MEETINGS: web.AppKey[StaffMeetings] = web.AppKey("staff_meetings")
MEETING_MOVES: web.AppKey[MeetingMoves] = web.AppKey("meeting_moves")
MEETING_CONFLICTS: web.AppKey[MeetingConflicts] = web.AppKey("meeting_conflicts")
OUTBOX: web.AppKey[OutboxDeliverer] = web.AppKey("outbox_deliverer")
OUTBOX_SERVICE: web.AppKey[OutboxService] = web.AppKey("outbox_service")
TASKS: web.AppKey[TaskService] = web.AppKey("tasks")
CASE_CLOSING: web.AppKey[CaseClosing] = web.AppKey("case_closing")
KPIS: web.AppKey[KpiService] = web.AppKey("kpis")
KPI_REPORTS: web.AppKey[KpiReports] = web.AppKey("kpi_reports")
MY_WORK: web.AppKey[ConsultantWork] = web.AppKey("my_work")
CALENDAR_FEEDS: web.AppKey[CalendarFeeds] = web.AppKey("calendar_feeds")
CALENDAR_IMPORTS: web.AppKey[CalendarImports] = web.AppKey("calendar_imports")
UNANSWERED: web.AppKey[UnansweredInvitations] = web.AppKey("unanswered_invitations")
OUTCOMES: web.AppKey[CaseOutcomes] = web.AppKey("outcomes")
DEV_SMTP: web.AppKey[DevSmtp] = web.AppKey("dev_smtp")
DEMO_SESSIONS: web.AppKey[MailboxSessions] = web.AppKey("demo_mailbox_sessions")
PAGES: web.AppKey[Pages] = web.AppKey("pages")
STAFF_SESSIONS: web.AppKey[StaffSessions] = web.AppKey("staff_sessions")
STAFF_USERS: web.AppKey[StaffUsers] = web.AppKey("staff_users")
AUDIT_LOG: web.AppKey[AuditLog] = web.AppKey("audit_log")
ACCESS_REQUESTS: web.AppKey[AccessRequests] = web.AppKey("access_requests")
# the municipality's identity provider, when `[staff_login.oidc]` is set
OIDC: web.AppKey[OidcClient] = web.AppKey("oidc")
CASE_READS: web.AppKey[CaseReads] = web.AppKey("case_reads")
CSV_IMPORT: web.AppKey[CsvImport] = web.AppKey("csv_import")
# Per request: the staff login behind the session cookie (None: not logged in), looked up once.
STAFF_LOGIN: web.RequestKey[StaffLogin | None] = web.RequestKey("staff_login")
# Per request: the user whose session ran out with this request's cookie (else None).
SESSION_RAN_OUT: web.RequestKey[int | None] = web.RequestKey("session_ran_out")
FAKE_SLACK: web.AppKey[FakeSlackApi] = web.AppKey("fake_slack")
SLACK_SETTINGS: web.AppKey[SlackSettings] = web.AppKey("slack_settings")
SLACK_BOLT: web.AppKey[AsyncApp] = web.AppKey("slack_bolt")
SLACK_DESK: web.AppKey[ServiceDesk] = web.AppKey("slack_desk")
SLACK_HOME: web.AppKey[SlackHome] = web.AppKey("slack_home")
CONSULTANTS: web.AppKey[ConsultantService] = web.AppKey("consultants")

# A deployment of many municipalities (service.wiring.tenants): the root app's municipality
# apps by municipality id.
MUNICIPALITY_APPS: web.AppKey[dict[str, web.Application]] = web.AppKey("municipality_apps")
