"""The service's own commands end to end: db upgrade, apikey, serve --demo."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def test_db_upgrade_and_api_keys(tmp_path: Path) -> None:
    env = _env(tmp_path)
    up = subprocess.run([FASTHOLD, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    created = subprocess.run([FASTHOLD, "apikey", "create", "--role", "manager", "--name",
                              "afsnitsleder"], env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    key_id, role, name, key = created.stdout.strip().split("\t")
    assert role == "manager" and key.startswith("fh_")
    listed = subprocess.run([FASTHOLD, "apikey", "list"], env=env, capture_output=True,
                            text=True)
    assert "afsnitsleder\tactive" in listed.stdout
    assert key not in listed.stdout  # only the hash is stored
    revoked = subprocess.run([FASTHOLD, "apikey", "revoke", key_id], env=env,
                             capture_output=True, text=True)
    assert revoked.returncode == 0
    again = subprocess.run([FASTHOLD, "apikey", "revoke", key_id], env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2
    bad_role = subprocess.run([FASTHOLD, "apikey", "create", "--role", "boss", "--name", "x"],
                              env=env, capture_output=True, text=True)
    assert bad_role.returncode == 2


def test_serve_refuses_without_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k != "FASTHOLD_SECRET_KEY"}
    result = subprocess.run([FASTHOLD, "serve", "--port", "0"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "FASTHOLD_SECRET_KEY" in result.stderr


def test_serve_demo_answers_on_the_printed_url(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([FASTHOLD, "serve", "--demo", "--port", str(port)],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "healthz", timeout=5) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("service did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
