"""The audit log: every read and change of a case by staff (who, what, when).

A change writes its entry in the change's own transaction (`record`). A read writes its entry
through `ReadAudit`: entries of reads that arrive together share one commit, and each read is
answered only after its entry is committed — never a read without its entry, and no write
lock held while the case is read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.clock import Clock
from service.platform.auth import Principal
from service.platform.db.engine import Database
from service.platform.db.models import AuditEntry

log = logging.getLogger("fasthold.audit")
_INSERT = insert(AuditEntry.__table__)


def entry(principal: Principal | None, municipality_id: str, action: str,
          case_id: int | None = None, details: dict[str, Any] | None = None
          ) -> dict[str, Any]:
    """One entry's values. Details must hold no CPR or health data."""
    return {"municipality_id": municipality_id,
            "actor": principal.actor if principal else "system",
            "role": principal.role if principal else "system",
            "action": action, "case_id": case_id, "details": details or {}}


def record(session: AsyncSession, principal: Principal | None, municipality_id: str,
           action: str, case_id: int | None = None, details: dict[str, Any] | None = None
           ) -> None:
    """Add one audit entry to the session's transaction."""
    session.add(AuditEntry(**entry(principal, municipality_id, action, case_id, details)))


async def write(connection: AsyncConnection, at: datetime, principal: Principal | None,
                municipality_id: str, action: str, case_id: int | None = None,
                details: dict[str, Any] | None = None) -> None:
    """Insert one audit entry now, on the transaction's connection, stamped `at` (the clock's
    now, as a flush stamps `record`'s): for a use case whose other writes are plain
    statements too (no ORM flush for it). An entry `record`ed earlier in the same
    transaction and not yet flushed would come after this one: use one or the other."""
    values = entry(principal, municipality_id, action, case_id, details)
    values["at"] = at
    await connection.execute(_INSERT, values)


class ReadAudit:
    """Commits read entries in groups: one transaction for the entries waiting when it starts."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, principal: Principal | None, municipality_id: str, action: str,
                     case_id: int | None = None, details: dict[str, Any] | None = None
                     ) -> None:
        """Return once the entry is committed; raise if it could not be."""
        values = entry(principal, municipality_id, action, case_id, details)
        values["at"] = self.clock.utcnow()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="read-audit")
        await asyncio.shield(done)

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                rows = [v for v, _ in batch]
                try:
                    # One hand-over for the whole transaction (`Database.run_write`).
                    await self.db.run_write(
                        lambda connection, rows=rows: connection.execute(_INSERT, rows))
                except Exception as exc:
                    log.error("audit entries could not be written: %s", type(exc).__name__)
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writer = None

    async def close(self) -> None:
        """Wait for entries under way (on shutdown)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)
