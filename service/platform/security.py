"""Response hardening and a brake on guessing: headers every answer carries, no version
banner, and a limit on repeated failures (e.g. forged employer-link tokens) per address."""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware

from service.clock import Clock
from service.platform.http import Handler

# What the `Server` header says instead of aiohttp's "Python/3.x aiohttp/x.y" banner.
SERVER_NAME = "fasthold"


async def harden_response(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: no caching of answers (personal data), no MIME sniffing, no
    version banner. A handler that chose its own Cache-Control keeps it."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # aiohttp adds its banner only when the header is absent (after this hook has run).
    response.headers["Server"] = SERVER_NAME


class FailureLimiter:
    """Counts failures per address in a sliding window (in memory, per process); an address
    with `limit` failures within `window` is over the limit until the oldest one ages out."""

    # Above this many addresses, those without a failure in the window are forgotten.
    PRUNE_ABOVE = 10_000

    def __init__(self, clock: Clock, limit: int = 20,
                 window: timedelta = timedelta(minutes=1)) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def retry_after(self, address: str) -> int:
        """Seconds until `address` is under the limit again; 0 if it is now."""
        failures = self._failures.get(address)
        if failures is None or len(failures) < self.limit:
            return 0
        left = failures[0] + self.window - self.clock.utcnow()
        return max(0, math.ceil(left.total_seconds()))

    def fail(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= self.PRUNE_ABOVE:
            self._prune()
        self._failures.setdefault(address, deque(maxlen=self.limit)).append(
            self.clock.utcnow())

    def _prune(self) -> None:
        oldest = self.clock.utcnow() - self.window
        for address in [a for a, f in self._failures.items() if f[-1] <= oldest]:
            del self._failures[address]


def limit_failures(prefix: str, status: int, limiter: FailureLimiter) -> Middleware:
    """A middleware for paths under `prefix`: each `status` answer counts as a failure of the
    caller's address; once over the limit, further failures are answered 429 (with
    Retry-After) instead. Requests that succeed are never counted nor refused, so a valid
    employer link keeps working from any address."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(prefix):
            return await handler(request)
        address = request.remote or "unknown"
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status != status:
                raise
            response = exc
        if response.status != status:
            return response
        wait = limiter.retry_after(address)
        limiter.fail(address)
        if wait:
            return web.Response(
                status=429, text="For mange ugyldige links på kort tid. Vent et øjeblik og "
                "prøv igen, eller ring til jobcentret.", charset="utf-8",
                headers={"Retry-After": str(wait)})
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware
