"""`fasthold user create`: a staff user who logs in to the staff pages.

The password comes from `FASTHOLD_PASSWORD`, else from a prompt (typed twice); it is stored
only as an argon2 hash. Exit status 2 with a message naming the option on invalid input.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, municipality_or_exit
from service.commands._database import prepare_schema
from service.config import ConfigError, MunicipalityConfig, Secrets
from service.platform.db.engine import Database
from service.platform.errors import Conflict, Invalid
from service.platform.sessions import StaffSessions
from service.staff.passwords import password_problem
from service.staff.users import StaffUsers, UserView
from service.text.errors import danish_error, danish_problem

# The use case's field names as the command's options.
_OPTIONS = {"username": "--username", "role": "--role", "consultant_id": "--consultant-id",
            "password": "FASTHOLD_PASSWORD"}


def _password(username: str) -> str | None:
    given = os.environ.get("FASTHOLD_PASSWORD")
    if given is not None:
        return given
    if not sys.stdin.isatty():
        print("fasthold: set FASTHOLD_PASSWORD or run in a terminal to type the password",
              file=sys.stderr)
        return None
    while True:
        first = getpass.getpass(f"Adgangskode til {username}: ")
        problem = password_problem(first, username)
        if problem:
            print(problem, file=sys.stderr)
            continue
        if getpass.getpass("Gentag adgangskoden: ") == first:
            return first
        print("De to adgangskoder er ikke ens. Prøv igen.", file=sys.stderr)


async def _create(config: MunicipalityConfig, secrets: Secrets, args: argparse.Namespace,
                  password: str) -> UserView:
    clock = SystemClock(config.municipality.timezone)
    db = Database(secrets.database_url, clock)
    try:
        await prepare_schema(db.url, config)  # as `serve` would on start
        users = StaffUsers(db, config, clock, StaffSessions(db, clock, config.municipality.id))
        return await users.create(args.username, args.role, password, args.consultant_id)
    finally:
        await db.dispose()


def create(args: argparse.Namespace) -> int:
    config, default_url = municipality_or_exit(args)
    try:
        secrets = Secrets.from_env(default_url)
    except ConfigError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return EXIT_INVALID
    password = _password(args.username.strip().lower())
    if password is None:
        return EXIT_INVALID
    try:
        user = asyncio.run(_create(config, secrets, args, password))
    except Invalid as exc:
        for error in exc.errors:
            print(f"fasthold: {_OPTIONS.get(error['field'], error['field'])}: "
                  f"{danish_error(error['field'], error['code'], error['params'])}",
                  file=sys.stderr)
        return EXIT_INVALID
    except Conflict as exc:
        print(f"fasthold: --username: {danish_problem(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except RuntimeError as exc:  # e.g. the schema upgrade needs FASTHOLD_DATA_KEY
        print(f"fasthold: {exc}", file=sys.stderr)
        return EXIT_INVALID
    consultant = f"\t{user.consultant_key}" if user.consultant_key else ""
    print(f"{user.id}\t{user.username}\t{user.role}{consultant}")
    return 0
