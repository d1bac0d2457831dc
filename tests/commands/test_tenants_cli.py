"""`--config-dir` (many municipalities on one deployment) end to end: API keys per
municipality with `--municipality`, and `fasthold serve --config-dir` answering each
municipality on its own host."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli import run_cli
from tests.commands.test_service_cli import FASTHOLD, ROOT
from tests.support import TEST_DATA_KEY, TEST_SECRET_KEY, wait_until

HOSTS = {"alfa": "alfa.fasthold.test", "beta": "beta.fasthold.test"}


def _config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "kommuner"
    folder.mkdir()
    demo = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    for mid, host in HOSTS.items():
        text = demo.replace('id = "demo"', f'id = "{mid}"', 1).replace(
            'link_base_url = "http://127.0.0.1:8080"', f'link_base_url = "https://{host}"')
        assert f'id = "{mid}"' in text and host in text
        (folder / f"{mid}.toml").write_text(text, encoding="utf-8")
    return folder


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "FASTHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
           "FASTHOLD_DATA_KEY": TEST_DATA_KEY, "FASTHOLD_SECRET_KEY": TEST_SECRET_KEY}
    env.pop("FASTHOLD_CONFIG", None)
    return env


async def _fasthold(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A command's answer, in this process (`tests.cli`); serving keeps a real process."""
    return await asyncio.to_thread(run_cli, *args, env=env)


def _get(url: str, host: str, key: str | None = None) -> tuple[int, str]:
    headers = {"Host": host} | ({"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


async def test_keys_per_municipality_and_serve_by_host(tmp_path: Path) -> None:
    folder = _config_dir(tmp_path)
    env = _env(tmp_path)
    missing = await _fasthold(env, "apikey", "create", "--config-dir", str(folder), "--role",
                        "admin", "--name", "x")
    assert missing.returncode == 2 and "--municipality" in missing.stderr, missing.stderr
    created = await _fasthold(env, "apikey", "create", "--config-dir", str(folder),
                        "--municipality", "beta", "--role", "admin", "--name", "beta-ops")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().split("\t")[-1]
    listed = await _fasthold({**env, "FASTHOLD_CONFIG_DIR": str(folder)}, "apikey", "list",
                       "--municipality", "alfa")
    assert listed.returncode == 0 and "beta-ops" not in listed.stdout, listed
    listed = await _fasthold(env, "apikey", "list", "--config-dir", str(folder),
                       "--municipality", "beta")
    assert "beta-ops" in listed.stdout

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([FASTHOLD, "serve", "--config-dir", str(folder), "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async def answered() -> tuple[int, str] | None:
            got = await asyncio.to_thread(_get, base + "/healthz", "127.0.0.1")
            return got if got[0] else None

        status, text = await wait_until(answered, timeout=60,
                                        what="an answer from the root's GET /healthz")
        assert status == 200 and json.loads(text)["municipalities"] == ["alfa", "beta"]
        assert (await asyncio.to_thread(_get, base + "/api/cases", HOSTS["beta"], key))[0] \
            == 200
        assert (await asyncio.to_thread(_get, base + "/api/cases", HOSTS["alfa"], key))[0] \
            == 401
        status, page = await asyncio.to_thread(_get, base + "/", "127.0.0.1")
        assert f"https://{HOSTS['alfa']}/login" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_apikey_revoke_revokes_only_the_municipalitys_own_key(tmp_path: Path) -> None:
    """Another municipality's key id is no key of this one: `revoke --municipality alfa` of
    beta's key says so (exit 2) and leaves it working."""
    folder = _config_dir(tmp_path)
    env = {**_env(tmp_path), "FASTHOLD_CONFIG_DIR": str(folder)}
    created = await _fasthold(env, "apikey", "create", "--municipality", "beta", "--role",
                              "admin", "--name", "beta-ops")
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split("\t")[0]
    wrong = await _fasthold(env, "apikey", "revoke", key_id, "--municipality", "alfa")
    assert wrong.returncode == 2, wrong
    assert f"key {key_id}: no such active key" in wrong.stderr, wrong.stderr
    listed = await _fasthold(env, "apikey", "list", "--municipality", "beta")
    assert f"{key_id}\tadmin\tbeta-ops\tactive" in listed.stdout, listed.stdout
    right = await _fasthold(env, "apikey", "revoke", key_id, "--municipality", "beta")
    assert right.returncode == 0, right.stderr
    listed = await _fasthold(env, "apikey", "list", "--municipality", "beta")
    assert f"{key_id}\tadmin\tbeta-ops\trevoked" in listed.stdout, listed.stdout


async def test_config_check_refuses_the_directory_serve_refuses(tmp_path: Path) -> None:
    """Municipalities with different `[jobs] runner`s: `config check DIR` says what `serve
    --config-dir` says (one check for both), exit 2 — not "ok" for a directory that never
    starts."""
    folder = _config_dir(tmp_path)
    beta = folder / "beta.toml"
    beta.write_text(beta.read_text(encoding="utf-8") + '\n[jobs]\nrunner = "procrastinate"\n',
                    encoding="utf-8")
    env = _env(tmp_path)
    checked = await _fasthold(env, "config", "check", str(folder))
    assert checked.returncode == 2, checked
    assert "beta.toml: jobs.runner: all municipalities of one deployment use one runner" \
        in checked.stderr, checked.stderr
    served = await _fasthold(env, "serve", "--config-dir", str(folder), "--port", "0")
    assert served.returncode == 2, served
    assert checked.stderr.strip() in served.stderr, served.stderr
