"""Logging set-up. Log lines never carry CPR numbers: a filter masks any that slip through."""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse

_CPR_LIKE = re.compile(r"(?<!\d)(\d{6})-?\d{4}(?!\d)")


class CprMaskingFilter(logging.Filter):
    """Last line of defence: code must not log personal data, but if it does, mask CPR-like
    numbers before the record reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _CPR_LIKE.sub(r"\1-XXXX", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CprMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


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


_LINK_TOKEN = re.compile(r"^/m/[^/]+")
# A consultant's calendar feed: the secret token is the whole of its access control.
_FEED_TOKEN = re.compile(r"^/calendar/[^/]+\.ics$")


def safe_path(path: str) -> str:
    """A request path as a log line may name it: link and feed tokens shortened."""
    return _FEED_TOKEN.sub("/calendar/….ics", _LINK_TOKEN.sub("/m/…", path))


class AccessLogger(AbstractAccessLogger):
    """One line per request without secrets: no query string (the demo mailbox takes a key
    there), employers' link tokens shortened to `/m/…` and calendar feed tokens to
    `/calendar/….ics`."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = safe_path(request.path)
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method, path,
                         response.status, time)
