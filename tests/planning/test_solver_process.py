"""The solver's worker process ends with the service, however the service ends: a SIGKILL
gives the service no chance to stop it, and before, the worker (~160 MB with OR-Tools), the
forkserver and the resource tracker kept running under PID 1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]

# A service in miniature: the real ProcessPoolSolver starts its worker (one task run in it),
# and the process says which processes it started, then waits to be killed.
SERVICE = """
import json, os, time
import multiprocessing.forkserver as forkserver
import multiprocessing.resource_tracker as resource_tracker
from service.planning.solver import ProcessPoolSolver

solver = ProcessPoolSolver()
worker = solver._executor().submit(os.getpid).result()
print(json.dumps({"worker": worker,
                  "forkserver": forkserver._forkserver._forkserver_pid,
                  "resource tracker": resource_tracker._resource_tracker._pid}), flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


async def test_a_sigkilled_service_leaves_no_solver_process_behind() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    started: dict[str, int] = {}
    try:
        assert service.stdout is not None
        started = json.loads(service.stdout.readline())
        assert all(_running(pid) for pid in started.values()), started
        service.send_signal(signal.SIGKILL)
        service.wait()

        def left() -> list[str]:
            return [name for name, pid in started.items() if _running(pid)]

        await wait_until(lambda: not left(), what=lambda: f"{left()} to end with the service")
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        for pid in started.values():  # only what this test started, if the test failed
            if _running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
