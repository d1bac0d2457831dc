"""`write_changes`: an ORM object's changed columns written at once by one plain UPDATE, the
object left as a flush leaves it — nothing for the commit's flush, later changes flushed as
usual — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from service.clock import SettableClock
from service.platform.db.engine import Database, as_utc
from service.platform.db.models import Employer, StaffSession, StaffUser
from service.platform.db.plain_writes import write_changes

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _employer(cvr: str) -> Employer:
    return Employer(municipality_id="demo", cvr=cvr, name="Før ApS", address="Vej 1",
                    unavailable=[], created_at=NOW, updated_at=NOW)


async def test_changed_columns_are_written_at_once_and_nothing_is_left_to_flush(
        database_url: str) -> None:
    clock = SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen")
    db = Database(database_url, clock)
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_: statements.append(sql.split()[0].upper()))
    later = NOW + timedelta(hours=1)
    try:
        async with db.write() as session:
            session.add_all([_employer("11111111"), _employer("22222222")])
        async with db.write() as session:
            one, two = (await session.execute(
                select(Employer).order_by(Employer.cvr))).scalars().all()
            one.name = "Efter ApS"
            one.unavailable = [{"start": "2026-12-07T08:00", "end": "2026-12-07T12:00"}]
            two.name = two.name  # set to what it was: no change
            statements.clear()
            await write_changes(session, later, one, two)
            assert statements == ["UPDATE"]  # one statement, for the one changed row
            assert one.updated_at == later
            assert not session.dirty  # the flush has nothing left to write
            statements.clear()
            await session.flush()
            assert statements == []
            one.address = "Vej 2"  # a change after the call: flushed as usual at commit
        async with db.read() as session:
            rows = {e.cvr: e for e in (await session.execute(select(Employer))).scalars()}
        assert rows["11111111"].name == "Efter ApS"
        assert rows["11111111"].address == "Vej 2"
        assert rows["11111111"].unavailable == [
            {"start": "2026-12-07T08:00", "end": "2026-12-07T12:00"}]
        # stamped by the flush that wrote the change after the call
        assert as_utc(rows["11111111"].updated_at) == clock.utcnow() != later
        assert rows["22222222"].name == "Før ApS"
        assert as_utc(rows["22222222"].updated_at) == NOW  # untouched
    finally:
        await db.dispose()


async def test_an_object_added_in_the_transaction_is_left_to_the_flush(sqlite_url: str
                                                                      ) -> None:
    db = Database(sqlite_url, SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen"))
    try:
        async with db.write() as session:
            new = _employer("33333333")
            session.add(new)
            await write_changes(session, NOW, new)  # nothing written: not in the database yet
            assert new in session.new
        async with db.read() as session:
            assert (await session.execute(select(Employer.name))).scalar_one() == "Før ApS"
    finally:
        await db.dispose()


def _user(name: str) -> StaffUser:
    return StaffUser(municipality_id="demo", username=name, password_hash="x", role="admin",
                     created_at=NOW)


async def test_an_object_with_a_changed_relationship_is_left_to_the_flush(sqlite_url: str
                                                                         ) -> None:
    """Its columns too: the flush writes the relationship's foreign key with them."""
    db = Database(sqlite_url, SettableClock(NOW.replace(tzinfo=None), "Europe/Copenhagen"))
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_: statements.append(sql.split()[0].upper()))
    try:
        async with db.write() as session:
            first, second = _user("first"), _user("second")
            session.add_all([first, second])
            await session.flush()
            session.add(StaffSession(id="s" * 64, municipality_id="demo", user_id=first.id,
                                     csrf_token="t", created_at=NOW, last_seen_at=NOW,
                                     expires_at=NOW + timedelta(hours=8)))
        async with db.write() as session:
            staff = (await session.execute(select(StaffSession))).scalar_one()
            other = (await session.execute(select(StaffUser).where(
                StaffUser.username == "second"))).scalar_one()
            staff.user = other
            staff.csrf_token = "u"
            statements.clear()
            await write_changes(session, NOW, staff)
            assert statements == []  # nothing written: all of it left to the flush
            assert staff in session.dirty
        async with db.read() as session:
            staff = (await session.execute(select(StaffSession))).scalar_one()
            assert (staff.user.username, staff.csrf_token) == ("second", "u")
    finally:
        await db.dispose()
