"""`fasthold ARGS` run in the test's own process: the console script's `main`, with a given
environment, standard input empty (not a terminal), and its output and exit status caught as
`subprocess.run` would give them. A subprocess spends ~1.5 s of CPU importing the service
before it looks at its input; tests of what a command answers to its input use this, and
tests of the process itself (signals, ports, the console script) keep a real subprocess."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

from service.commands.cli import main


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_stdin = dict(os.environ), sys.stdin
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # commands configure the process's logging
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = io.StringIO("")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code: object = main(list(args))
            except SystemExit as exit_status:  # argparse's errors exit 2
                code = exit_status.code
    finally:
        sys.stdin = saved_stdin
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:] = handlers
        root.setLevel(level)
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["fasthold", *args], returncode, out.getvalue(),
                                       err.getvalue())
