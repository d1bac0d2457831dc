"""Typed workplace addresses get coordinates without any network (form, CSV, API): cases in
towns a few kilometres apart are planned with their own travel minutes; an address that
cannot be placed is planned as at the jobcentre (never at random), and the case page and the
intake channel say so (without health data)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from service.config import MunicipalityConfig
from service.keys import CONFIG, DB, JOBS
from service.planning.instance import build_instance
from service.platform.db.models import Case, OutboxMessage
from tests.meetings.email_cases import body, intake, meeting_of
from tests.support import Staff, local_now, make_secrets, start_api, start_staff

INTAKE_CHANNEL = "C0INTAKETEST"
TOWNS = {"herning": "Bredgade 2, 7400 Herning", "sunds": "Fabriksvej 3, 7451 Sunds",
         "ikast": "Østergade 5, 7430 Ikast", "brande": "Vestergade 1, 7330 Brande"}
NONSENSE = "Blabla 1, 9999 Xyzzy"
UNPLACED = "Adressen kunne ikke placeres på kortet — mødet planlægges som på jobcentret"


@pytest.fixture
async def staff_with_channel(demo_config: MunicipalityConfig, sqlite_url: str
                             ) -> AsyncIterator[Staff]:
    """Staff pages on SQLite, with an intake channel (its posts wait in the outbox)."""
    secrets = make_secrets(sqlite_url, FASTHOLD_SLACK_INTAKE_CHANNEL=INTAKE_CHANNEL)
    async for api in start_api(demo_config, secrets):
        async for staff in start_staff(api):
            yield staff


def _workplace(address: str, cvr: str) -> dict[str, Any]:
    """An employer given as the form and the CSV give it: an address, no coordinates."""
    return {"cvr": cvr, "name": f"Firma {cvr}", "address": address,
            "contact_name": "Lone Berg", "contact_email": f"leder@{cvr}.example"}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def test_typed_addresses_are_placed_and_the_travel_follows(
        staff_with_channel: Staff) -> None:
    api = staff_with_channel.api
    await intake(api, *(body(ref, employer=_workplace(address, f"1111000{i}"))
                        for i, (ref, address) in enumerate(TOWNS.items())),
                 body("nowhere", employer=_workplace(NONSENSE, "22220000")))
    cases = {}
    for ref in (*TOWNS, "nowhere"):
        cases[ref] = await (await api.client.get(f"/api/cases/{ref}", headers=api.auth(
            "intake"))).json()
    for ref, address in TOWNS.items():
        workplace = cases[ref]["workplace"]
        assert workplace["address"] == address and workplace["precision"] == "town", workplace
    assert len({(c["workplace"]["lat"], c["workplace"]["lon"]) for c in cases.values()}) == 5
    assert cases["nowhere"]["workplace"] == {"address": NONSENSE, "lat": None, "lon": None,
                                             "precision": None}

    # Every consultant starts at the jobcentre in Herning: Sunds (≈8 km), Ikast (≈12 km)
    # and Brande (≈25 km) cost more travel; the unplaced one is planned as at the jobcentre.
    travel = {ref: (await meeting_of(api, ref))["travel_minutes"] for ref in cases}
    assert travel["nowhere"] == 0
    assert travel["herning"] < travel["sunds"] < travel["ikast"] < travel["brande"], travel
    assert travel["herning"] <= 2 and travel["brande"] >= 20, travel

    # The case page says how it is placed, and that the other one is not (and why).
    browser = await staff_with_channel.login("intake")
    response, page = await browser.get("/cases/ikast")
    assert response.status == 200
    assert "placeret på by: Ikast" in _text(page)
    assert UNPLACED not in _text(page)
    response, page = await browser.get("/cases/nowhere")
    assert response.status == 200
    assert UNPLACED in _text(page)
    assert "9999" in _text(page)  # why: neither the postcode nor the town is known

    # The intake channel is told once, with the case and why — no health data, no CPR.
    async with api.client.app[DB].read() as session:
        posts = (await session.execute(select(OutboxMessage, Case.case_ref).join(
            Case, Case.id == OutboxMessage.case_id).where(
            OutboxMessage.kind == "intake_workplace_unplaced"))).all()
    assert [(m.recipient, ref) for m, ref in posts] == [(INTAKE_CHANNEL, "nowhere")]
    text = posts[0][0].body_text
    assert "nowhere" in text and "kunne ikke placeres på kortet" in text
    for private in ("mental", "Mads", "010190", "psyk"):
        assert private not in str(posts[0][0].payload), private

    # Corrected on the case (the API's PATCH): placed, planned with travel, not told again.
    resp = await api.client.patch("/api/cases/nowhere", json={"employer": {
        "address": "Hovedgaden 1, 7330 Brande"}}, headers=api.auth("intake"))
    assert resp.status == 200, await resp.text()
    corrected = await resp.json()
    assert corrected["workplace"]["precision"] == "town"
    await api.client.app[JOBS].wait_idle()
    async with api.client.app[DB].read() as session:
        ctx = await build_instance(session, api.client.app[CONFIG], local_now().date())
    located = {c["id"]: c["employer"]["location"] for c in ctx.instance["cases"]}
    assert located["nowhere"] == {"lat": corrected["workplace"]["lat"],
                                  "lon": corrected["workplace"]["lon"]}
    assert located["nowhere"] == located["brande"]
    response, page = await browser.get("/cases/nowhere")
    assert UNPLACED not in _text(page) and "placeret på by: Brande" in _text(page)
