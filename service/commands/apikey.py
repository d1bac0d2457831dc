"""`fasthold apikey create|list|revoke`: manage staff API keys."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy import select

from service.clock import SystemClock
from service.commands._common import municipality_or_exit
from service.commands._database import prepare_schema
from service.config import MunicipalityConfig, Secrets
from service.platform.auth import create_key, revoke_key
from service.platform.db.engine import Database
from service.platform.db.models import ApiKey
from service.platform.inputs import one_line_problem


def _database(args: argparse.Namespace) -> tuple[Database, MunicipalityConfig]:
    config, default_url = municipality_or_exit(args)
    secrets = Secrets.from_env(default_url)
    return Database(secrets.database_url, SystemClock(config.municipality.timezone)), config


# What a key's name may be: who or what uses it, on one line (it is shown in `list`).
MAX_NAME = 200


def create(args: argparse.Namespace) -> int:
    name = args.name.strip()
    problem = one_line_problem(name)
    if not name or len(name) > MAX_NAME or problem:
        print(f"fasthold: --name: {problem or f'must be 1 to {MAX_NAME} characters'}",
              file=sys.stderr)
        return 2
    args.name = name
    if args.role == "consultant" and not args.consultant_id:
        print("fasthold: --consultant-id is required for role consultant", file=sys.stderr)
        return 2
    if args.role != "consultant" and args.consultant_id:  # (it was ignored without a word)
        print(f"fasthold: --consultant-id: only a key of role consultant names a consultant, "
              f"not one of role {args.role}", file=sys.stderr)
        return 2
    config, _ = municipality_or_exit(args)
    if args.consultant_id and config.consultant(args.consultant_id) is None:
        print(f"fasthold: --consultant-id: unknown consultant {args.consultant_id!r}",
              file=sys.stderr)
        return 2

    async def go() -> str:
        db, _ = _database(args)
        try:
            await prepare_schema(db.url, config)  # as `serve` would on start
            async with db.write() as session:
                row, plain = await create_key(session, config.municipality.id, args.name,
                                              args.role, args.consultant_id)
            return f"{row.id}\t{args.role}\t{args.name}\t{plain}"
        finally:
            await db.dispose()

    try:
        line = asyncio.run(go())
    except RuntimeError as exc:  # e.g. the schema upgrade needs FASTHOLD_DATA_KEY
        print(f"fasthold: {exc}", file=sys.stderr)
        return 2
    print(line)
    print("Store the key now: it is shown only once.", file=sys.stderr)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    async def go() -> list[ApiKey]:
        db, config = _database(args)
        try:
            async with db.read() as session:
                return list((await session.execute(
                    select(ApiKey).where(ApiKey.municipality_id == config.municipality.id)
                    .order_by(ApiKey.id))).scalars())
        finally:
            await db.dispose()

    for row in asyncio.run(go()):
        state = "revoked" if row.revoked_at else "active"
        print(f"{row.id}\t{row.role}\t{row.name}\t{state}\t{row.created_at:%Y-%m-%d}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    async def go() -> bool:
        db, config = _database(args)
        try:
            async with db.write() as session:
                return await revoke_key(session, args.key_id, db.clock,
                                        municipality_id=config.municipality.id)
        finally:
            await db.dispose()

    if not asyncio.run(go()):
        print(f"fasthold: key {args.key_id}: no such active key", file=sys.stderr)
        return 2
    print(f"key {args.key_id} revoked")
    return 0
