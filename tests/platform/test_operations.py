"""`GET /api/operations`: the figures an operator watches (admin only), on the in-process
runner and on the PostgreSQL job queue (waiting, stalled); `/admin/drift` shows them in
Danish, marking those that call for action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from service.config import MunicipalityConfig
from service.jobs.queue import ProcrastinateQueue
from service.keys import DB, JOBS
from service.platform.jobqueue import PLAN
from service.platform.operations import figure_rows
from tests.jobs.test_queue import kill_worker_mid_job, with_runner
from tests.meetings.email_cases import body, intake
from tests.support import (
    Api,
    SmtpSink,
    Staff,
    mail_config,
    make_secrets,
    smtp_secrets,
    start_api,
)


async def figures(api: Api) -> dict[str, Any]:
    response = await api.client.get("/api/operations", headers=api.auth("admin"))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_operator_sees_planning_outbox_and_cases(sqlite_api: Api) -> None:
    api = sqlite_api
    for role in ("intake", "consultant", "manager"):
        response = await api.client.get("/api/operations", headers=api.auth(role))
        assert response.status == 403
    assert (await api.client.get("/api/operations")).status == 401
    await intake(api, body("w1"), body("w2", citizen={"name": "Eva Holm"}))
    await api.client.app[JOBS].wait_idle()
    seen = await figures(api)
    assert seen["jobs"] == {"runner": "in_process"}
    assert seen["cases"] == {"open": 2, "unassigned": 0, "erased": 0, "last_erasure_age_s": None}
    planning = seen["planning"]
    assert planning["runs_last_day"] >= 1 and planning["last_run_fell_back"] is False
    assert planning["last_run_seconds"] > 0 and planning["longest_run_last_day_s"] > 0
    assert planning["last_run_meetings_missing"] == 0
    # No SMTP server, no Slack token: the invitations and notices wait in the outbox for a
    # channel that is not set up — counted apart, not as waiting (whose age is alerted on).
    outbox = seen["outbox"]
    assert outbox["waiting"] == 0 and outbox["oldest_waiting_age_s"] is None
    assert outbox["not_sent_no_channel"] >= 2
    assert seen["outbox"]["failed"] == 0
    text = str(seen)
    assert "Eva Holm" not in text and "w1" not in text  # counts only


async def test_only_messages_of_a_channel_that_can_send_count_as_waiting(
        demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    """A municipality without Slack: its Slack messages wait for ever (the demo's Slack page
    reads them) and never raise the outbox's alert; e-mails waiting on a mail server that
    is down do, and only they."""
    down = SmtpSink()  # not started: the mail server refuses connections
    async for api in start_api(mail_config(demo_config), smtp_secrets(sqlite_url, down.port)):
        await intake(api, body("w1"), body("w2", citizen={"name": "Eva Holm"}))
        await api.client.app[JOBS].wait_idle()
        async with api.client.app[DB].read() as session:
            waiting = dict((await session.execute(text(
                "SELECT channel, count(*) FROM outbox WHERE status IN "
                "('pending', 'sending') GROUP BY channel"))).all())
        assert waiting.get("email", 0) >= 2 and waiting.get("slack", 0) >= 1, waiting
        outbox = (await figures(api))["outbox"]
        assert outbox["waiting"] == waiting["email"]
        assert outbox["not_sent_no_channel"] == sum(waiting.values()) - waiting["email"]
        assert outbox["oldest_waiting_age_s"] is not None
        rows = {row.label: row for row in figure_rows(await figures(api))[
            "Udgående beskeder"]}
        assert rows["Venter uden kanal"].value == str(outbox["not_sent_no_channel"])


async def test_the_operator_sees_the_queue_waiting_and_stalled(
        demo_config: MunicipalityConfig, postgres_url: str) -> None:
    config = with_runner(demo_config, "procrastinate")
    async for api in start_api(config, make_secrets(postgres_url)):
        queue = api.client.app[JOBS]
        assert isinstance(queue, ProcrastinateQueue)
        stalled = await queue.defer(PLAN, config.municipality.id, "killed", coalesce=False)
        await kill_worker_mid_job(api, stalled)
        waiting = await queue.defer(PLAN, config.municipality.id, "waiting")  # no worker
        jobs = (await figures(api))["jobs"]
        assert jobs["runner"] == "procrastinate"
        # A plan waits a moment for more changes (its settle time): scheduled, then due.
        assert jobs["waiting"] + jobs["scheduled"] == 1, jobs
        assert jobs["doing"] == 1 and jobs["stalled"] == 1 and jobs["failed"] == 0
        async with api.client.app[DB].write() as session:
            await session.execute(text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 minute' "
                "WHERE id = :job"), {"job": waiting})
        jobs = (await figures(api))["jobs"]
        assert jobs["waiting"] == 1 and jobs["oldest_waiting_age_s"] >= 0, jobs



def test_the_page_marks_what_calls_for_action() -> None:
    """`/admin/drift`'s words for the figures, each threshold of the README's table."""
    quiet = {"jobs": {"runner": "in_process"},
             "outbox": {"waiting": 3, "oldest_waiting_age_s": 60.0, "failed": 0,
                        "letters_to_print": 1},
             "planning": {"last_run_age_s": 3600.0, "last_run_seconds": 1.25,
                          "last_run_fell_back": False, "runs_last_day": 4},
             "cases": {"open": 10, "unassigned": 0, "erased": 0, "last_erasure_age_s": None}}
    rows = figure_rows(quiet)
    assert list(rows) == ["Job", "Udgående beskeder", "Planlægning", "Sager"]
    assert not [r.label for section in rows.values() for r in section if r.alert]
    by_label = {r.label: r.value for section in rows.values() for r in section}
    assert by_label["Ældste ventende"] == "1 min."
    assert by_label["Seneste kørsel"] == "for 1 t. 0 min. siden"
    assert by_label["Seneste sletning"] == "aldrig"
    loud = {**quiet, "jobs": {"runner": "procrastinate", "oldest_waiting_age_s": 301.0,
                              "stalled": 1, "failed": 2, "waiting": 1, "scheduled": 0,
                              "doing": 1},
            "outbox": {**quiet["outbox"], "oldest_waiting_age_s": 901.0, "failed": 1},
            "planning": {**quiet["planning"], "last_run_age_s": 26 * 3600 + 1.0,
                         "last_run_fell_back": True},
            "cases": {**quiet["cases"], "unassigned": 2}}
    alerts = [r.label for section in figure_rows(loud).values() for r in section if r.alert]
    assert alerts == ["Ældste ventende job", "Job der hænger", "Fejlede job",
                      "Ældste ventende", "Fejlet for godt", "Seneste kørsel",
                      "Faldt tilbage til den enkle plan", "Uden konsulent"]


async def test_the_admin_reads_them_on_a_page(staff: Staff) -> None:
    await intake(staff.api, body("drift-case-1"))
    admin = await staff.login("admin")
    response, page = await admin.get("/admin/drift")
    assert response.status == 200
    for words in ("<h1>Drift</h1>", "Udgående beskeder", "Planlægning", "Uden konsulent",
                  'href="/admin/drift"'):
        assert words in page, words
    # counts only (a case number that no random token on the page can hold by chance:
    # "d1" was found in the form's CSRF token one run in a few hundred)
    assert "drift-case-1" not in page and "Mads Madsen" not in page
    # The front page's "Driftsstatus" is this page for an admin, the probe for anyone else.
    _, front = await admin.get("/")
    assert '<a href="/admin/drift">Driftsstatus</a>' in front
    _, front = await (await staff.browser()).get("/")
    assert '<a href="/healthz">Driftsstatus</a>' in front
    response, _ = await (await staff.login("manager")).get("/admin/drift")
    assert response.status == 403
