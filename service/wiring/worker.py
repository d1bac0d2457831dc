"""The worker's composition: the service graph of one municipality (the one builder,
`service.wiring.services`) with the PostgreSQL job queue, running the catalogue's jobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from service.app import senders_for
from service.clock import Clock, SystemClock
from service.config import MunicipalityConfig, Secrets, secrets_for
from service.jobs.queue import STALLED_CHECK_EVERY, ProcrastinateQueue
from service.planning.consultants import sync_consultants
from service.planning.solver import ProcessPoolSolver, Solver
from service.platform.crypto import DataCipher
from service.platform.db.engine import Database
from service.platform.jobqueue import HEARTBEAT_SECONDS
from service.slack.settings import SlackSettings
from service.wiring.services import Services, build_services


async def work(config: MunicipalityConfig | Sequence[MunicipalityConfig], secrets: Secrets,
               cipher: DataCipher, *, concurrency: int = 1, clock: Clock | None = None,
               solver: Solver | None = None, install_signal_handlers: bool = True,
               polling_interval: float = 5.0,
               stalled_check_every: timedelta = STALLED_CHECK_EVERY,
               heartbeat: float = HEARTBEAT_SECONDS,
               on_services: Callable[[Services], None] | None = None,
               shutdown_timeout: float | None = None,
               env: dict[str, str] | None = None) -> None:
    """One worker until stopped (a signal, or this coroutine's task cancelled), for one
    municipality or for every one of a deployment of many (`--config-dir`: one queue, each
    municipality's jobs bound to its own services and Slack, see `secrets_for` and `env`).
    The schema must be at head (`fasthold db upgrade`). `on_services` sees each service
    graph before the first job (tests); `shutdown_timeout`: how long a stop waits for the
    runs under way (default: the longest stop timeout of the catalogue's jobs); `heartbeat`:
    seconds between the worker's signs of life (the jobs of one silent for three of them
    run again)."""
    configs = [config] if isinstance(config, MunicipalityConfig) else list(config)
    many = not isinstance(config, MunicipalityConfig)
    first = configs[0]
    clock = clock or SystemClock(first.municipality.timezone)
    queue = ProcrastinateQueue(secrets.database_url, clock,
                               [c.municipality.id for c in configs],
                               first.planning.closed(),
                               stalled_check_every=stalled_check_every, heartbeat=heartbeat)
    db = Database(secrets.database_url, clock)
    own_solver = solver is None
    solver = solver or ProcessPoolSolver(processes=concurrency)  # a plan per job at once
    graphs: list[Services] = []
    try:
        for one in configs:
            own = secrets_for(secrets, one.municipality.id, env) if many else secrets
            async with db.write() as session:
                await sync_consultants(session, one)
            services = build_services(
                one, db, clock, queue, cipher=cipher, secret_key=own.secret_key,
                solver=solver, senders=senders_for(own, one, None),
                slack=SlackSettings.from_secrets(own))
            await services.intake.check_data_keys()  # as the web's start: the right key?
            await services.consultants.refresh()
            if on_services is not None:
                on_services(services)
            if many:
                queue.declare(services.job_specs(), one.municipality.id,
                              one.planning.closed())
            else:
                queue.declare(services.job_specs())
            graphs.append(services)
        await queue.open()
        try:
            await queue.work(concurrency=concurrency,
                             install_signal_handlers=install_signal_handlers,
                             polling_interval=polling_interval,
                             shutdown_timeout=shutdown_timeout,
                             on_database_back=db.engine.dispose)  # its broken connections
        finally:
            await queue.stop()
            for services in graphs:
                await services.reads.close()
    finally:
        if own_solver:
            solver.close()
        await db.dispose()
