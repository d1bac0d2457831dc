"""Placing typed addresses: the online geocoder (DAWA, Danmarks Adressers Web API) in front
of the offline placement when `[places] online = true`, the offline one alone otherwise.

DAWA is asked twice: `GET {dawa_url}/datavask/adresser?betegnelse=…` washes the typed text
into one official address (category A: exact, B: sure with small spelling differences; C is
uncertain and not used), then `GET {dawa_url}/adresser/{id}?struktur=mini` gives its
coordinates (x = longitude, y = latitude, WGS84). Anything else — no network, a timeout, an
error status, an uncertain match — falls back to the offline placement, so an address is
never left unplaced because DAWA was away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

import aiohttp

from service.config import PlacesConfig
from service.places.offline import Placement, place

log = logging.getLogger("fasthold.places")

# DAWA's sure categories: A exact, B small differences (spelling); C is a guess.
SURE_CATEGORIES = ("A", "B")
# Concurrent questions to DAWA when a batch (the CSV import) is placed.
CONCURRENCY = 4


class AddressPlacer(Protocol):
    """What the areas need: typed addresses → placements (`service.places.Placer`)."""

    async def place(self, address: str) -> Placement: ...

    async def place_many(self, addresses: Iterable[str]) -> dict[str, Placement]: ...


class DawaGeocoder:
    """One question to DAWA per address; None when DAWA gives no sure answer."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=self.timeout)

    async def lookup(self, session: aiohttp.ClientSession, address: str) -> Placement | None:
        try:
            washed = await self._get(session, "/datavask/adresser", {"betegnelse": address})
            if not isinstance(washed, dict) or washed.get("kategori") not in SURE_CATEGORIES:
                return None
            results = washed.get("resultater") or []
            found = results[0] if results and isinstance(results[0], dict) else {}
            official = found.get("aktueltadresse") or found.get("adresse") or {}
            address_id = official.get("id") if isinstance(official, dict) else None
            if not isinstance(address_id, str) or not address_id:
                return None
            mini = await self._get(session, f"/adresser/{address_id}", {"struktur": "mini"})
            if not isinstance(mini, dict):
                return None
            lon, lat = float(mini["x"]), float(mini["y"])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                return None
            town = mini.get("postnrnavn") or official.get("postnrnavn")
            postcode = mini.get("postnr") or official.get("postnr")
            return Placement(address, lat, lon, "exact", str(town) if town else None,
                             str(postcode) if postcode else None, source="dawa")
        except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            # The address itself is not logged: only that DAWA did not answer.
            log.warning("DAWA did not place an address (%s); placing it offline",
                        type(exc).__name__)
            return None

    async def _get(self, session: aiohttp.ClientSession, path: str, params: dict[str, str]
                   ) -> Any:
        async with session.get(f"{self.base_url}{path}", params=params) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return await response.json(content_type=None)


class Placer:
    """The addresses' placer of one municipality: DAWA first when enabled, else (and when
    DAWA gives no sure answer) the offline placement."""

    def __init__(self, config: PlacesConfig) -> None:
        self.online = DawaGeocoder(config.dawa_url, config.timeout_seconds) \
            if config.online else None

    async def place(self, address: str) -> Placement:
        return (await self.place_many([address]))[address]

    async def place_many(self, addresses: Iterable[str]) -> dict[str, Placement]:
        """Each distinct address placed once."""
        distinct = list(dict.fromkeys(a for a in addresses if a and a.strip()))
        if self.online is None or not distinct:
            return {a: place(a) for a in distinct}
        out: dict[str, Placement] = {}
        limit = asyncio.Semaphore(CONCURRENCY)
        async with self.online.session() as session:

            async def one(address: str) -> None:
                async with limit:
                    found = await self.online.lookup(session, address) \
                        if self.online is not None else None
                out[address] = found or place(address)

            await asyncio.gather(*(one(a) for a in distinct))
        return out
