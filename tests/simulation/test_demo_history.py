"""`fasthold demo`'s history: weeks of the municipality simulated into the demo's database
through the real use cases — once: starting again adds nothing, `--reset` starts afresh."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from service.commands.demo import _reset
from service.config import MunicipalityConfig
from service.platform.crypto import DataCipher, new_data_key
from service.platform.db.engine import Database
from service.platform.db.models import Case, Meeting, OutboxMessage
from service.simulation.history import HISTORY_PREFIX, seed_history
from tests.conftest import SYSTEM_CLOCK

NOW = datetime(2026, 11, 19, 11, 30)
SECRET = "demo-history-test-secret-" + "x" * 32


async def _state(url: str) -> dict[str, object]:
    db = Database(url, SYSTEM_CLOCK)
    try:
        async with db.read() as session:
            cases = (await session.execute(select(func.count(Case.id)))).scalar_one()
            refs = set((await session.execute(select(Case.case_ref))).scalars())
            statuses = dict((await session.execute(select(Meeting.status, func.count(
                Meeting.id)).group_by(Meeting.status))).all())
            closed = (await session.execute(select(func.count(Case.id)).where(
                Case.closed_on.is_not(None)))).scalar_one()
            case_statuses = set((await session.execute(select(Case.status))).scalars())
            pending = (await session.execute(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.status == "pending"))).scalar_one()
        return {"cases": cases, "refs": refs, "meetings": statuses, "closed": closed,
                "pending": pending, "statuses": case_statuses}
    finally:
        await db.dispose()


def test_history_is_seeded_once_and_reset_starts_afresh(small_town: MunicipalityConfig,
                                                        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    cipher = DataCipher.from_env_values(new_data_key())
    history = asyncio.run(seed_history(small_town, url, cipher, SECRET, NOW, weeks=4))
    assert history is not None and history.cases > 20
    first = asyncio.run(_state(url))
    assert first["cases"] == history.cases
    assert all(ref.startswith(f"{HISTORY_PREFIX}-") for ref in first["refs"])  # type: ignore[attr-defined]
    meetings = first["meetings"]
    assert isinstance(meetings, dict)
    for status in ("proposed", "held", "cancelled"):
        assert meetings.get(status, 0) > 0, (status, meetings)
    assert first["closed"] > 0
    # Cases in every state the rules give.
    assert first["statuses"] == {"target", "excluded", "not_target", "incomplete"}
    # The last planning run's invitations wait for the demo service to send them.
    assert first["pending"] > 0

    again = asyncio.run(seed_history(small_town, url, cipher, SECRET, NOW, weeks=4))
    assert again is None
    assert asyncio.run(_state(url)) == first

    assert _reset(url) is None
    assert not (tmp_path / "demo.db").exists()
    fresh = asyncio.run(seed_history(small_town, url, cipher, SECRET, NOW, weeks=4))
    assert fresh is not None and asyncio.run(_state(url))["cases"] == fresh.cases


def test_reset_refuses_a_database_it_does_not_own() -> None:
    problem = _reset("postgresql://fasthold@db.example/fasthold")
    assert problem is not None and "FASTHOLD_DATABASE_URL" in problem
