"""The bare handler of `fasthold bench scale`: `GET /api/cases/{ref}` as plain aiohttp and
asyncpg — one SELECT of the case row by its id, no ORM, no authentication, no audit — so the
service's read path can be compared per CPU-second with what the machine does at the least.

Run as `python -m service.commands.bench_bare PORT` with FASTHOLD_DATABASE_URL set; the
municipality is the first label of the request's host (`m01.fasthold.bench` -> `m01`), as
the deployment of many chooses it by host. It imports nothing of the service.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import asyncpg
import uvloop
from aiohttp import web

SELECT_CASE = "SELECT * FROM cases WHERE municipality_id = $1 AND case_ref = $2"


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


async def make_app(dsn: str) -> web.Application:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)

    async def case(request: web.Request) -> web.Response:
        municipality = request.host.split(".", 1)[0]
        row = await pool.fetchrow(SELECT_CASE, municipality, request.match_info["ref"])
        if row is None:
            return web.json_response({"title": "not found"}, status=404)
        return web.json_response(dict(row), dumps=_json)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def close(_app: web.Application) -> None:
        await pool.close()

    app = web.Application()
    app.router.add_get("/api/cases/{ref}", case)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(close)
    return app


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m service.commands.bench_bare PORT", file=sys.stderr)
        return 2
    dsn = os.environ["FASTHOLD_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = loop.run_until_complete(make_app(dsn))
    print(f"bare handler listening on 127.0.0.1:{argv[0]}", flush=True)
    web.run_app(app, host="127.0.0.1", port=int(argv[0]), print=None, access_log=None,
                loop=loop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
