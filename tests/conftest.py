"""The test run's wiring: the order of the modules, the collector's tuning, and the fixtures of
tests/support.py in every process that runs tests.

pytest-xdist's controller process (`make test`: `-n 4`) runs no test; it only starts the
workers and gathers their reports. It does not load tests/support.py, whose imports (the
whole app, 1.8 s of CPU) each worker makes anyway: the workers start that much sooner.
"""

from __future__ import annotations

import gc

import pytest

# Its asserts rewritten wherever it is first imported: a subdirectory's conftest that imports
# its helpers is loaded before `pytest_configure` when the run names that directory.
pytest.register_assert_rewrite("tests.support")

# The modules that take longest (`--durations`: the demo's 26-week history, schemathesis over
# every operation and role, the simulations, the dashboard in Chromium). They run first: with
# pytest-xdist (`--dist loadfile --no-loadscope-reorder`, the Makefile) each worker starts on
# one of them and the many short modules fill in behind, instead of a one-test module of a
# minute ending the run on one worker while the other waits (xdist's default order puts the
# modules with the most tests first, so one-test modules came last).
SLOW_FIRST = (
    "tests/simulation/test_demo_history.py",
    "tests/commands/test_bench_scale.py",  # a deployment of 7 processes, a worker killed
    "tests/platform/test_schemathesis.py",
    "tests/simulation/test_simulation.py",
    "tests/simulation/test_simulate_command.py",
    "tests/kpis/test_dashboard_browser.py",
    "tests/simulation/test_demo_command.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """The collector's garbage collection tuned for a test process: what is alive once the
    tests are collected (every module, the app's code, Hypothesis, Playwright, OR-Tools) is
    frozen out of the collections, which otherwise walked it again and again, and the young
    generation is collected after 20,000 allocations instead of 700 — the tests make many
    short-lived objects. The same tests, 4-6 % less CPU (tests/meetings with
    test_api_cases: 38.7 -> 36.0 s and 38.5 -> 37.0 s of user time)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def pytest_configure(config: pytest.Config) -> None:
    """tests/support.py's fixtures and hooks, unless this process is pytest-xdist's
    controller: a process with workers to hand the tests to (xdist's own test) that is no
    worker itself and not only collecting."""
    controller = (not hasattr(config, "workerinput") and not config.getoption("collectonly")
                  and config.getoption("dist", "no") != "no"
                  and bool(config.getoption("tx", None)))
    if not controller:
        config.pluginmanager.import_plugin("tests.support")
