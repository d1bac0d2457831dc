"""Logging set-up. Log lines never carry CPR numbers: a filter masks any that slip through."""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
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


_LINK_TOKEN = re.compile(r"^/m/[^/]+")


class AccessLogger(AbstractAccessLogger):
    """One line per request without secrets: no query string (the demo mailbox takes a key
    there) and employers' link tokens shortened to `/m/…`."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = _LINK_TOKEN.sub("/m/…", request.path)
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method, path,
                         response.status, time)
