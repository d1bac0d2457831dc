"""`fasthold serve`: run the service. `--demo` is the embedded default for a newcomer."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import secrets as random_secrets
import socket
import sys
from pathlib import Path

import uvloop
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.app import create_app
from service.clock import SystemClock
from service.commands._common import (
    SHARED_DATABASE,
    config_dir_of,
    load_config_or_exit,
    load_configs_or_exit,
)
from service.commands._database import check_before_serving
from service.config import ConfigError, MunicipalityConfig, Secrets, municipality_host
from service.demo.kept import files_directory
from service.jobs.queue import psycopg_conninfo
from service.platform.auth import ROLES, authenticate, create_key
from service.platform.crypto import DataCipher, DataKeyError, new_data_key
from service.platform.db.engine import PROJECT_ROOT, Database, default_sqlite_url
from service.platform.db.migrate import upgrade_async
from service.platform.db.models import ApiKey, StaffUser
from service.platform.logs import AccessLogger, configure_logging
from service.staff.demo import ensure_demo_users
from service.wiring.tenants import create_tenants_app

VAR = PROJECT_ROOT / "var"


def _demo_secret_key() -> str:
    """Demo only: a random key kept under var/ (never in the repository)."""
    path = VAR / "demo-secret-key"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        path.write_text(random_secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _demo_data_key() -> str:
    """Demo only: a random data key (CPR encryption) kept under var/, like the secret key."""
    path = VAR / "demo-data-key"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        path.write_text(new_data_key())
        path.chmod(0o600)
    return path.read_text().strip()


async def _demo_keys(config: MunicipalityConfig, database_url: str, cipher: DataCipher
                     ) -> Path:
    """Demo only: one API key per role, written once to demo-api-keys-<id>.txt beside the
    database (var/ for the default one)."""
    path = files_directory(database_url, VAR) / f"demo-api-keys-{config.municipality.id}.txt"
    clock = SystemClock(config.municipality.timezone)
    db = Database(database_url, clock)
    try:
        await upgrade_async(db.url, cipher)
        async with db.write() as session:
            if await _keys_of_this_database(session, config.municipality.id, path):
                return path
            # none yet, or the file is not this database's (another demo database wrote it,
            # or it was lost): new keys, the old demo keys revoked
            await session.execute(update(ApiKey).where(
                ApiKey.municipality_id == config.municipality.id,
                ApiKey.name.in_([f"demo-{role}" for role in ROLES]),
                ApiKey.revoked_at.is_(None)).values(revoked_at=clock.utcnow()))
            # the consultant's key is the `konsulent` login's consultant (one with room)
            login_consultant = (await session.execute(select(StaffUser.consultant_key).where(
                StaffUser.municipality_id == config.municipality.id,
                StaffUser.username == "konsulent"))).scalar_one_or_none()
            lines = []
            for role in ROLES:
                consultant = (login_consultant or config.consultants[0].id) \
                    if role == "consultant" else None
                _, plain = await create_key(session, config.municipality.id, f"demo-{role}",
                                            role, consultant)
                lines.append(f"{role}\t{plain}")
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path
    finally:
        await db.dispose()


async def _keys_of_this_database(session: AsyncSession, municipality_id: str, path: Path
                                 ) -> bool:
    """Whether the key file holds a working key of this database for every role."""
    if not path.exists():
        return False
    keys = dict(line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line)
    if set(keys) != set(ROLES):
        return False
    for key in keys.values():
        principal = await authenticate(session, key.strip(), municipality_id)
        if principal is None or principal.name != f"demo-{principal.role}":
            return False
    return True


async def _demo_logins(config: MunicipalityConfig, database_url: str, cipher: DataCipher
                       ) -> list[tuple[str, str, str]]:
    """Demo only: one staff login per role (passwords kept in demo-logins-<id>.txt beside the
    database, var/ for the default one)."""
    clock = SystemClock(config.municipality.timezone)
    db = Database(database_url, clock)
    try:
        await upgrade_async(db.url, cipher)
        return await ensure_demo_users(
            db, config, clock,
            files_directory(database_url, VAR) / f"demo-logins-{config.municipality.id}.txt")
    finally:
        await db.dispose()


def run_many(args: argparse.Namespace, directory: str) -> int:
    """`--config-dir`: every municipality of the directory in this process, each on the host
    of its `[mail] link_base_url` (`service.wiring.tenants`), on one database."""
    configure_logging(logging.INFO)
    if args.demo:
        print("fasthold: --demo runs one municipality (--config), not --config-dir",
              file=sys.stderr)
        return 2
    configs = load_configs_or_exit(directory)
    env = dict(os.environ)
    try:
        secrets = Secrets.from_env(default_sqlite_url(SHARED_DATABASE), env)
        if configs[0].jobs.runner == "procrastinate":
            psycopg_conninfo(secrets.database_url)  # the job queue lives in PostgreSQL
        DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    except (ConfigError, DataKeyError) as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    if len(secrets.secret_key) < 32:
        print("fasthold: FASTHOLD_SECRET_KEY must be set to at least 32 random characters",
              file=sys.stderr)
        return 2
    host = args.host or env.get("FASTHOLD_HOST", "127.0.0.1")
    port = args.port if args.port is not None else int(env.get("FASTHOLD_PORT", "8080"))
    # The database answers and its schema is usable (else one line, exit 2, from the CLI).
    asyncio.run(check_before_serving(secrets.database_url, configs[0]))
    try:
        drain = shutdown_timeout(env)
        app = create_tenants_app(configs, secrets, env=env)
    except (ValueError, ConfigError) as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    banner = [f"fasthold ({len(configs)} municipalities) listening on {host}:{port}"]
    banner += [f"  {config.municipality.id:<16} http(s)://{municipality_host(config)}/"
               for config in configs]
    return _run(app, host, port, drain, banner)


# How long a stopping web process lets its requests under way finish (below the 30 s an
# orchestrator such as Kubernetes waits before SIGKILL).
DEFAULT_SHUTDOWN_TIMEOUT = 25.0


def shutdown_timeout(env: dict[str, str]) -> float:
    """FASTHOLD_SHUTDOWN_TIMEOUT: seconds to drain the requests under way on SIGTERM."""
    value = env.get("FASTHOLD_SHUTDOWN_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_SHUTDOWN_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"FASTHOLD_SHUTDOWN_TIMEOUT must be a number of seconds between 0 "
                          f"and 3600, not {value[:20]!r}")
    return seconds


def run(args: argparse.Namespace) -> int:
    directory = config_dir_of(args)
    if directory is not None:
        return run_many(args, directory)
    # `quiet` (the demo): warnings, errors and the requests only — no start-up chatter.
    quiet = getattr(args, "quiet", False)
    configure_logging(logging.WARNING if quiet else logging.INFO)
    if quiet:
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    config = load_config_or_exit(args.config)
    env = dict(os.environ)
    if args.demo:
        env.setdefault("FASTHOLD_SECRET_KEY", _demo_secret_key())
        env.setdefault("FASTHOLD_DATA_KEY", _demo_data_key())
    try:
        secrets = Secrets.from_env(default_sqlite_url(config.municipality.id), env)
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    if config.jobs.runner == "procrastinate":
        try:
            psycopg_conninfo(secrets.database_url)  # the job queue lives in PostgreSQL
        except ConfigError as exc:
            print(f"fasthold: {exc}", file=sys.stderr)
            return 2
    # Migrations only by `fasthold db upgrade` with the queue (several web processes start
    # at once); the database must answer, and not be a newer release's (one line, exit 2).
    asyncio.run(check_before_serving(secrets.database_url, config))
    if len(secrets.secret_key) < 32:
        print("fasthold: FASTHOLD_SECRET_KEY must be set to at least 32 random characters "
              "(or run with --demo)", file=sys.stderr)
        return 2
    try:
        cipher = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    except DataKeyError as exc:
        print(f"fasthold: {exc} (or run with --demo)", file=sys.stderr)
        return 2
    try:
        drain = shutdown_timeout(env)
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    host = args.host or env.get("FASTHOLD_HOST", "127.0.0.1")
    port = args.port if args.port is not None else int(env.get("FASTHOLD_PORT", "8080"))
    if args.demo:
        logins = asyncio.run(_demo_logins(config, secrets.database_url, cipher))
        keys = asyncio.run(_demo_keys(config, secrets.database_url, cipher))
        print(f"Demo API keys (one per role): {keys}")
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if args.demo:
        # Links in the demo's mails must lead back to this very process.
        config = config.model_copy(update={"mail": config.mail.model_copy(
            update={"link_base_url": f"http://{shown}:{port}"})})
    app = create_app(config, secrets, demo=args.demo)
    banner = [f"fasthold ({config.municipality.name}) listening on http://{shown}:{port}/"]
    if args.demo:
        banner.append(f"Staff pages: http://{shown}:{port}/login – demo logins "
                      "(user / password):")
        banner += [f"  {role:<10} {username} / {password}"
                   for role, username, password in logins]
    if args.demo and not secrets.smtp_host:
        banner.append(f"Demo mailbox (staff): http://{shown}:{port}/demo/mailbox?key=<a key "
                      f"from {keys}>")
    if args.demo and not secrets.slack_bot_token:
        banner.append(f"Demo Slack (staff): http://{shown}:{port}/demo/slack?key=<a key from "
                      f"{keys}>")
    return _run(app, host, port, drain, banner)


def _run(app: web.Application, host: str, port: int, drain: float,
         banner: list[str]) -> int:
    """Serve until stopped; exit 2 when the stored CPR numbers need another data key. uvloop:
    the same asyncio, a faster event loop (sockets, timers, the database drivers). SIGTERM:
    stop listening, let the requests under way finish (at most `drain` seconds; the load
    balancer sends new ones to the other web processes), then stop. `banner` ("listening on
    …") is printed once the app has started and its sockets listen: a URL it shows answers."""

    def listening(_aiohttp_says: str) -> None:
        for line in banner:
            print(line, flush=True)

    try:
        web.run_app(app, host=host, port=port, print=listening, access_log_class=AccessLogger,
                    loop=uvloop.new_event_loop(), shutdown_timeout=drain)
    except DataKeyError as exc:  # the stored CPR numbers need another key
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    except socket.gaierror as exc:  # a host name that does not resolve
        print(f"fasthold: --host {host}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # the port taken, the database unreachable, a folder it cannot write: said in one
        # line, not as a traceback
        where = f" (--host {host} --port {port})" if exc.errno == errno.EADDRINUSE else ""
        print(f"fasthold: cannot start{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
