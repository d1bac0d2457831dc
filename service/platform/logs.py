"""Logging set-up. Log lines never carry CPR numbers, health data or a database statement's
parameters: a filter masks CPR-like numbers that slip through and writes every traceback
without the database's parameters and row values (`safe_traceback`)."""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Mapping

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse

# A CPR number: DDMMYY (a real day 01-31 and month 01-12), then four digits, with or without
# a hyphen — never part of a longer run of digits nor followed by decimals (`1712011234.25`),
# and not the value of procrastinate's `timestamp=` (a ten-digit Unix time).
_CPR_LIKE = re.compile(
    r"(?<![0-9])(?<!timestamp=)((?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2})-?[0-9]{4}"
    r"(?![0-9]|\.[0-9])")
# What a database's error text may quote of the rows and parameters: SQLAlchemy's
# `[parameters: …]` (up to the line's end: the values may hold "]"), PostgreSQL's DETAIL
# line ("Failing row contains (…)", "Key (cpr_hash)=(…) already exists").
_PARAMETERS = re.compile(r"\[parameters: .*")
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
# The drivers whose exceptions quote values (`invalid input syntax for type date: "…"`).
_DATABASE_MODULES = ("asyncpg", "sqlite3", "aiosqlite", "psycopg", "sqlalchemy")

# `FASTHOLD_LOG_LEVEL`: DEBUG, INFO, WARNING or ERROR; unset, each command's own level.
LOG_LEVEL_ENV = "FASTHOLD_LOG_LEVEL"
LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}
# Loggers that are chatty at INFO (procrastinate: a line per job started, finished and
# polled — ~150 a minute for two idle municipalities): WARNING unless the level asks for
# more (`FASTHOLD_LOG_LEVEL=INFO` or DEBUG).
QUIET_LOGGERS = ("procrastinate",)


def mask_cpr(text: str) -> str:
    """CPR-like numbers in `text` with their last four digits as XXXX."""
    return _CPR_LIKE.sub(r"\1-XXXX", text)


def scrub(text: str) -> str:
    """A log text with CPR-like numbers masked and a database's parameters and row values
    (`[parameters: …]`, PostgreSQL's DETAIL line) left out."""
    text = _PARAMETERS.sub("[parameters: not logged]", text)
    text = _DETAIL.sub(r"\1 (not logged)", text)
    return mask_cpr(text)


def _from_database(exc: BaseException) -> bool:
    return type(exc).__module__.split(".", 1)[0] in _DATABASE_MODULES


def _database_words(exc: BaseException) -> str:
    """A database error's own words without a value: its SQLSTATE, the constraint, table
    and column it names, the first line of its message with quoted text left out."""
    driver = exc.__cause__ if exc.__cause__ is not None else exc
    parts: list[str] = []
    for holder in (exc, driver):
        code = getattr(holder, "sqlstate", None) or getattr(holder, "pgcode", None)
        if isinstance(code, str) and code:
            parts.append(f"SQLSTATE {code}")
            break
    for name in ("constraint_name", "table_name", "column_name"):
        value = getattr(driver, name, None)
        if isinstance(value, str) and value:
            parts.append(f"{name.split('_')[0]} {value}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    # `<class 'asyncpg.exceptions.X'>: message` (SQLAlchemy's adaptor) reads as the message
    first = re.sub(r"^<class '[\w.]+'>:\s*", "", first)
    if first:
        parts.append(_QUOTED.sub("«…»", _PARAMETERS.sub("", first)).strip())
    return "; ".join(parts)


def exception_line(exc: BaseException) -> str:
    """The last line of a traceback, `Type: message`, as a log may carry it: a database
    error without its parameters or values, a validation error without its input."""
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    statement = getattr(exc, "statement", None)
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException) and _from_database(exc):
        line = f"{name}: ({type(orig).__module__}.{type(orig).__qualname__}) " \
               f"{_database_words(orig)}"
        if isinstance(statement, str):
            line += f"\n[SQL: {statement[:1000]}]"
        return line
    if _from_database(exc):
        return f"{name}: {_database_words(exc)}"
    errors = getattr(exc, "errors", None)
    if type(exc).__module__.startswith("pydantic") and callable(errors):
        # pydantic's message quotes the input (`input_value='…'`): the places and kinds only
        try:
            found = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('type')}"
                              for e in errors())
        except Exception:  # noqa: BLE001 - the line must be written whatever the error holds
            found = "(not readable)"
        return f"{name}: {found}"
    return f"{name}: {exc}" if str(exc) else name


