"""Liveness with a database check."""

from __future__ import annotations


async def test_healthz(sqlite_api) -> None:
    resp = await sqlite_api.client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"
