"""Stopping background tasks (job runs, schedules) without harm.

A task is asked to stop (by its own flag or event) and then given time to finish what it is
doing: cancelling it in the middle of a database call can leave a driver connection that never
closes. Only a task that does not finish in time is cancelled, and where it waited is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("fasthold.background")


async def cancel(task: asyncio.Task[None]) -> None:
    """Cancel at once and wait until the task is gone."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def finish_or_cancel(task: asyncio.Task[None], timeout: float) -> bool:
    """Wait for a task that was asked to stop; cancel it after `timeout` seconds.

    Returns True when it finished on its own.
    """
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
        return True
    except TimeoutError:
        where = "".join(f"\n  {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}"
                        for f in task.get_stack(limit=20))
        log.error("%s did not finish on shutdown; cancelled. Waiting at:%s", task.get_name(),
                  where)
        await cancel(task)
        return False
