"""Realistic planning instances around Herning for tests and benchmarks (deterministic)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from optimizer.calendar import danish_holidays

JOBCENTRE = (56.1393, 8.9738)  # Jobcenter Herning, Godsbanevej 1A, 7400 Herning
# (town, lat, lon, weight ~ jobs)
TOWNS = [
    ("Herning", 56.1365, 8.9766, 40), ("Ikast", 56.1388, 9.1577, 14),
    ("Brande", 55.9437, 9.1296, 7), ("Aulum", 56.2653, 8.7869, 3),
    ("Sunds", 56.2056, 9.0146, 3), ("Kibæk", 56.0336, 8.8557, 2),
    ("Vildbjerg", 56.2012, 8.7634, 2), ("Lind", 56.1067, 8.9738, 3),
    ("Hammerum", 56.1312, 9.0568, 3), ("Gjellerup", 56.1443, 9.0617, 2),
    ("Tjørring", 56.1551, 8.9335, 3), ("Snejbjerg", 56.1336, 8.9047, 2),
    ("Sørvad", 56.2550, 8.6550, 1), ("Haderup", 56.3264, 8.9916, 1),
    ("Arnborg", 56.0142, 9.0047, 1), ("Ørnhøj", 56.1960, 8.5590, 1),
]
DIAGNOSES = [("mental", 40), ("physical", 35), ("cancer_heart_lung", 10), ("other", 15)]
FOLLOW_UPS = [("workplace_meeting", 74), ("jobcenter_meeting", 13), ("telephone", 13)]
DEFAULT_AS_OF = date(2026, 3, 23)  # the horizon then contains Easter 2026


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _near(rng: random.Random, lat: float, lon: float, km: float) -> dict[str, float]:
    r = km * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    return {"lat": round(lat + r * math.cos(a) / 111.0, 5),
            "lon": round(lon + r * math.sin(a) / (111.0 * math.cos(math.radians(lat))), 5)}


def _stamp(day: date, minute: int) -> str:
    return (datetime.combine(day, datetime.min.time())
            + timedelta(minutes=minute)).isoformat(timespec="minutes")


def generate_instance(cases: int, consultants: int, seed: int = 1, tight: bool = False,
                      as_of: date | None = None, talk_share: float = 0.0) -> dict[str, Any]:
    """A planning instance (JSON object) with `cases` cases and `consultants` consultants.

    Herning-area geography, Zipf-sized employers (the largest fixed to a consultant), a
    diagnosis mix, ~30 % busy calendars, some existing owners and confirmed meetings,
    deadlines over the next five weeks; consultants of large municipalities sit in teams
    (ids like "t3-c12"). `tight` leaves too little time to meet every deadline.
    `talk_share`: the share of workplace-meeting cases whose citizen asks for the private
    talk first (rule 10), drawn apart from the rest so the instance is otherwise the same.
    """
    rng = random.Random(seed)
    as_of = as_of or DEFAULT_AS_OF
    horizon = 35
    holidays = danish_holidays(as_of, as_of + timedelta(days=horizon))
    workdays = [as_of + timedelta(days=d) for d in range(horizon)
                if (as_of + timedelta(days=d)).weekday() < 5
                and as_of + timedelta(days=d) not in holidays]
    closed = [d for d in workdays if rng.random() < 0.03]
    teams = math.ceil(consultants / 25) if consultants > 50 else 0
    busy_share = 0.45 if tight else 0.3

    people: list[dict[str, Any]] = []
    per_consultant = cases / consultants
    for k in range(consultants):
        cid = f"t{k % teams + 1}-c{k // teams + 1}" if teams else f"c{k + 1}"
        base = JOBCENTRE if rng.random() < 0.8 else rng.choice(
            [(t[1], t[2]) for t in TOWNS[1:4]])
        skills = sorted({_pick(rng, DIAGNOSES) for _ in range(rng.choice([1, 1, 2, 2, 3]))})
        active = rng.randint(10, 28)
        room = math.ceil(per_consultant * (1.08 if tight else 1.5)) + rng.randint(0, 3)
        hours = None
        if rng.random() < 0.12:  # part-time: no Fridays, short Wednesdays
            hours = {"mon": ["08:00", "15:30"], "tue": ["08:00", "15:30"],
                     "wed": ["08:00", "12:00"], "thu": ["08:00", "15:30"]}
        people.append({
            "id": cid, "location": {"lat": round(base[0], 5), "lon": round(base[1], 5)},
            "workplace_meetings": rng.random() < 0.88, "skills": skills,
            "max_active_cases": active + room, "active_cases": active,
            "max_meetings_per_day": 2 if tight else 3, "working_hours": hours,
            "busy": [], "fixed_employers": []})
    people[0]["workplace_meetings"] = True

    # Busy calendars: blocks of 30 min - 3 h on the half hour, about busy_share of the day.
    blocked: dict[tuple[int, date], list[tuple[int, int]]] = {}
    for k, person in enumerate(people):
        for day in workdays:
            start, end = (8 * 60, 13 * 60) if day.weekday() == 4 else (8 * 60, 15 * 60 + 30)
            budget = int((end - start) * busy_share * rng.uniform(0.4, 1.6) / 30) * 30
            spans: list[tuple[int, int]] = []
            # one or two blocks (meetings, case work), leaving usable gaps between them
            parts = [budget] if budget < 120 or rng.random() < 0.5 else \
                [budget // 60 * 30, budget - budget // 60 * 30]
            for length in parts:
                if length <= 0:
                    continue
                for _ in range(6):
                    s = start + 30 * rng.randrange(0, max(1, (end - start - length) // 30 + 1))
                    if not any(s < b and a < s + length for a, b in spans):
                        spans.append((s, min(end, s + length)))
                        break
            spans.sort()
            blocked[k, day] = spans
            person["busy"] += [{"start": _stamp(day, a), "end": _stamp(day, b)}
                               for a, b in spans]

    # Employers: Zipf-like sizes; the largest few are fixed to one consultant.
    n_employers = max(1, int(cases * 0.6))
    employers = []
    for e in range(n_employers):
        town = rng.choices(TOWNS, weights=[t[3] for t in TOWNS])[0]
        unavailable = []
        if rng.random() < 0.12:
            day = rng.choice(workdays)
            unavailable.append({"start": _stamp(day, 0), "end": _stamp(day, 12 * 60)})
        employers.append({"cvr": str(29_000_000 + e * 7919 % 10_000_000 + e),
                          "location": _near(rng, town[1], town[2], 3.0),
                          "unavailable": unavailable})
    weights = [1 / (r + 1) for r in range(n_employers)]
    capable = [p for p in people if p["workplace_meetings"]]
    total = sum(weights)
    for e in range(min(max(1, consultants // 3), 5 * (teams or 1), n_employers)):
        # enough fixed consultants for the employer's expected number of cases
        expected = cases * weights[e] / total
        need = min(len(capable), max(1, math.ceil(expected / (per_consultant * 0.6))))
        for person in rng.sample(capable, need):
            person["fixed_employers"].append(employers[e]["cvr"])

    out_cases: list[dict[str, Any]] = []
    kept_per_day: dict[tuple[int, date], int] = {}
    for n in range(cases):
        employer = employers[rng.choices(range(n_employers), weights=weights)[0]]
        follow_up = _pick(rng, FOLLOW_UPS)
        deadline = as_of + timedelta(days=rng.randint(3, 37))
        case: dict[str, Any] = {
            "id": f"k{n + 1}", "follow_up": follow_up, "deadline": deadline.isoformat(),
            "diagnosis_group": _pick(rng, DIAGNOSES), "employer": employer,
            "consultant_id": None, "meeting": None}
        if rng.random() < 0.06:
            k = rng.randrange(consultants)
            owner = people[k]
            if follow_up != "workplace_meeting" or owner["workplace_meetings"]:
                case["consultant_id"] = owner["id"]
                if follow_up != "telephone" and rng.random() < 0.5:
                    _confirm(rng, case, k, owner, workdays[2:], blocked, kept_per_day,
                             closed)
        out_cases.append(case)

    if talk_share > 0:
        talk_rng = random.Random(f"talk-{seed}")
        for case in out_cases:
            if case["follow_up"] == "workplace_meeting" and talk_rng.random() < talk_share:
                case["private_talk_first"] = True

    return {"as_of": as_of.isoformat(), "horizon_days": horizon, "slot_minutes": 15,
            "min_notice_days": 2,
            "meeting_minutes": {"workplace_meeting": 60, "jobcenter_meeting": 45},
            "closed_dates": [d.isoformat() for d in closed],
            "travel": {"road_factor": 1.3, "speed_kmh": 50},
            "consultants": people, "cases": out_cases}


def _confirm(rng: random.Random, case: dict[str, Any], k: int, owner: dict[str, Any],
             days: list[date], blocked: dict[tuple[int, date], list[tuple[int, int]]],
             kept_per_day: dict[tuple[int, date], int], closed: list[date]) -> None:
    """Give the case a confirmed meeting in a free hour-and-a-half of its owner."""
    for _ in range(20):
        day = rng.choice(days)
        if day in closed or kept_per_day.get((k, day), 0) >= 1 or \
                (owner["working_hours"] and day.weekday() == 4):
            continue
        s = 9 * 60 + 30 * rng.randrange(0, 8)
        span = (s - 45, s + 105)  # a meeting with up to 45 min travel each way
        if span[1] > 12 * 60 + 60 and day.weekday() == 4:
            continue
        if any(span[0] < b and a < span[1] for a, b in blocked[k, day]):
            continue
        blocked[k, day].append(span)
        kept_per_day[k, day] = 1
        case["meeting"] = {"start": _stamp(day, s), "consultant_id": owner["id"]}
        return
