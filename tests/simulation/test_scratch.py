"""A simulation's throwaway database folder: one left behind by a killed run (its process
gone) is removed by the next run; a running simulation's, and anything else, stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.simulation.run import SCRATCH_PREFIX, _sweep_stale


def test_folders_of_simulations_no_longer_running_are_removed(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    left = tmp_path / f"{SCRATCH_PREFIX}{dead_pid}-abc123"
    (left / "sub").mkdir(parents=True)
    (left / "simulation.db").write_bytes(b"x" * 1000)
    running = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def456"
    running.mkdir()
    other = tmp_path / "fasthold-simulated-notes"
    other.mkdir()
    unnamed = tmp_path / f"{SCRATCH_PREFIX}xyz"
    unnamed.mkdir()

    _sweep_stale(str(tmp_path))

    assert not left.exists()
    assert running.is_dir() and other.is_dir() and unnamed.is_dir()
