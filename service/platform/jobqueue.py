"""How a use case asks for background work: by the job's name, for one municipality.

The job names are declared with their functions and schedules in `service.jobs.catalog`;
a runner (in-process for the embedded default, a PostgreSQL job queue in production) carries
them out. Requests for a job that is already waiting are coalesced into one run.
"""

from __future__ import annotations

from typing import Protocol

# A worker heartbeats every HEARTBEAT_SECONDS; one silent for STALLED_HEARTBEATS of them is
# dead and its running jobs run again (`fasthold worker --heartbeat`: a shorter wait after a
# crash for more writes; every worker of a deployment must use the same). The queue
# (`service.jobs.queue`) retries them; the operations page counts them.
HEARTBEAT_SECONDS = 10.0
STALLED_HEARTBEATS = 3
STALLED_AFTER_SECONDS = STALLED_HEARTBEATS * HEARTBEAT_SECONDS

PLAN = "plan"                      # assign owners and propose meetings
DELIVER_OUTBOX = "deliver_outbox"  # send due messages of every channel with a sender
SEND_REMINDERS = "send_reminders"  # employer reminders that are due
PUBLISH_SLACK_HOME = "publish_slack_home"  # consultants' Slack Home tabs that changed
IMPORT_CALENDARS = "import_calendars"  # consultants' own calendars (.ics, CalDAV) as busy
SEND_HELD_INVITATIONS = "send_held_invitations"  # `after_calls` invitations whose wait is over
END_DECLINE_GRACE = "end_decline_grace"  # employers' declines whose grace is over
ERASE_ENDED_CASES = "erase_ended_cases"  # `[retention]`: ended cases' personal data erased
REPORT_KPIS = "report_kpis"  # final months' figures kept as reported (`kpi_reports`)


class JobQueue(Protocol):
    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        """Ask for a run of `job` soon; never blocks, never fails the caller."""
        ...


class NoJobs:
    """A queue that does nothing: for commands and tests that run use cases alone."""

    def request(self, job: str, municipality_id: str, reason: str = "") -> None:
        return None
