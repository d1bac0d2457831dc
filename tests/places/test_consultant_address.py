"""A consultant in the configuration may have a base address instead of coordinates: it is
placed offline when the consultant is seeded (one that cannot be placed starts at the
jobcentre); a consultant with neither is a configuration error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from service.config import Consultant as ConsultantConfig
from service.config import MunicipalityConfig
from service.keys import DB
from service.places import place
from service.platform.db.models import Consultant
from tests.support import make_secrets, start_api


async def test_a_base_address_is_placed_when_seeded(demo_config: MunicipalityConfig,
                                                    sqlite_url: str) -> None:
    first, second, *rest = demo_config.consultants
    config = demo_config.model_copy(update={"consultants": [
        first.model_copy(update={"location": None, "address": "Østergade 5, 7430 Ikast"}),
        second.model_copy(update={"location": None, "address": "Nowhere 1"}), *rest]})
    async for api in start_api(config, make_secrets(sqlite_url)):
        async with api.client.app[DB].read() as session:
            rows = {c.key: c for c in (await session.execute(select(Consultant))).scalars()}
    ikast = place("Østergade 5, 7430 Ikast")
    placed = rows[first.id]
    assert (placed.lat, placed.lon, placed.location_precision, placed.address) == (
        ikast.lat, ikast.lon, "town", "Østergade 5, 7430 Ikast")
    unplaced = rows[second.id]
    assert (unplaced.lat, unplaced.lon, unplaced.location_precision) == (
        demo_config.jobcentre.location.lat, demo_config.jobcentre.location.lon, None)


def test_a_consultant_needs_a_location_or_an_address() -> None:
    base = {"id": "x", "name": "X", "email": "x@example.org", "max_active_cases": 5}
    assert ConsultantConfig.model_validate({**base, "address": "Østergade 5, 7430 Ikast"})
    with pytest.raises(ValidationError, match="location .* or an address"):
        ConsultantConfig.model_validate(base)
