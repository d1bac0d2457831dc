"""scripts/warm_test_bytecode.py: pytest's rewritten bytecode of the test modules, written
before the test processes start, is the bytecode pytest itself uses (the asserts rewritten,
current to the source), and a second run writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "warm_test_bytecode.py"


def _warm(directory: Path) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), str(directory)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_the_modules_pytest_rewrites_are_rewritten_once(tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    test_module = tmp_path / "area" / "test_sum.py"
    test_module.write_text("def test_sum():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "area" / "helpers.py").write_text("Y = 2\n", encoding="utf-8")

    assert _warm(tmp_path) == "warm_test_bytecode: 2 of 2 test modules rewritten"
    pyc = tmp_path / "area" / "__pycache__" / ("test_sum" + PYC_TAIL)
    code = _read_pyc(test_module, pyc)
    assert code is not None  # what pytest reads back: its format, current to the source
    assert "@pytest_ar" in code.co_names  # the asserts are rewritten
    assert (tmp_path / "__pycache__" / ("conftest" + PYC_TAIL)).exists()
    assert not (tmp_path / "area" / "__pycache__" / ("helpers" + PYC_TAIL)).exists()

    assert _warm(tmp_path) == "warm_test_bytecode: 0 of 2 test modules rewritten"
    test_module.write_text("def test_sum():\n    assert 2 + 2 == 4\n", encoding="utf-8")
    assert _warm(tmp_path) == "warm_test_bytecode: 1 of 2 test modules rewritten"
    assert _read_pyc(test_module, pyc) is not None


def test_a_module_that_does_not_parse_is_left_to_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("def test_(:\n", encoding="utf-8")
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    assert True\n",
                                           encoding="utf-8")
    assert _warm(tmp_path) == "warm_test_bytecode: 1 of 2 test modules rewritten"
    assert not (tmp_path / "__pycache__" / ("test_broken" + PYC_TAIL)).exists()


def test_a_directory_that_is_not_there_is_exit_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no directory" in done.stderr
