"""The audit log: every read and change of a case by staff (who, what, when)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.auth import Principal
from service.platform.db.models import AuditEntry


def record(session: AsyncSession, principal: Principal | None, municipality_id: str,
           action: str, case_id: int | None = None, details: dict[str, Any] | None = None
           ) -> None:
    """Add one audit entry to the session's transaction. Details must hold no CPR or health data."""
    session.add(AuditEntry(
        municipality_id=municipality_id,
        actor=principal.actor if principal else "system",
        role=principal.role if principal else "system",
        action=action,
        case_id=case_id,
        details=details or {},
    ))
