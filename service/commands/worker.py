"""`fasthold worker [--concurrency N]`: run the background jobs of the catalogue
(`service.jobs.catalog`) from the PostgreSQL job queue — no web server. Needs `[jobs] runner =
"procrastinate"`; start as many as wanted beside any number of `fasthold serve`. SIGTERM stops
it gracefully: a run under way may finish (within its job's stop timeout), else it is
abandoned and retried by another worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta

import uvloop

from service.app import job_runner, senders_for
from service.clock import Clock, SystemClock
from service.commands._common import EXIT_INVALID, load_config_or_exit
from service.config import ConfigError, MunicipalityConfig, Secrets
from service.jobs.queue import STALLED_CHECK_EVERY, ProcrastinateQueue
from service.planning.consultants import sync_consultants
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform.crypto import DataCipher, DataKeyError
from service.platform.db.engine import Database, default_sqlite_url
from service.platform.logs import configure_logging
from service.slack.settings import SlackSettings
from service.wiring.services import Services, build_services

log = logging.getLogger("fasthold")


async def work(config: MunicipalityConfig, secrets: Secrets, cipher: DataCipher, *,
               concurrency: int = 1, clock: Clock | None = None, solver: Solver | None = None,
               install_signal_handlers: bool = True, polling_interval: float = 5.0,
               stalled_check_every: timedelta = STALLED_CHECK_EVERY,
               on_services: Callable[[Services], None] | None = None,
               shutdown_timeout: float | None = None) -> None:
    """One worker until stopped (a signal, or this coroutine's task cancelled). The schema
    must be at head (`fasthold db upgrade`). `on_services` sees the worker's service graph
    before the first job (tests); `shutdown_timeout`: how long a stop waits for the runs under
    way (default: the longest stop timeout of the catalogue's jobs)."""
    clock = clock or SystemClock(config.municipality.timezone)
    queue = ProcrastinateQueue(secrets.database_url, clock, [config.municipality.id],
                               frozenset(config.planning.closed_dates),
                               stalled_check_every=stalled_check_every)
    db = Database(secrets.database_url, clock)
    own_solver = solver is None
    solver = solver or ProcessPoolSolver()
    try:
        async with db.write() as session:
            await sync_consultants(session, config)
        services = build_services(
            config, db, clock, queue, cipher=cipher, secret_key=secrets.secret_key,
            solver=solver, senders=senders_for(secrets, config, None),
            slack=SlackSettings.from_secrets(secrets))
        await services.consultants.refresh()
        if on_services is not None:
            on_services(services)
        queue.declare(services.job_specs())
        await queue.open()
        try:
            await queue.work(concurrency=concurrency,
                             install_signal_handlers=install_signal_handlers,
                             polling_interval=polling_interval,
                             shutdown_timeout=shutdown_timeout)
        finally:
            await queue.stop()
            await services.reads.close()
    finally:
        if own_solver:
            solver.close()
        await db.dispose()


def run(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args.config)
    if config.jobs.runner != "procrastinate":
        print('fasthold worker: [jobs] runner is "in_process" in the configuration: the web '
              'process runs the jobs (set runner = "procrastinate" on PostgreSQL)',
              file=sys.stderr)
        return EXIT_INVALID
    try:
        secrets = Secrets.from_env(default_sqlite_url(config.municipality.id), dict(os.environ))
        cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
        job_runner(config, secrets, SystemClock(config.municipality.timezone))  # PostgreSQL?
    except (ConfigError, DataKeyError) as exc:
        print(f"fasthold worker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    configure_logging(logging.INFO)
    print(f"fasthold worker ({config.municipality.name}), concurrency {args.concurrency}",
          flush=True)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(work(config, secrets, cipher, concurrency=args.concurrency))
    return 0
