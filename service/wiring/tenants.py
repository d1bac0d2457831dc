"""Many municipalities in one process (`--config-dir`, `FASTHOLD_CONFIG_DIR`): one root app
with one sub-app per municipality, chosen by the request's host name.

Each municipality's app is today's (`service.app.create_app`, unchanged routes and pages),
mounted with aiohttp's `add_domain` on the host of its `[mail] link_base_url`
(`https://herning.fasthold.example` -> every request to that host is Herning's). Why the host
and not a path prefix: every page, redirect, form, script and e-mail link of the service is
an absolute path (`/login`, `/cases/…`, `/m/<token>`), so a municipality keeps the URLs it
has alone, its Slack app's request URL is `https://<its host>/slack/events`, and the
browser keeps one municipality's session cookie away from every other's. Each app scopes
every query by its own municipality, and its principals (API keys, staff sessions) are
only its own; another municipality's ids and tokens are unknown there (404).

Shared: the database (one engine, migrated once), one job runner for every municipality's
jobs (each declares its own, bound to its services; planning runs per municipality), the
solver's process and the clock. Not shared: configuration, Slack (its own bot token and
signing secret, `FASTHOLD_SLACK_*_<ID>`), the link-forgery limiters, the demo's fake Slack
and mailbox. The root answers other hosts: `/` lists the municipalities' login pages and
`/healthz` checks the database.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from html import escape

from aiohttp import web
from sqlalchemy import text

from service.app import Shared, create_app, job_runner
from service.clock import Clock, SystemClock
from service.config import MunicipalityConfig, Secrets, municipality_host, secrets_for
from service.jobs.queue import ProcrastinateQueue
from service.keys import MUNICIPALITY_APPS
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.db.migrate import check_at_head, upgrade_async
from service.platform.security import harden_response
from service.wiring.deployment import check_deployment

log = logging.getLogger("fasthold")

_LIST = """<!doctype html>
<html lang="da"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fasthold</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}}</style></head>
<body><h1>fasthold</h1>
<p>Vælg jeres kommune for at logge ind:</p>
<ul>
{items}
</ul>
</body></html>
"""


def create_tenants_app(configs: Sequence[MunicipalityConfig], secrets: Secrets, *,
                       demo: bool = False, clock: Clock | None = None,
                       solver: Solver | None = None,
                       env: dict[str, str] | None = None) -> web.Application:
    """The root app of a deployment of many municipalities on one database (`secrets`'
    database URL; each municipality's Slack from `env`, see `secrets_for`). `clock` defaults
    to the system clock in their (one) time zone; `solver` to a worker process of the root.
    The job runner is `[jobs] runner` of the first configuration (all must agree)."""
    check_deployment(configs)  # (ConfigError) as `config check DIR` and every command
    clock = clock or SystemClock(configs[0].municipality.timezone)
    cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    ids = [c.municipality.id for c in configs]
    own_solver = solver is None
    jobs = job_runner(configs[0], secrets, clock, ids)
    shared = Shared(db=Database(secrets.database_url, clock), jobs=jobs,
                    solver=solver or ProcessPoolSolver())
    root = web.Application()
    root.on_response_prepare.append(harden_response)

    async def open_shared(_app: web.Application) -> None:
        if isinstance(jobs, ProcrastinateQueue):
            await check_at_head(shared.db.url)  # migrations only by `fasthold db upgrade`
        else:
            await upgrade_async(shared.db.url, cipher)  # the embedded default migrates itself
        if isinstance(jobs, ProcrastinateQueue):
            await jobs.open()  # defers only: `fasthold worker --config-dir` runs the jobs

    root.on_startup.append(open_shared)  # before the municipalities' apps start
    root[MUNICIPALITY_APPS] = {}
    for config in configs:
        app = create_app(config, secrets_for(secrets, config.municipality.id, env),
                         demo=demo, clock=clock, shared=shared)
        root.add_domain(municipality_host(config), app)
        root[MUNICIPALITY_APPS][config.municipality.id] = app

    async def start_jobs(_app: web.Application) -> None:
        jobs.start()  # every municipality has declared its jobs

    async def stop_jobs(_app: web.Application) -> None:
        # In cleanup, after the drain (aiohttp: on_shutdown, then the requests under way,
        # then on_cleanup), as one municipality's app does: a request still answered during
        # the drain defers its jobs ("plan now" waits for its run), and first in cleanup,
        # before the municipalities' services close.
        await jobs.stop()

    async def close_shared(_app: web.Application) -> None:
        if own_solver:
            shared.solver.close()
        await shared.db.dispose()

    root.on_startup.append(start_jobs)
    root.on_cleanup.insert(0, stop_jobs)  # before the municipalities' apps' cleanup
    root.on_cleanup.append(close_shared)  # after the municipalities' apps

    async def listing(_request: web.Request) -> web.Response:
        items = "\n".join(
            f'<li><a href="{escape(c.mail.link("/login"))}">'
            f"{escape(c.municipality.name)}</a></li>" for c in configs)
        return web.Response(text=_LIST.format(items=items), content_type="text/html",
                            charset="utf-8", headers={
                                "Content-Security-Policy":
                                    "default-src 'none'; style-src 'unsafe-inline'"})

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with shared.db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # the probe must answer, whatever broke
            log.warning("health check: database unavailable: %s", type(exc).__name__)
            return web.json_response({"status": "unavailable", "database": "down"},
                                      status=503)
        return web.json_response({"status": "ok", "municipalities": ids,
                                  "database": "sqlite" if shared.db.is_sqlite
                                  else "postgresql"})

    # After the municipalities' hosts: a request to one of them is always that one's.
    root.router.add_get("/", listing, name="municipalities")
    root.router.add_get("/healthz", healthz, name="healthz")
    return root
