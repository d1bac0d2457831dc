# One command per job. `make run` starts the demo service; `make test` runs the whole suite.
# Debian's Python 3.11 where the machine has it: built with profile-guided optimisation, it
# runs this project's code faster than an interpreter built without it (pyenv's default
# build, the first python3.11 on this machine's PATH): Herning's 4 simulated months
# 23.0 -> 22.2 s, a pure-Python loop 1.6 -> 1.2 s. Any other python3.11 where it is absent or
# cannot make a virtual environment.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv system-deps clean

# Python may write its compiled modules (__pycache__, ignored by git) even where the
# environment says not to: the suite starts dozens of Python processes, each of which compiled
# every module it imports again (2 s a process for the installed packages alone).
unexport PYTHONDONTWRITEBYTECODE

# The packages are installed by uv (2-3 s; pip took 20 s), by pip if uv fails — their modules
# not compiled there: compiling all of them took uv 9 s of the demo's first start, which needs
# a few of them (Python compiles those as it imports them, and keeps them). The environment is
# made without pip (`ensurepip` took 2.2 s of a fresh clone's 5-6 s of set-up): uv comes from
# the interpreter's own pip (`--python`: pip ≥ 22.3, installing into the environment), else
# from a pip the environment gets after all. The test suite imports most of the packages in
# every worker, and the workers would each compile the same modules at once: `$(COMPILED)`
# compiles them first, on every core, once per install — but not what no process here
# imports: the packages' own tests and the installers (pip, setuptools), a third of the files
# (6.7 -> 4.9 s). Files a package ships that are no Python 3 source (templates, test data)
# stay uncompiled, as installers leave them.
COMPILED := $(VENV)/.compiled
NOT_IMPORTED := /(tests?|testing)/|/site-packages/(pip|setuptools|_distutils_hack|pkg_resources)/
# (Its commands are not echoed: the demo's first start shows the newcomer one line for them.)
$(STAMP): pyproject.toml
	@echo "Installing fasthold and its packages into $(VENV) (after a change of pyproject.toml only)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV) \
		|| { rm -rf $(VENV) && python3.11 -m venv --without-pip $(VENV); }
	@test -x $(BIN)/uv || $(PYTHON) -m pip --python $(BIN)/python install -qq 'uv>=0.9' \
		|| { $(BIN)/python -m ensurepip --default-pip > /dev/null \
			&& $(BIN)/python -m pip install --quiet 'uv>=0.9'; }
	@$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[test]' \
		|| { { test -x $(BIN)/pip || $(BIN)/python -m ensurepip --default-pip > /dev/null; } \
			&& $(BIN)/python -m pip install --quiet --no-compile -e '.[test]'; }
	@touch $(STAMP)

$(COMPILED): $(STAMP)
	$(BIN)/python -m compileall -q -j 0 -x '$(NOT_IMPORTED)' service rules optimizer bots \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
		> /dev/null || true
	touch $(COMPILED)

venv: $(STAMP)

# The demo's first start after an install compiles the bytecode of every module it imports,
# one after the other on one core, while the other core waits: 6.2-6.5 s before its history
# begins (3.1 s once compiled). A second process, started beside it once after each install,
# imports the packages the demo imports last — Alembic, OR-Tools with numpy and pandas,
# psycopg, procrastinate, holidays — and so compiles them on the other core by the time the
# demo gets to them: 4.4-4.7 s (measured in turn on the 2-core machine, 2026-12-06). It
# prints nothing; a package it cannot import is the demo's to report.
FIRST_START_ALONGSIDE := alembic.command, ortools.sat.python.cp_model, psycopg, procrastinate, holidays
COMPILED_ALONGSIDE := $(VENV)/.compiled-alongside

## Start the demo: the service on the embedded default (SQLite under var/, config/demo.toml) with
## weeks of simulated history, the local mail sink and Slack page, one login per role.
run: $(STAMP)
	@test $(COMPILED_ALONGSIDE) -nt $(STAMP) || { touch $(COMPILED_ALONGSIDE); \
		$(BIN)/python -c 'import $(FIRST_START_ALONGSIDE)' > /dev/null 2>&1 & }
	$(BIN)/fasthold demo

## System packages the tests need (PostgreSQL server, Chromium); installed only when absent.
system-deps:
	bash scripts/ensure-system-packages.sh

## The whole test suite: lint, then pytest against real SQLite, PostgreSQL, SMTP, fake Slack, Chromium,
## in PYTEST_WORKERS processes (pytest-xdist; each test module runs whole in one of them, the
## slowest modules first (tests/conftest.py SLOW_FIRST), each
## process has its own PostgreSQL cluster and Chromium). PYTEST_WORKERS=0 runs in this process.
## Four on the 2-core development machine: the tests wait on sockets, subprocesses, PostgreSQL
## and Chromium for about a third of their time, which two workers left idle (make test,
## CI=true: 2 workers 3 min 46 s of pytest, 3 workers 3 min 29 s, 4 workers 3 min 6 s,
## 6 workers 3 min 23 s). Before them, pytest's assertion-rewritten bytecode of the test
## modules is written once, on every core (scripts/warm_test_bytecode.py: on a fresh clone each
## worker rewrote every module itself, 3 s of CPU apiece).
PYTEST_WORKERS ?= 4
test: $(COMPILED) system-deps
	$(BIN)/ruff check service rules optimizer bots tests
	$(BIN)/python scripts/warm_test_bytecode.py
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check service rules optimizer bots tests

bench: $(STAMP)
	$(BIN)/fasthold bench rules
	$(BIN)/fasthold bench plan
	$(BIN)/fasthold bench load

clean:
	rm -rf $(VENV) var/*.db test-artifacts
