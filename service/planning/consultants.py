"""Seed the consultants table from the municipality's configuration.

The database is the truth: the configuration's `[[consultants]]` seed it. A configured
consultant not yet in the database is inserted (`source="config"`); a row is updated from the
configuration only while nobody has changed it in the app (`changed_in_app_at` is None). A row
created or changed in the app (`service.consultants.service`) is never overwritten, nor made
inactive, by the configuration."""

from __future__ import annotations

import logging

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import MunicipalityConfig
from service.places import place
from service.platform.db.models import Consultant

log = logging.getLogger("fasthold.planning")


# The advisory lock's first key: syncing a municipality's consultants (the second key is the
# municipality's id, hashed).
SYNC_LOCK = 0x66617374


async def sync_consultants(session: AsyncSession, config: MunicipalityConfig) -> None:
    """Insert every configured consultant the database does not have; update those only the
    configuration ever changed. A configuration-seeded row no longer configured (and never
    changed in the app) is kept but made inactive, so the cases it owns keep their history."""
    municipality = config.municipality.id
    if session.get_bind().dialect.name == "postgresql":
        # Every process of a deployment syncs at its start: one at a time per municipality
        # (until this transaction ends), so two never insert the same consultant.
        await session.execute(text("SELECT pg_advisory_xact_lock(:kind, hashtext(:m))"),
                              {"kind": SYNC_LOCK, "m": municipality})
    existing = {c.key: c for c in (await session.execute(
        select(Consultant).where(Consultant.municipality_id == municipality))).scalars()}
    for cfg in config.consultants:
        row = existing.pop(cfg.id, None)
        if row is None:
            row = Consultant(municipality_id=municipality, key=cfg.id, source="config")
        elif row.changed_in_app_at is not None or row.source != "config":
            continue  # the app's word stands
        row.name = cfg.name
        row.email = cfg.email
        row.phone = cfg.phone
        row.slack_user_id = cfg.slack_user_id
        row.team = cfg.team
        if cfg.location is not None:
            row.lat, row.lon = cfg.location.lat, cfg.location.lon
            row.location_precision = "exact"
        else:
            # A base address: placed offline; one that cannot be placed starts at the
            # jobcentre (said in the log), never at a guessed place.
            placed = place(cfg.address or "")
            if placed.lat is not None and placed.lon is not None:
                row.lat, row.lon = placed.lat, placed.lon
            else:
                log.warning("consultant %s: base address not placed (%s); planned from the "
                            "jobcentre", cfg.id, placed.reason)
                row.lat = config.jobcentre.location.lat
                row.lon = config.jobcentre.location.lon
            row.location_precision = placed.precision
        row.address = cfg.address
        row.skills = list(cfg.skills)
        row.max_active_cases = cfg.max_active_cases
        row.meetings_per_day = cfg.meetings_per_day
        row.workplace_meetings = cfg.workplace_meetings
        row.workplace_meetings_from = cfg.workplace_meetings_from
        row.fixed_employers = list(cfg.fixed_employers)
        row.working_hours = cfg.working_hours.as_dict() if cfg.working_hours else None
        row.active = True
        session.add(row)
    for gone in existing.values():
        if gone.changed_in_app_at is None and gone.source == "config":
            gone.active = False
