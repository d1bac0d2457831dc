"""`fasthold bench import` runs end to end on a small file (its figures are not asserted:
the benchmark reports, a test never judges wall time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from service.commands.bench_import import generate_file
from service.intake.csv_import import COLUMNS
from tests.support import today_local

FASTHOLD = str(Path(sys.executable).parent / "fasthold")


def test_the_generated_file_is_utf8_with_bom_and_every_column() -> None:
    data = generate_file(200, 1, today_local())
    text = data.decode("utf-8")
    assert text.startswith("\ufeff" + ";".join(COLUMNS) + "\n")
    assert len(text.splitlines()) == 201
    assert any(ch in text for ch in "æøåÆØÅ")
    assert generate_file(200, 1, today_local()) == data  # the seed decides


def test_bench_import_reports_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    done = subprocess.run([FASTHOLD, "bench", "import", "--rows", "60", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| SQLite     | import       |" in done.stdout
    result = json.loads(out.read_text())
    phases = {r["phase"]: r for r in result["results"]}
    assert set(phases) == {"preview", "import", "import again"}
    imported, again = phases["import"]["counts"], phases["import again"]["counts"]
    assert imported["oprettet"] + imported["afvist"] == 60
    assert again["uændret"] == imported["oprettet"] and again["oprettet"] == 0
    assert all(r["status"] == 200 for r in result["results"])
