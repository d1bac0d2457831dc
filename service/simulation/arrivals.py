"""The inflow: new sickness-benefit cases from employment, handed over by the benefits office
late (in absence weeks 1-7), arriving as Poisson numbers on working days, registered through
intake exactly as `POST /api/cases` registers them."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Generator
from datetime import date, datetime, time, timedelta
from typing import Any

from service.platform.workdays import count_working_days
from service.simulation.context import FutureOfCase, SimContext
from service.simulation.population import Employer, citizen

# Assumption (no data yet): of the cases that end other than by dismissal, this share moves
# to a resource or clarification programme; the rest recover.
OTHER_PROGRAMME_SHARE = 0.07
DIAGNOSIS_GROUPS = (("mental", 0.45), ("physical", 0.35), ("cancer_heart_lung", 0.08),
                    ("other", 0.12))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: means here are a handful a day)."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _month_working_days(ctx: SimContext, day: date) -> int:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return count_working_days(first, following - timedelta(days=1), ctx.closed_dates)


def _pick(rng: random.Random, cumulative: list[float], values: list[Any]) -> Any:
    return values[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
                  if cumulative[-1] else 0]


class Inflow:
    """Draws new cases; `employers` weighted by their number of employees."""

    def __init__(self, ctx: SimContext, employers: list[Employer], prefix: str) -> None:
        self.ctx = ctx
        self.employers = employers
        self.by_size = list(itertools.accumulate(e.employees for e in employers))
        self.prefix = prefix
        self.weeks = list(itertools.accumulate(ctx.sim.handover_week_shares))
        self.groups = list(itertools.accumulate(share for _, share in DIAGNOSIS_GROUPS))
        self.durations = list(itertools.accumulate(b.share for b in ctx.sim.case_duration))
        self.number = 0

    def case(self, handed_over: date) -> tuple[dict[str, Any], FutureOfCase]:
        """The intake body of the next case handed over on `handed_over`, and its future."""
        self.number += 1
        sim, rng = self.ctx.sim, self.ctx.rng("case", self.prefix, self.number)
        ref = f"{self.prefix}-{self.number:06d}"
        week = _pick(rng, self.weeks, list(range(1, 8)))
        first_absence = handed_over - timedelta(days=7 * (week - 1) + rng.randint(0, 6))
        employer = _pick(rng, self.by_size, self.employers)
        person = citizen(rng, handed_over, self.number)
        body: dict[str, Any] = {
            "case_id": ref, "first_absence_day": first_absence.isoformat(),
            "handed_over_on": handed_over.isoformat(), "employment": "employed",
            "employer": employer.intake_json(),
            "visitation_category": 3 if rng.random() < sim.visitation_category3_share else 2,
            "diagnosis_group": _pick(rng, self.groups, [g for g, _ in DIAGNOSIS_GROUPS]),
            "cpr": person.cpr, "citizen": {"name": person.name, "email": person.email}}
        if sim.other_cases_share and rng.random() < sim.other_cases_share:
            if rng.random() < 0.5:
                body["visitation_category"] = 1
            else:
                del body["visitation_category"]
        elif rng.random() < sim.outside_target_share:
            if rng.random() < sim.workplace_cause_share_of_outside:
                body["workplace_cause"] = True
            else:
                body["serious_illness"] = True
        bucket = _pick(rng, self.durations, sim.case_duration)
        ends_on = first_absence + timedelta(days=round(
            7 * rng.uniform(bucket.min_weeks, bucket.max_weeks)))
        if rng.random() < sim.recovery_within_4_weeks_share:
            plan = handed_over + timedelta(days=rng.randint(7, 27))
            body["full_recovery_plan_date"] = plan.isoformat()
            ends_on = plan
        ends_on = max(ends_on, handed_over + timedelta(days=rng.randint(5, 15)))
        if rng.random() < sim.dismissed_share:
            outcome = "dismissed"
        else:
            # A partial return on the way is an intervention, not an ending.
            outcome = "other_programme" if rng.random() < OTHER_PROGRAMME_SHARE else "recovered"
        low, high = sim.intervention_weeks_after_meeting
        intervention = rng.uniform(low, high) if rng.random() < sim.intervention_share else None
        # Drawn last, and only when asked for: the cases' other draws stay as they were.
        if sim.citizen_private_talk_share and rng.random() < sim.citizen_private_talk_share:
            body["citizen_wants_private_talk"] = True
        return body, FutureOfCase(ref, first_absence, ends_on, outcome, intervention)


def arrivals(ctx: SimContext, inflow: Inflow) -> Generator[Any, Any, None]:
    """Each working day a Poisson number of cases (the month's inflow over its working days)
    reaches intake during office hours."""
    intake = ctx.principal("intake")
    day = max(ctx.start, ctx.bridge.moment().date())
    while day < ctx.end:
        if ctx.working_day(day):
            rng = ctx.rng("arrivals", day)
            count = poisson(rng, ctx.sim.inflow_per_month / _month_working_days(ctx, day))
            for moment in sorted(ctx.office_moment(day, rng) for _ in range(count)):
                yield ctx.bridge.wait_until(moment)
                body, future = inflow.case(day)
                ctx.futures[future.ref] = future
                yield ctx.bridge.call(lambda body=body: ctx.world.intake.upsert(body, intake))
                ctx.count("cases_registered")
        day += timedelta(days=1)
        yield ctx.bridge.wait_until(datetime.combine(day, time()))
