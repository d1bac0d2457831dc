"""SimPy's virtual time driving the service's async use cases.

SimPy processes are generators and cannot await; the use cases are coroutines. A process
asks for a use case with `yield bridge.call(lambda: use_case(...))`: the bridge runs the
coroutine on the event loop at that virtual moment (the injected clock set to it) and resumes
the process with the result. Domain errors (NotFound, Invalid, Conflict, Forbidden) come back
as a `Refused` value, as an API client would see a 4xx; anything else is a bug and stops the
simulation.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import simpy

from service.clock import SettableClock
from service.platform.errors import Conflict, Forbidden, Invalid, NotFound

MINUTES_PER_DAY = 24 * 60
DOMAIN_ERRORS = (NotFound, Invalid, Conflict, Forbidden)


@dataclass(frozen=True)
class Refused:
    """A use case said no (what the API would answer with a 4xx)."""

    error: Exception


class Bridge:
    """Runs a SimPy environment whose time (in minutes from `origin`, a local wall-clock
    time) is the injected clock's time."""

    def __init__(self, clock: SettableClock, origin: datetime) -> None:
        self.env = simpy.Environment()
        self.clock = clock
        self.origin = origin
        self._calls: deque[tuple[Callable[[], Awaitable[Any]], simpy.Event]] = deque()
        self.calls_made = 0
        self.call_seconds = 0.0
        # per use case (the coroutine's qualified name, e.g. `MeetingAnswers.confirm`): how
        # often it was called and its seconds — where a simulation's time goes, without a
        # profiler's cost per Python call
        self.calls_by_name: Counter[str] = Counter()
        self.seconds_by_name: Counter[str] = Counter()

    def at(self, moment: datetime) -> float:
        """Virtual time (minutes) of a local wall-clock moment."""
        return (moment - self.origin).total_seconds() / 60

    def moment(self, now: float | None = None) -> datetime:
        """The local wall-clock moment of virtual time `now` (default: the present)."""
        return self.origin + timedelta(minutes=self.env.now if now is None else now)

    def wait_until(self, moment: datetime) -> simpy.Event:
        """An event at `moment` (at once if it has passed)."""
        return self.env.timeout(max(0.0, self.at(moment) - self.env.now))

    def call(self, make: Callable[[], Awaitable[Any]]) -> simpy.Event:
        """An event that succeeds with the use case's result (or a `Refused`)."""
        event = self.env.event()
        self._calls.append((make, event))
        return event

    async def run(self, until: datetime, on_day: Callable[[datetime], None] | None = None
                  ) -> None:
        """Run every event before `until`, awaiting the use cases in the order asked."""
        end = self.at(until)
        day = int(self.env.now // MINUTES_PER_DAY)
        while True:
            while self._calls:
                make, event = self._calls.popleft()
                self.clock.set(self.moment())
                self.calls_made += 1
                started = time.perf_counter()
                awaitable = make()
                name = getattr(awaitable, "__qualname__", type(awaitable).__name__)
                try:
                    value = await awaitable
                except DOMAIN_ERRORS as exc:
                    value = Refused(exc)
                took = time.perf_counter() - started
                self.call_seconds += took
                self.calls_by_name[name] += 1
                self.seconds_by_name[name] += took
                event.succeed(value)
            if self.env.peek() >= end:
                break
            self.env.step()
            if on_day is not None and int(self.env.now // MINUTES_PER_DAY) != day:
                day = int(self.env.now // MINUTES_PER_DAY)
                on_day(self.moment())
        self.clock.set(until)
