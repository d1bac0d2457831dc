"""What the simulation's processes share: the bridge to virtual time, the service's use
cases, the scenario, who acts (principals), and the facts only the simulated world knows
(when each citizen will recover, whether an intervention will start)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from service.config import SimulationConfig
from service.platform.auth import Principal
from service.platform.workdays import add_working_days, is_working_day
from service.simulation.bridge import Bridge
from service.simulation.world import World

OFFICE_OPENS = time(8, 0)
OFFICE_CLOSES = time(15, 0)


@dataclass
class FutureOfCase:
    """What will happen to a case's citizen, drawn at intake (the service cannot know it)."""

    ref: str
    first_absence: date
    ends_on: date
    outcome: str  # recovered | other_programme | dismissed
    intervention_after_weeks: float | None  # None: no workplace-oriented intervention


@dataclass
class SimContext:
    bridge: Bridge
    world: World
    sim: SimulationConfig
    seed: int
    start: date
    end: date  # exclusive
    futures: dict[str, FutureOfCase] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    done: set[tuple[str, int]] = field(default_factory=set)  # one-off actions taken
    closed_refs: set[str] = field(default_factory=set)
    # Month → (consultants in the new role, their mean open target cases) at month end.
    staffing: dict[date, tuple[int, float | None]] = field(default_factory=dict)

    @property
    def closed_dates(self) -> frozenset[date]:
        return self.world.config.planning.closed()

    def rng(self, *parts: object) -> random.Random:
        """A random stream of its own for each decision, so that one decision never shifts
        another's draws (and the same seed gives the same run)."""
        return random.Random(":".join([str(self.seed), *map(str, parts)]))

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    def working_day(self, day: date) -> bool:
        return is_working_day(day, self.closed_dates)

    def working_days_later(self, day: date, count: int) -> date:
        return add_working_days(day, count, self.closed_dates)

    def office_moment(self, day: date, rng: random.Random) -> datetime:
        """A random moment in office hours on `day`."""
        opens = datetime.combine(day, OFFICE_OPENS)
        minutes = (OFFICE_CLOSES.hour - OFFICE_OPENS.hour) * 60
        return opens + timedelta(minutes=rng.randrange(minutes))

    def principal(self, role: str, consultant_key: str | None = None) -> Principal:
        name = f"simulering-{consultant_key or role}"
        if name not in self.principals:
            self.principals[name] = Principal(
                key_id=0, name=name, role=role, municipality_id=self.world.municipality,
                consultant_key=consultant_key)
        return self.principals[name]
