"""The online geocoder (DAWA) behind the same interface, against a local fake DAWA: a sure
answer places the address exactly; an uncertain one, an error or no answer in time falls
back to the offline placement; off by default."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from service.config import PlacesConfig
from service.places import Placer, place

ADDRESS_ID = "0a3f50a0-1234-32b8-e044-0003ba298018"
EXACT = "Østergade 5, 7430 Ikast"


@dataclass
class FakeDawa:
    category: str = "A"
    status: int = 200
    slow: bool = False
    asked: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/datavask/adresser", self.wash)
        app.router.add_get("/adresser/{id}", self.address)
        return app

    async def wash(self, request: web.Request) -> web.Response:
        self.asked.append(request.query["betegnelse"])
        if self.slow:
            await asyncio.sleep(5)
        if self.status != 200:
            return web.json_response({"type": "InternalServerError"}, status=self.status)
        found = {"id": ADDRESS_ID, "vejnavn": "Østergade", "husnr": "5", "postnr": "7430",
                 "postnrnavn": "Ikast"}
        return web.json_response({"kategori": self.category, "resultater": [
            {"adresse": found, "aktueltadresse": found, "vaskeresultat": {}}]})

    async def address(self, request: web.Request) -> web.Response:
        assert request.match_info["id"] == ADDRESS_ID
        assert request.query["struktur"] == "mini"
        body: dict[str, Any] = {"id": ADDRESS_ID, "x": 9.15123, "y": 56.13701,
                                "postnr": "7430", "postnrnavn": "Ikast"}
        return web.json_response(body)


@pytest.fixture
async def dawa() -> AsyncIterator[tuple[FakeDawa, str]]:
    fake = FakeDawa()
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_a_sure_answer_places_the_address_exactly(dawa: tuple[FakeDawa, str]) -> None:
    fake, url = dawa
    placer = Placer(PlacesConfig(online=True, dawa_url=url))
    placement = await placer.place(EXACT)
    assert (placement.lat, placement.lon, placement.precision, placement.source) == (
        56.13701, 9.15123, "exact", "dawa")
    assert placement.words() == "placeret på adressen"
    assert fake.asked == [EXACT]


@pytest.mark.parametrize("trouble", ["uncertain", "error", "timeout"])
async def test_without_a_sure_answer_the_address_is_placed_offline(
        dawa: tuple[FakeDawa, str], trouble: str) -> None:
    fake, url = dawa
    fake.category = "C" if trouble == "uncertain" else "A"
    fake.status = 500 if trouble == "error" else 200
    fake.slow = trouble == "timeout"
    placer = Placer(PlacesConfig(online=True, dawa_url=url, timeout_seconds=0.2))
    placements = await placer.place_many([EXACT, "asdf", EXACT])
    assert placements[EXACT] == place(EXACT)  # the town, offline
    assert placements[EXACT].precision == "town"
    assert not placements["asdf"].placed
    assert sorted(fake.asked) == sorted([EXACT, "asdf"])  # each address asked once


async def test_off_by_default_nothing_is_asked(dawa: tuple[FakeDawa, str]) -> None:
    fake, url = dawa
    assert PlacesConfig().online is False
    placement = await Placer(PlacesConfig(dawa_url=url)).place(EXACT)
    assert placement.precision == "town" and placement.source == "offline"
    assert fake.asked == []
