"""`fasthold worker` and `fasthold serve` with the PostgreSQL job queue: refused without it,
and a worker process stopped by SIGTERM leaves gracefully (unregistered, nothing "doing")."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from service.commands.cli import main
from tests.support import TEST_DATA_KEY, TEST_SECRET_KEY, wait_until

ROOT = Path(__file__).resolve().parents[2]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def queue_config(tmp_path: Path) -> Path:
    """The demo municipality with `[jobs] runner = "procrastinate"`."""
    path = tmp_path / "queue.toml"
    path.write_text((ROOT / "config" / "demo.toml").read_text()
                    + '\n[jobs]\nrunner = "procrastinate"\n')
    return path


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "FASTHOLD_DATABASE_URL": database_url,
            "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY}


def test_worker_and_serve_refuse_without_the_queue_on_postgresql(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _env(f"sqlite:///{tmp_path / 'w.db'}").items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()  # `serve` configures the process's logging: put it back after
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)
    assert main(["worker", "--config", str(ROOT / "config" / "demo.toml")]) == 2
    assert '[jobs] runner is "in_process"' in capsys.readouterr().err
    for command in ("worker", "serve"):
        assert main([command, "--config", str(queue_config(tmp_path))]) == 2
        assert "needs PostgreSQL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_status:
        main(["worker", "--concurrency", "0"])
    assert exit_status.value.code == 2 and "--concurrency" in capsys.readouterr().err
    for heartbeat in ("0.5", "61", "nan", "inf", "ti"):
        with pytest.raises(SystemExit) as exit_status:
            main(["worker", "--heartbeat", heartbeat])
        assert exit_status.value.code == 2 and "--heartbeat" in capsys.readouterr().err


async def test_a_worker_stops_gracefully_on_sigterm(tmp_path: Path, postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    process = subprocess.Popen([FASTHOLD, "worker", "--config", str(queue_config(tmp_path)),
                                "--concurrency", "2"], env=_env(postgres_url),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    connection = await asyncpg.connect(plain)
    try:
        async def registered() -> bool:
            return bool(await connection.fetchval("SELECT count(*) FROM procrastinate_workers"))

        await wait_until(registered, 60, "the worker registered in the queue")
        # It works: its start asked for the catalogue's catch-up runs, the plan among them.
        await wait_until(lambda: connection.fetchval(
            "SELECT count(*) FROM planning_runs WHERE trigger = 'start'"), 60,
            "the worker's catch-up planning run")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert await connection.fetchval("SELECT count(*) FROM procrastinate_workers") == 0
        assert await connection.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'") == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await connection.close()
