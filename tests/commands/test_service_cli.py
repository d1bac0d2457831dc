"""The service's own commands end to end: db upgrade, apikey (in this process: `tests.cli`),
serve --demo (a real process)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import IO

from tests.cli import run_cli
from tests.support import TEST_DATA_KEY, wait_until

ROOT = Path(__file__).resolve().parents[2]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "FASTHOLD_DATA_KEY": TEST_DATA_KEY}


def test_db_upgrade_and_api_keys(tmp_path: Path) -> None:
    env = _env(tmp_path)
    up = run_cli("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    created = run_cli("apikey", "create", "--role", "manager", "--name", "afsnitsleder",
                      env=env)
    assert created.returncode == 0, created.stderr
    key_id, role, name, key = created.stdout.strip().split("\t")
    assert role == "manager" and key.startswith("fh_")
    listed = run_cli("apikey", "list", env=env)
    assert "afsnitsleder\tactive" in listed.stdout
    assert key not in listed.stdout  # only the hash is stored
    revoked = run_cli("apikey", "revoke", key_id, env=env)
    assert revoked.returncode == 0
    again = run_cli("apikey", "revoke", key_id, env=env)
    assert again.returncode == 2
    bad_role = run_cli("apikey", "create", "--role", "boss", "--name", "x", env=env)
    assert bad_role.returncode == 2


def test_options_no_command_can_use_are_exit_2_naming_them(tmp_path: Path) -> None:
    """A number too large for the database or the solver, a port that does not exist, a key
    name that is empty or holds control characters: exit 2 naming the option — an id past
    64 bits was an OverflowError, port 99999 said it was listening."""
    env = _env(tmp_path)
    assert run_cli("db", "upgrade", env=env).returncode == 0
    for args, named in (
            (("apikey", "revoke", "99999999999999999999999"), "key_id"),
            (("apikey", "create", "--role", "manager", "--name", ""), "--name"),
            (("apikey", "create", "--role", "manager", "--name", "a\x01b"), "--name"),
            (("apikey", "create", "--role", "manager", "--name", "x" * 201), "--name"),
            (("serve", "--port", "99999"), "--port"),
            (("demo", "--port", "65536"), "--port"),
            (("plan", "-", "--seed", "4294967296"), "--seed"),
            (("simulate", "--months", "99999999999999999999"), "--months"),
            # an option that would be ignored without a word
            (("apikey", "create", "--role", "manager", "--name", "m2", "--consultant-id",
              "anna"), "--consultant-id"),
            (("serve", "--config", "config/demo.toml", "--config-dir", "config"),
             "--config-dir")):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, (args, result.returncode, result.stderr[-300:])
        assert named in result.stderr, (args, result.stderr[-300:])
    listed = run_cli("apikey", "list", env=env)
    assert listed.stdout == ""  # no key was made


def test_serve_refuses_without_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k != "FASTHOLD_SECRET_KEY"}
    result = run_cli("serve", "--port", "0", env=env)
    assert result.returncode == 2
    assert "FASTHOLD_SECRET_KEY" in result.stderr


def _read_lines(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line)


def _healthz_status(url: str) -> int | None:
    """The status of GET /healthz, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url + "healthz", timeout=5) as resp:
            return resp.status
    except OSError:
        return None


async def test_serve_demo_answers_on_the_printed_url(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([FASTHOLD, "serve", "--demo", "--port", str(port)],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()

        def printed_url() -> str | None:
            return next((line.split("listening on ", 1)[1].strip() for line in lines
                         if "listening on " in line), None)

        url = await wait_until(printed_url, timeout=60, what=lambda: (
            f"'listening on' in the output; got {lines!r}"))
        assert url == f"http://127.0.0.1:{port}/"
        # printed once the service listens: the first request answers (no waiting for it)
        assert await asyncio.to_thread(_healthz_status, url) == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_port_in_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`serve` on a port another process holds: a line naming host and port, exit 1 (it was
    an OSError's traceback)."""
    env = {**_env(tmp_path), "FASTHOLD_SECRET_KEY": "s" * 48}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([FASTHOLD, "serve", "--port", str(port)], env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr[-500:]
    assert f"--port {port}" in result.stderr and "Traceback" not in result.stderr

