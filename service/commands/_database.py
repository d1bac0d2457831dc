"""What every command says when the database cannot be used — unreachable, nonexistent, an
unknown kind of URL, a schema that is not this release's — decided in one place
(`service.commands.cli.main`): one line naming the database (without its password) and what
to do, exit status 2; never a traceback. And the schema rule the commands share with
`serve`."""

from __future__ import annotations

import os
import re

from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from service.config import MunicipalityConfig
from service.platform.crypto import DataCipher
from service.platform.db.migrate import (
    SchemaCheckFailed,
    SchemaNotAtHead,
    check_at_head,
    check_not_ahead,
    upgrade_async,
)

_WHAT_TO_DO = (" — check FASTHOLD_DATABASE_URL, that the database server runs and that the "
               "database exists (then `fasthold db upgrade`)")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def shown_url(url: str | None = None) -> str:
    """The database URL (default: FASTHOLD_DATABASE_URL) without its password."""
    url = url if url is not None else os.environ.get("FASTHOLD_DATABASE_URL", "")
    return _PASSWORD.sub(r"\1***@", url) or "the embedded default (SQLite under var/)"


def _connection_refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def database_problem(exc: BaseException) -> str | None:
    """The one line to print for `exc` when it is the database's problem, else None."""
    where = shown_url()
    if isinstance(exc, SchemaNotAtHead):  # behind (run db upgrade) or ahead (a newer release)
        return f"database {where}: {exc}"
    if isinstance(exc, SchemaCheckFailed):  # its version could not be read: why
        return database_problem(exc.__cause__) if exc.__cause__ is not None else (
            f"cannot use the database {where}: {exc}{_WHAT_TO_DO}")
    if isinstance(exc, ValueError) and str(exc).startswith("FASTHOLD_DATABASE_URL"):
        return str(exc)  # a kind of database the service does not run on
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        return (f"FASTHOLD_DATABASE_URL {where}: not a database URL this service can use "
                f"({' '.join(str(exc).split())[:160]}); use postgresql://… or sqlite:///…")
    if isinstance(exc, (OperationalError, InterfaceError, DBAPIError)) or (
            isinstance(exc, OSError) and _connection_refused(exc)) or (
            type(exc).__module__.startswith(("asyncpg", "psycopg"))):
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        text = " ".join(str(reason).split())[:200] or type(reason).__name__
        return f"cannot use the database {where}: {type(reason).__name__}: {text}{_WHAT_TO_DO}"
    return None


async def prepare_schema(url: str, config: MunicipalityConfig,
                         cipher: DataCipher | None = None) -> None:
    """The schema rule of `serve`, for the commands that write (`apikey create`, `user
    create`, `datakey rotate`): the embedded default (`[jobs] runner = "in_process"`)
    migrates itself, as its first start would; with the job queue only `fasthold db
    upgrade` migrates, and a schema that is not at head is refused (SchemaNotAtHead). A
    database a newer release migrated is refused either way (SchemaAhead)."""
    if config.jobs.runner == "procrastinate":
        await check_at_head(url)
    else:
        await upgrade_async(url, cipher)


async def check_before_serving(url: str, config: MunicipalityConfig) -> None:
    """What `serve` checks before it listens, so that a database it cannot use is one line
    (exit 2) and not a traceback from its start: with the job queue the schema at head (only
    `fasthold db upgrade` migrates); else that the database answers and no newer release
    migrated it (the process migrates it on start)."""
    if config.jobs.runner == "procrastinate":
        await check_at_head(url)
    else:
        await check_not_ahead(url)
