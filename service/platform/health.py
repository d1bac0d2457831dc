"""`GET /healthz`: liveness and readiness — the database answers."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text

from service.keys import CONFIG, DB
from service.platform import operations

log = logging.getLogger("fasthold")


async def healthz(request: web.Request) -> web.Response:
    try:
        async with request.app[DB].read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the probe must answer, whatever broke
        log.warning("health check: database unavailable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({
        "status": "ok",
        "municipality": request.app[CONFIG].municipality.id,
        "database": "sqlite" if request.app[DB].is_sqlite else "postgresql",
    })


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz, name="healthz")
    operations.add_routes(app)  # the operator's figures (admin), beside the probe
