"""The demo's first start says about how long its history takes, for the weeks and the
municipality asked for (not the default demo's 20 seconds for every history)."""

from __future__ import annotations

from pathlib import Path

from service.commands.demo import history_duration
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_demo_says_about_20_seconds() -> None:
    assert history_duration(load_config(ROOT / "config" / "demo.toml"), 26) == \
        "about 20 seconds"


def test_a_longer_and_larger_history_says_minutes() -> None:
    herning = load_config(ROOT / "config" / "herning.toml")
    assert history_duration(herning, 65) == "about 2 minutes"
    assert history_duration(herning, 26) == "about 50 seconds"


def test_a_short_history_says_at_least_10_seconds() -> None:
    assert history_duration(load_config(ROOT / "config" / "demo.toml"), 1) == \
        "about 10 seconds"
