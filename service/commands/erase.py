"""`fasthold erase [--dry-run]`: the `[retention]` erasure now, outside its nightly job — or,
with `--dry-run`, how many ended cases it would erase (see README, "Retention: erasing ended
cases"). The database must be at the newest migration (`fasthold db upgrade`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from service.clock import SystemClock
from service.commands._common import EXIT_INVALID, municipality_or_exit
from service.config import ConfigError, Secrets
from service.platform.db.engine import Database
from service.platform.db.migrate import SchemaCheckFailed, SchemaNotAtHead, check_at_head
from service.retention.erasure import CaseErasure, Erased


def run(args: argparse.Namespace) -> int:
    config, default_url = municipality_or_exit(args)
    try:
        url = Secrets.from_env(default_url).database_url
    except ConfigError as exc:
        print(f"fasthold erase: {exc}", file=sys.stderr)
        return EXIT_INVALID
    retention = config.retention

    async def go() -> Erased:
        await check_at_head(url)
        db = Database(url, SystemClock(config.municipality.timezone))
        try:
            erasure = CaseErasure(db, db.clock, config.municipality.id, retention)
            return await (erasure.count_due() if args.dry_run or not retention.enabled
                          else erasure.erase_due())
        finally:
            await db.dispose()

    try:
        result = asyncio.run(go())
    except (SchemaNotAtHead, SchemaCheckFailed) as exc:
        print(f"fasthold erase: {exc}", file=sys.stderr)
        return EXIT_INVALID
    period = f"ended before {result.ended_before.isoformat()} " \
             f"([retention] erase_after_days = {retention.erase_after_days})"
    absences = f"{result.absences} consultants' absence(s) over before " \
               f"{result.ended_before.isoformat()}"
    held = (f"{result.held_back} more case(s) ended then but wait for a message to be "
            "delivered (sent, or a letter printed): erased once it is") \
        if result.held_back else ""
    if args.dry_run or not retention.enabled:
        print(f"{result.cases} case(s) {period} would have their personal data erased, "
              f"{absences} would be deleted")
        if held:
            print(held)
        if not retention.enabled:
            print("[retention] enabled = false: nothing is erased (set it to true to erase)")
        return 0
    print(f"erased the personal data of {result.cases} case(s) {period}; deleted {absences}")
    if held:
        print(held)
    return 0
