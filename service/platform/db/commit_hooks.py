"""Work to do once a transaction has committed — asking for a job, telling a page to refresh —
asked for by the code that wrote the rows it is about.

`on_commit` keeps the callbacks in the session (`Session.info`), one per key however often
asked for in a transaction, read by two listeners added once per session: after the whole
transaction commits (not a savepoint's release: its rows are not out yet) each runs once;
after it rolls back none does. A listener added per call (`event.listen(..., once=True)`)
cost a listener per queued message, fired at a savepoint's release, and was not added again
for a second transaction of the same session (SQLAlchemy took it for the one already there).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

# `Session.info` key: the open transaction's callbacks by key (present once listened to)
_PENDING = "fasthold_on_commit"


def on_commit(session: AsyncSession, key: Hashable, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction commits; the first one asked for under
    `key` in the transaction runs, once."""
    sync = session.sync_session
    pending = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = {}
        event.listen(sync, "after_commit", _committed)
        event.listen(sync, "after_soft_rollback", _rolled_back)
    pending.setdefault(key, callback)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info[_PENDING]
    callbacks = list(pending.values())
    pending.clear()
    for callback in callbacks:
        callback()


def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction: what it wrote is gone
        session.info[_PENDING].clear()
