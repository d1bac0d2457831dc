"""The aiohttp application factory: the composition root of the service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service.config import MunicipalityConfig, Secrets
from service.consultants_sync import sync_consultants
from service.db.engine import Database
from service.db.migrate import upgrade_async
from service.http import DB, MAX_JSON_BODY, error_middleware

log = logging.getLogger("fasthold")

CONFIG = web.AppKey("config", MunicipalityConfig)
SECRETS = web.AppKey("secrets", Secrets)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: the database answers."""
    from sqlalchemy import text

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


def _database_ctx(database_url: str) -> object:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        db = Database(database_url)
        await upgrade_async(db.url)
        async with db.write() as session:
            await sync_consultants(session, app[CONFIG])
        app[DB] = db
        yield
        await db.dispose()

    return ctx


def create_app(config: MunicipalityConfig, secrets: Secrets, *, demo: bool = False
               ) -> web.Application:
    """Build the application; resources start and stop with it (cleanup_ctx)."""
    from service import employer_flow
    from service.api import cases, openapi, planning
    from service.intake import intake_ctx
    from service.planning import planner_ctx

    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_JSON_BODY)
    app[CONFIG] = config
    app[SECRETS] = secrets
    app.cleanup_ctx.append(_database_ctx(secrets.database_url))  # type: ignore[arg-type]
    app.cleanup_ctx.append(intake_ctx)
    app.cleanup_ctx.append(planner_ctx)
    app.router.add_get("/healthz", healthz, name="healthz")
    cases.add_routes(app)
    planning.add_routes(app)
    employer_flow.setup(app, demo=demo)
    openapi.add_routes(app)
    return app
