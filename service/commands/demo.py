"""`fasthold demo`: the service on the embedded default with a seeded municipality
(`config/demo.toml`): half a year of history simulated through the real use cases on first
start, then exactly `fasthold serve --demo` (mail sink and mailbox page, Slack page, one login
per role, demo API keys). Starting again adds nothing; `--reset` starts afresh."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, load_config_or_exit
from service.commands.serve import _demo_data_key, _demo_secret_key
from service.commands.serve import run as serve
from service.config import DEFAULT_CONFIG, ConfigError, MunicipalityConfig, Secrets
from service.demo.kept import mail_store, slack_store
from service.platform.crypto import DataCipher, DataKeyError
from service.platform.db.engine import default_sqlite_url, normalise_url
from service.platform.logs import configure_logging
from service.simulation.history import (
    DEFAULT_WEEKS,
    History,
    covered_months,
    first_day_of_history,
    seed_history,
)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database)


def _reset(url: str) -> str | None:
    """Delete the demo's SQLite database (its WAL files, the demo mailbox's kept mails and
    the fake Slack's kept workspace); an error message otherwise."""
    path = _sqlite_file(url)
    if path is None:
        return ("--reset deletes the demo's SQLite file; FASTHOLD_DATABASE_URL names another "
                "database: empty it yourself")
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        file.unlink(missing_ok=True)
    mails, slack = mail_store(url), slack_store(url)
    if mails is not None:
        shutil.rmtree(mails, ignore_errors=True)  # the demo mailbox's kept mails
    if slack is not None:
        slack.unlink(missing_ok=True)  # the fake Slack's kept workspace
    return None


def _about(config: MunicipalityConfig, first: date, today: date) -> str:
    """What the history holds for the dashboard, and how its planning differs from the
    service's."""
    sim = config.simulation
    covered = covered_months(first, today, config.rules.intervention_deadline_days)
    months = (f"every figure from {covered[0]:%m-%Y} to {covered[-1]:%m-%Y}" if covered
              else "no month with every figure yet (a longer --weeks gives them)")
    return (f"Dashboard: {months}. In the history the planner ran at "
            f"{' and '.join(sim.planning_times)} each working day ({sim.solver}, "
            f"{sim.time_limit_seconds:g} s a run, reproducibly); the service plans within "
            f"seconds of each change (at most {config.planning.time_limit_seconds:g} s a run).")


# What a history costs on the 2-core development machine: a fixed part (the database, the
# consultants, the first planning runs) and a part per case it simulates — the demo's 26 weeks
# of 45 cases a month about 20 s, Herning's 65 weeks of 154 a month about 2 minutes.
HISTORY_FIXED_SECONDS = 5.0
HISTORY_SECONDS_PER_CASE = 0.05


def history_duration(config: MunicipalityConfig, weeks: int) -> str:
    """About how long simulating `weeks` of history takes, in words (10 s or a minute)."""
    cases = config.simulation.inflow_per_month * weeks * 12 / 52
    seconds = HISTORY_FIXED_SECONDS + HISTORY_SECONDS_PER_CASE * cases
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} seconds"
    return f"about {round(seconds / 60):.0f} minutes"


def _seed_with_progress(config: MunicipalityConfig, database_url: str, cipher: DataCipher,
                        secret_key: str, now: datetime, weeks: int) -> History | None:
    """The history under a progress bar (on a terminal; nothing otherwise), its log quiet
    but for warnings: the first start's output is the few lines that matter. What is being
    simulated is said when the first day begins — a database that holds its history already
    simulates nothing, and says only that."""
    console = Console(stderr=True)
    first = first_day_of_history(now, weeks)
    with Progress(TextColumn("[bold]history[/bold] {task.description}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("days"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal
                  ) as progress:
        task = progress.add_task(f"{first:%Y-%m-%d}", total=(now.date() - first).days + 1)
        begun: list[datetime] = []

        def on_day(moment: datetime) -> None:
            if not begun:
                begun.append(moment)
                print(f"Simulating {weeks} weeks of {config.municipality.name} up to today "
                      f"(first start only; {history_duration(config, weeks)})…", flush=True)
            progress.update(task, completed=(moment.date() - first).days,
                            description=f"{moment:%Y-%m-%d}")

        # uvloop, as `serve` and `simulate` run: the database driver's thread hands results
        # over faster.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            history = runner.run(seed_history(config, database_url, cipher, secret_key, now,
                                              weeks, on_day=on_day))
        progress.update(task, completed=(now.date() - first + timedelta(days=1)).days)
    return history


def run(args: argparse.Namespace) -> int:
    # Warnings and errors only: the demo's output is its URLs and logins (requests are still
    # logged once it listens; `serve` logs everything).
    configure_logging(logging.WARNING)
    config = load_config_or_exit(args.config or str(DEFAULT_CONFIG))
    env = dict(os.environ)
    env.setdefault("FASTHOLD_SECRET_KEY", _demo_secret_key())
    env.setdefault("FASTHOLD_DATA_KEY", _demo_data_key())
    try:
        secrets = Secrets.from_env(default_sqlite_url(config.municipality.id), env)
        cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    except (ConfigError, DataKeyError) as exc:
        print(f"fasthold demo: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.reset:
        problem = _reset(secrets.database_url)
        if problem:
            print(f"fasthold demo: {problem}", file=sys.stderr)
            return EXIT_INVALID
        print("Demo database deleted: starting afresh.", flush=True)
    host = args.host or env.get("FASTHOLD_HOST", "127.0.0.1")
    port = args.port if args.port is not None else int(env.get("FASTHOLD_PORT", "8080"))
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    # The history's mails carry links to this very service, as serve --demo's do.
    linked = config.model_copy(update={"mail": config.mail.model_copy(
        update={"link_base_url": f"http://{shown}:{port}"})})
    database_file = _sqlite_file(secrets.database_url)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
    now = SystemClock(config.municipality.timezone).local_now()
    weeks = args.weeks or DEFAULT_WEEKS
    history = _seed_with_progress(linked, secrets.database_url, cipher, secrets.secret_key,
                                  now, weeks)
    if history is None:
        print("The demo's database already holds cases (its history): nothing added "
              "(`fasthold demo --reset` starts afresh).", flush=True)
    else:
        print(f"History from {history.first_day:%d-%m-%Y}: {history.cases} cases registered, "
              f"{history.counters.get('closed', 0)} closed, "
              f"{history.counters.get('employer_confirmed', 0)} meetings confirmed by "
              "employers.", flush=True)
        print(_about(config, history.first_day, now.date()), flush=True)
    return serve(argparse.Namespace(config=args.config or str(DEFAULT_CONFIG), host=args.host,
                                    port=args.port, demo=True, quiet=True))
