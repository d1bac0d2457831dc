"""`fasthold datakey new|rotate`: make a data key; re-encrypt every stored CPR number, and the
consultants' calendar addresses and CalDAV passwords, under a new one (see README, "The data
key")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter

from sqlalchemy import select, update

from service.calendars.imports import PASSWORD_PURPOSE, URL_PURPOSE
from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, load_config_or_exit
from service.commands._database import prepare_schema
from service.config import Secrets
from service.intake.service import CPR_PURPOSE
from service.platform.crypto import DataCipher, DataKey, DataKeyError, key_id_of, new_data_key
from service.platform.db.engine import Database, default_sqlite_url
from service.platform.db.models import CalendarSource, Case

# Rows re-encrypted per transaction: a running service is never blocked for long.
BATCH = 500


def new(args: argparse.Namespace) -> int:
    print(new_data_key())
    return 0


def _ciphers(args: argparse.Namespace, secrets: Secrets) -> tuple[DataCipher, DataCipher]:
    """(what reads the stored values, what writes them from now on)."""
    current = DataCipher.from_env_values(secrets.data_key, secrets.previous_data_keys)
    if not args.new_key_env:
        return current, current
    target = DataKey.parse(os.environ.get(args.new_key_env, ""), args.new_key_env)
    readers = [*current.keys.values(), target]
    return DataCipher(target, readers), DataCipher(target, list(current.keys.values()))


async def _rotate(db: Database, reader: DataCipher, writer: DataCipher
                  ) -> tuple[int, int, Counter]:
    """Re-encrypt every CPR not yet under the writer's key, in batches, and the calendar
    sources; (CPR numbers done, calendar secrets done, CPR numbers by key)."""
    done = 0
    last_id = 0
    while True:
        async with db.write() as session:
            rows = (await session.execute(
                select(Case.id, Case.cpr_encrypted).where(
                    Case.id > last_id, Case.cpr_encrypted.is_not(None))
                .order_by(Case.id).limit(BATCH).with_for_update())).all()
            if not rows:
                break
            last_id = rows[-1][0]
            changes = []
            for case_id, token in rows:
                if key_id_of(token) == writer.key_id:
                    continue
                plain = reader.decrypt(token, CPR_PURPOSE)
                changes.append({"id": case_id, "cpr_encrypted": writer.encrypt(
                    plain, CPR_PURPOSE), "cpr_hash": writer.lookup_hash(plain)})
            if changes:
                await session.execute(update(Case), changes)
            done += len(changes)
    calendars = await _rotate_calendar_sources(db, reader, writer)
    async with db.read() as session:
        tokens = (await session.execute(select(Case.cpr_encrypted).where(
            Case.cpr_encrypted.is_not(None)))).scalars()
        by_key = Counter(key_id_of(t) for t in tokens)
    return done, calendars, by_key


async def _rotate_calendar_sources(db: Database, reader: DataCipher, writer: DataCipher
                                   ) -> int:
    """The consultants' calendar addresses and CalDAV passwords (`service.calendars`),
    sealed under the data key like CPR numbers: re-encrypted too, or the next import could
    not read them (a rotation lost every consultant's calendar). Returns how many
    calendars."""
    done = 0
    async with db.write() as session:
        for source in (await session.execute(select(CalendarSource))).scalars():
            if key_id_of(source.url_encrypted) != writer.key_id:
                source.url_encrypted = writer.encrypt(
                    reader.decrypt(source.url_encrypted, URL_PURPOSE), URL_PURPOSE)
                done += 1
            if source.password_encrypted and \
                    key_id_of(source.password_encrypted) != writer.key_id:
                source.password_encrypted = writer.encrypt(
                    reader.decrypt(source.password_encrypted, PASSWORD_PURPOSE),
                    PASSWORD_PURPOSE)
    return done


def rotate(args: argparse.Namespace) -> int:
    config = load_config_or_exit(args.config)
    try:
        secrets = Secrets.from_env(default_sqlite_url(config.municipality.id))
        reader, writer = _ciphers(args, secrets)
    except (DataKeyError, ValueError) as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return EXIT_INVALID

    async def go() -> tuple[int, int, Counter]:
        db = Database(secrets.database_url, SystemClock(config.municipality.timezone))
        try:
            await prepare_schema(db.url, config, reader)  # as `serve` would on start
            return await _rotate(db, reader, writer)
        finally:
            await db.dispose()

    try:
        done, calendars, by_key = asyncio.run(go())
    except DataKeyError as exc:
        print(f"fasthold: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"re-encrypted {done} CPR number(s) under data key {writer.key_id}, and "
          f"{calendars} consultant calendar(s)")
    for key_id, count in sorted(by_key.items()):
        print(f"  key {key_id}: {count}{' (current)' if key_id == writer.key_id else ''}")
    if args.new_key_env:
        print(f"Now run the service with FASTHOLD_DATA_KEY set to the value of "
              f"{args.new_key_env} (see README, 'The data key').", file=sys.stderr)
    return 0
