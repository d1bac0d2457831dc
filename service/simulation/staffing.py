"""How many consultants do workplace meetings in each month: the configuration's conversion
plan (`[simulation] staffing_*`), or a CSV of `month,consultants` for what-ifs."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from service.config import Consultant, MunicipalityConfig, SimulationConfig

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


class StaffingError(ValueError):
    """A consultants plan that cannot be used; the message names the file and line."""


def month_of(text: str) -> date:
    match = _MONTH.match(text.strip())
    if not match:
        raise ValueError(f"not a month YYYY-MM: {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def months_after(first: date, count: int) -> date:
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class StaffingPlan:
    """Consultants in the new role from each listed month until the next one."""

    steps: tuple[tuple[date, int], ...]
    source: str

    def consultants(self, month: date) -> int:
        current = 0
        for first, count in self.steps:
            if first <= month:
                current = count
        return current

    @classmethod
    def from_config(cls, sim: SimulationConfig, configured: int, start: date, months: int
                    ) -> StaffingPlan:
        cap = min(sim.staffing_max, configured)
        steps = []
        for offset in range(months):
            count = sim.staffing_start + sim.staffing_step * (offset // sim.staffing_every_months)
            steps.append((months_after(start, offset), min(cap, count)))
        return cls(tuple(steps), f"configuration: {sim.staffing_start} from {start:%Y-%m}, "
                   f"+{sim.staffing_step} every {sim.staffing_every_months} months, at most {cap}")

    @classmethod
    def from_csv(cls, path: Path, configured: int) -> StaffingPlan:
        """Read `month,consultants` rows (a header line and `#` comments are allowed)."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StaffingError(f"{path}: cannot read: {exc.strerror}") from None
        steps: dict[date, int] = {}
        header_allowed = True
        for number, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
                continue  # blank lines and comments
            if header_allowed and row[0].strip().lower() == "month":
                header_allowed = False
                continue
            header_allowed = False
            if len(row) != 2:
                raise StaffingError(f"{path}:{number}: expected month,consultants")
            try:
                month = month_of(row[0])
            except ValueError as exc:
                raise StaffingError(f"{path}:{number}: month: {exc}") from None
            value = row[1].strip()
            if not value.isdigit() or int(value) > configured:
                raise StaffingError(f"{path}:{number}: consultants: must be a whole number "
                                    f"from 0 to {configured} (the configured consultants), "
                                    f"got {value!r}")
            if month in steps:
                raise StaffingError(f"{path}:{number}: month {row[0].strip()} listed twice")
            steps[month] = int(value)
        if not steps:
            raise StaffingError(f"{path}: no month,consultants rows")
        return cls(tuple(sorted(steps.items())), str(path))


def staffed(config: MunicipalityConfig, in_role: int, month: date) -> list[Consultant]:
    """The configured consultants for `month`: the first `in_role` (in the file's order) do
    workplace meetings from the month's first day; the others follow their cases up the old
    way (jobcentre and telephone)."""
    out = []
    for index, consultant in enumerate(config.consultants):
        converted = index < in_role
        out.append(consultant.model_copy(update={
            "workplace_meetings": converted,
            "workplace_meetings_from": month if converted else None}))
    return out
