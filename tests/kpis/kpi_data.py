"""A deterministic history for the dashboard's tests: months of target cases with their first
meetings (by place, with or without the employer, on time or late) and interventions,
written straight into the tables the figures are computed from."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from service.platform.db.engine import Database
from service.platform.db.models import Case, Consultant, Intervention, Meeting


async def seed_history(db: Database, first: date, today: date, per_month: int = 12,
                       seed: int = 7) -> int:
    """Cases whose absence began from `first` up to 30 days before `today`; each month the
    workplace share grows (the model being rolled out). Returns how many cases."""
    rng = random.Random(seed)
    async with db.write() as session:
        consultants = list((await session.execute(select(Consultant.id, Consultant.key)
                                                  .order_by(Consultant.key))).all())
        count, day = 0, first
        while day < today - timedelta(days=30):
            month_index = (day.year - first.year) * 12 + day.month - first.month
            for _ in range(per_month):
                count += 1
                absence = day + timedelta(days=rng.randrange(0, 28))
                if absence >= today - timedelta(days=30):
                    continue
                owner_id, _ = consultants[count % len(consultants)]
                case = Case(municipality_id="demo", case_ref=f"h{count:04d}",
                            facts={"case_id": f"h{count:04d}",
                                   "first_absence_day": absence.isoformat()},
                            as_of=absence, status="target", follow_up="workplace_meeting",
                            first_meeting_deadline=absence + timedelta(days=55),
                            intervention_deadline=absence + timedelta(days=90),
                            owner_id=owner_id)
                # First meeting: mostly on time, some late, a few more than 3 weeks late.
                held_day = absence + timedelta(days=rng.choice((30, 38, 45, 50, 54, 60, 70, 85)))
                if held_day < today:
                    workplace_odds = min(0.25 + 0.08 * month_index, 0.8)
                    roll = rng.random()
                    place = ("workplace" if roll < workplace_odds else
                             "jobcentre" if roll < workplace_odds + 0.6 * (1 - workplace_odds)
                             else "phone")
                    intervention = absence + timedelta(days=rng.randrange(50, 110))
                    started = intervention < today and rng.random() < 0.5
                    if started:
                        case.intervention_started_on = intervention
                    session.add(case)
                    await session.flush()
                    if started:
                        session.add(Intervention(
                            municipality_id="demo", case_id=case.id, kind="work_trial",
                            started_on=intervention, registered_by="test"))
                    start = datetime.combine(held_day, time(9 + rng.randrange(0, 5), 0))
                    session.add(Meeting(
                        municipality_id="demo", case_id=case.id, consultant_id=owner_id,
                        kind="workplace_meeting" if place == "workplace" else
                        "jobcenter_meeting", start=start, end=start + timedelta(hours=1),
                        status="held", place=place,
                        employer_took_part=place == "workplace" or rng.random() < 0.3))
                else:
                    session.add(case)
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return count
