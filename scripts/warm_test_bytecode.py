"""Write pytest's assertion-rewritten bytecode of the test modules before the tests start.

pytest rewrites the asserts of each test module (and conftest.py) as it imports it, and keeps
the result beside the module (`__pycache__/*.cpython-311-pytest-<version>.pyc`, checked
against the source's hash, so a fresh clone or a changed module is rewritten again). The
suite's four processes start at once on a fresh clone, so each of them rewrote every module
itself: 3 s of CPU a process, 12 s in all. Here they are rewritten once, on every core,
before the processes start (about 1 s).

A warm-up only, with what pytest's own rewriting uses: a module whose kept bytecode pytest
cannot use is rewritten by pytest as before, and where these internals are gone (another
pytest) the script says so and does nothing.

Usage: python scripts/warm_test_bytecode.py [TEST_DIRECTORY]   (default: tests)
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

try:
    from _pytest.assertion.rewrite import (
        PYC_TAIL,
        _read_pyc,
        _rewrite_test,
        _write_pyc_fp,
        get_cache_dir,
    )
except ImportError as exc:  # another pytest: it rewrites the modules itself, as it always did
    print(f"warm_test_bytecode: skipped ({exc})", file=sys.stderr)
    sys.exit(0)


def _modules(root: Path) -> list[Path]:
    """The files pytest rewrites here: its default test-file patterns and conftest.py."""
    return sorted({*root.rglob("test_*.py"), *root.rglob("*_test.py"),
                   *root.rglob("conftest.py")})


def _warm(source: Path) -> bool:
    """Rewrite `source` into pytest's kept bytecode unless it is there and current."""
    pyc = get_cache_dir(source) / (source.name[:-3] + PYC_TAIL)
    if _read_pyc(source, pyc) is not None:
        return False
    try:
        source_hash, code = _rewrite_test(source, None)  # type: ignore[arg-type]
    except (SyntaxError, ValueError, OSError):
        return False  # pytest reports it, as a collection error, where it runs the tests
    pyc.parent.mkdir(parents=True, exist_ok=True)
    partial = pyc.with_name(f"{pyc.name}.{os.getpid()}")
    with open(partial, "wb") as out:
        _write_pyc_fp(out, source_hash, code)
    os.replace(partial, pyc)  # whole or not at all, as pytest writes it
    return True


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "tests").resolve()
    if not root.is_dir():
        print(f"warm_test_bytecode: no directory {root}", file=sys.stderr)
        return 2
    modules = _modules(root)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        written = sum(pool.map(_warm, modules, chunksize=8))
    print(f"warm_test_bytecode: {written} of {len(modules)} test modules rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
