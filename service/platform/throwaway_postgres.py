"""A throwaway PostgreSQL cluster on loopback: for the test suite and `fasthold bench load`.

`initdb` into a temporary directory (as an unprivileged account when run as root: initdb
refuses root), trust authentication, TCP on 127.0.0.1 only with a free port, unix sockets in
the temporary directory, fsync off; `pg_ctl -m immediate` and the directory removed on stop.
Nothing here is for production data. This module is a leaf: it imports no `service` code.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

POSTGRES_GLOB = "/usr/lib/postgresql/*/bin/postgres"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed; the message carries their output and the server log."""


def postgres_bindir() -> Path | None:
    """The newest installed server's bin directory (Debian layout), or None."""
    found = sorted(glob.glob(POSTGRES_GLOB), key=_version_key)
    return Path(found[-1]).parent if found else None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name  # /usr/lib/postgresql/<version>/bin/postgres
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_account() -> str | None:
    """When running as root, the account to run the cluster as (postgres, else nobody)."""
    if os.geteuid() != 0:
        return None
    for candidate in ("postgres", "nobody"):
        try:
            pwd.getpwnam(candidate)
            return candidate
        except KeyError:
            continue
    raise PostgresStartError("running as root and neither a 'postgres' nor a 'nobody' "
                             "account exists to run initdb as")


class ThrowawayPostgres:
    """One temporary cluster: `start()`, `url(database)`, `create_database(name)`, `stop()`.

    Also a context manager (`with ThrowawayPostgres() as pg: ...`). The database superuser is
    the account the server runs as; connections over 127.0.0.1 need no password.
    """

    def __init__(self, max_connections: int = 200, bindir: Path | None = None) -> None:
        self.max_connections = max_connections
        self.bindir = bindir
        self.port = 0
        self.user = ""
        self.base: Path | None = None
        self._run_user: str | None = None

    @property
    def running(self) -> bool:
        return self.base is not None

    def start(self) -> ThrowawayPostgres:
        """initdb and start the server; raises PostgresUnavailable or PostgresStartError."""
        if self.running:
            return self
        bindir = self.bindir or postgres_bindir()
        if bindir is None:
            raise PostgresUnavailable(f"PostgreSQL server not installed ({POSTGRES_GLOB})")
        self.bindir = bindir
        self._run_user = _unprivileged_account()
        self.base = base = Path(tempfile.mkdtemp(prefix="fasthold-pg-"))
        data, sockets = base / "data", base / "sock"
        sockets.mkdir()
        if self._run_user is not None:
            shutil.chown(base, self._run_user)
            shutil.chown(sockets, self._run_user)
            os.chmod(base, 0o700)
        self.user = self._run_user or pwd.getpwuid(os.geteuid()).pw_name
        self.port = free_port()
        try:
            self._run_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                                self.user, "-E", "UTF8", "--no-sync"])
            self._run_as_owner([
                str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                "-t", "60", "-o",
                f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c max_connections={self.max_connections}",
                "start"])
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log_file = base / "log"
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            output = getattr(exc, "stderr", "") or ""
            self.stop()
            raise PostgresStartError(f"{exc}\n{output}\n{log}".strip()) from None
        return self

    def stop(self) -> None:
        """Stop the server at once (`pg_ctl -m immediate`) and remove its directory."""
        base, self.base = self.base, None
        if base is None:
            return
        data = base / "data"
        if self.bindir is not None and (data / "postmaster.pid").exists():
            cmd = [str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            if self._run_user is not None:
                cmd = ["runuser", "-u", self._run_user, "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """The SQLAlchemy/fasthold URL of a database in this cluster (over 127.0.0.1)."""
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` (letters, digits, underscores); returns its URL."""
        if not self.running or self.bindir is None:
            raise RuntimeError("the cluster is not running: call start() first")
        if not _DATABASE_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                        "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'],
                       check=True, capture_output=True, text=True, timeout=60)
        return self.url(name)

    def _run_as_owner(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        if self._run_user is not None:
            cmd = ["runuser", "-u", self._run_user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
