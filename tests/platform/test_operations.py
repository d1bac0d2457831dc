"""`GET /api/operations`: the figures an operator watches (admin only), on the in-process
runner and on the PostgreSQL job queue (waiting, stalled)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from service.config import MunicipalityConfig
from service.jobs.queue import ProcrastinateQueue
from service.keys import DB, JOBS
from service.platform.jobqueue import PLAN
from tests.jobs.test_queue import kill_worker_mid_job, with_runner
from tests.meetings.email_cases import body, intake
from tests.support import Api, make_secrets, start_api


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
    # No SMTP server: the invitations wait in the outbox, the oldest's age is known.
    assert seen["outbox"]["waiting"] >= 2 and seen["outbox"]["oldest_waiting_age_s"] >= 0
    assert seen["outbox"]["failed"] == 0
    text = str(seen)
    assert "Eva Holm" not in text and "w1" not in text  # counts only


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