def safe_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and the exceptions it came from, as Python writes it (frames
    and source lines) but each exception's line from `exception_line` and the whole
    scrubbed: no statement parameters, row values or CPR numbers."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ if current.__cause__ is not None else (
            None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for i, item in enumerate(reversed(chain)):
        if i:
            parts.append("\nDuring the handling of the above exception, another exception "
                         "occurred:\n\n" if item.__cause__ is None else
                         "\nThe above exception was the direct cause of the following "
                         "exception:\n\n")
        if item.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(exception_line(item) + "\n")
    return scrub("".join(parts)).rstrip("\n")


class CprMaskingFilter(logging.Filter):
    """Last line of defence: code must not log personal data, but if it does, mask CPR-like
    numbers and leave out a database's parameters before the record reaches any handler; a
    record's traceback is written by `safe_traceback` (its exception is dropped from the
    record, so no handler formats it raw)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = scrub(message)
        if masked != message:
            record.msg, record.args = masked, None
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            record.exc_text = safe_traceback(exc)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def log_level(env: Mapping[str, str], default: int) -> tuple[int, bool]:
    """The level `FASTHOLD_LOG_LEVEL` names (and True), or `default` (and False); a value
    that names no level is an error naming the variable."""
    raw = env.get(LOG_LEVEL_ENV, "").strip().upper()
    if not raw:
        return default, False
    if raw not in LEVELS:
        raise ValueError(f"{LOG_LEVEL_ENV} must be one of {', '.join(LEVELS)}, not {raw[:20]!r}")
    return LEVELS[raw], True


def configure_logging(level: int = logging.INFO, env: Mapping[str, str] | None = None) -> None:
    """One handler on standard error, every record through `CprMaskingFilter`. The level is
    `FASTHOLD_LOG_LEVEL` when set, else the command's `level`; procrastinate's loggers stay
    at WARNING unless `FASTHOLD_LOG_LEVEL` asks for INFO or DEBUG."""
    try:
        chosen, asked = log_level(os.environ if env is None else env, level)
    except ValueError as exc:
        chosen, asked = level, False
        logging.getLogger("fasthold").warning("%s; using %s", exc,
                                              logging.getLevelName(level))
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CprMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(chosen if asked else max(chosen, logging.WARNING))


class BadRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot parse at ERROR with the parser's message, which
    quotes the offending header line raw — an `Authorization` header with a control character
    after a valid key puts the key in the log. Such records keep only who sent it and what
    kind of error it was, at WARNING (the client's fault, not the service's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "malformed HTTP request from %s: %s %s (its content is not logged)"
            record.args = (remote, exc.code, type(exc).__name__)
            record.exc_info = record.exc_text = record.stack_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


# The logger aiohttp's connection handler logs parse errors to.
SERVER_LOGGER = "aiohttp.server"


def install_bad_request_filter() -> None:
    """Put `BadRequestFilter` on aiohttp's server logger (once; any handler then sees only
    the cleaned record)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, BadRequestFilter) for f in logger.filters):
        logger.addFilter(BadRequestFilter())


# Paths whose next segment is a secret link token — the whole of its access control: the
# employer's meeting link (`/m/<token>/…`), the citizen's link to the private talk
# (`/samtale/<token>`) and its short code (`/samtale/k/<code>`, before `/samtale/`).
TOKEN_PATH_PREFIXES = ("/m/", "/samtale/k/", "/samtale/")
# A consultant's calendar feed: the secret token is the whole of its access control.
_FEED_TOKEN = re.compile(r"^/calendar/[^/]+\.ics$")


def safe_path(path: str) -> str:
    """A request path as a log line may name it: the token after any of
    `TOKEN_PATH_PREFIXES` shortened to `…` (`/m/…/confirm`), a feed's to `/calendar/….ics`."""
    for prefix in TOKEN_PATH_PREFIXES:
        if path.startswith(prefix):
            _token, slash, rest = path[len(prefix):].partition("/")
            return f"{prefix}…{slash}{rest}"
    return _FEED_TOKEN.sub("/calendar/….ics", path)


class AccessLogger(AbstractAccessLogger):
    """One line per request without secrets: the client, the Host it asked for (which
    municipality, when one process serves several), the method, the path without its query
    string (the demo mailbox takes a key there) and with link and feed tokens shortened
    (`safe_path`), the status and the time taken:
    `10.0.0.7 herning.fasthold.dk "GET /m/…" 200 0.012s`."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = safe_path(request.path)
        host = request.headers.get("Host")
        host = "-" if not isinstance(host, str) else host if _HOST.fullmatch(host) else "?"
        self.logger.info('%s %s "%s %s" %s %.3fs', request.remote, host, request.method,
                         path, response.status, time)


# A Host header as a log line may carry it (a name or address and a port): anything else a
# client sent there is written as "?".
_HOST = re.compile(r"[A-Za-z0-9.:\[\]-]{1,255}")
