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

import uvloop

from service.commands._common import (
    EXIT_INVALID,
    SHARED_DATABASE,
    config_dir_of,
    load_config_or_exit,
    load_configs_or_exit,
)
from service.config import ConfigError, Secrets
from service.jobs.queue import WorkerKeepsFailing, psycopg_conninfo
from service.platform.crypto import DataCipher, DataKeyError
from service.platform.db.engine import default_sqlite_url
from service.platform.db.migrate import check_at_head
from service.platform.logs import configure_logging
from service.wiring.worker import work


def run(args: argparse.Namespace) -> int:
    directory = config_dir_of(args)
    configs = load_configs_or_exit(directory) if directory is not None else [
        load_config_or_exit(args.config)]
    config = configs[0]
    if any(c.jobs.runner != "procrastinate" for c in configs):
        print('fasthold worker: [jobs] runner is "in_process" in the configuration: the web '
              'process runs the jobs (set runner = "procrastinate" on PostgreSQL)',
              file=sys.stderr)
        return EXIT_INVALID
    try:
        secrets = Secrets.from_env(default_sqlite_url(
            SHARED_DATABASE if directory is not None else config.municipality.id),
            dict(os.environ))
        cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
        psycopg_conninfo(secrets.database_url)  # the job queue lives in PostgreSQL
        # Migrations: `fasthold db upgrade`; a schema not at head, or a database that cannot
        # be used, is one line from the CLI (exit 2).
        asyncio.run(check_at_head(secrets.database_url))
    except (ConfigError, DataKeyError) as exc:
        print(f"fasthold worker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    configure_logging(logging.INFO)
    names = ", ".join(c.municipality.name for c in configs)
    print(f"fasthold worker ({names}), concurrency {args.concurrency}, heartbeat "
          f"{args.heartbeat:g} s", flush=True)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(work(configs if directory is not None else config, secrets, cipher,
                            concurrency=args.concurrency, heartbeat=args.heartbeat))
    except DataKeyError as exc:  # the stored CPR numbers need another key
        print(f"fasthold worker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except WorkerKeepsFailing as exc:  # not the database going away: a supervisor restarts it
        print(f"fasthold worker: {exc}", file=sys.stderr)
        return 1
    # Only a signal ends a worker normally: a lost database is waited out (see `work`).
    return 0
