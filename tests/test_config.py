"""Municipality configuration: the shipped files load; bad files give clear errors, exit 2."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from service.config import ConfigError, Secrets, load_config

ROOT = Path(__file__).resolve().parents[1]
FASTHOLD = str(Path(sys.executable).parent / "fasthold")


@pytest.mark.parametrize("name", ["demo.toml", "herning.toml"])
def test_shipped_configs_load(name: str) -> None:
    config = load_config(ROOT / "config" / name)
    assert config.consultants
    assert config.rules.thresholds().first_meeting_deadline_days == 55


def test_herning_is_modelled_on_herning() -> None:
    config = load_config(ROOT / "config" / "herning.toml")
    assert config.jobcentre.address == "Godsbanevej 1A, 7400 Herning"
    assert len(config.consultants) == 23
    first_phase = [c for c in config.consultants
                   if c.workplace_meetings_from and c.workplace_meetings_from.isoformat()
                   <= "2026-12-01"]
    assert len(first_phase) == 5
    shares = [m.workplace_first_meeting_share for m in config.milestones]
    assert shares[0] == 0.39 and shares[-1] == 0.70


def test_the_jobcentre_is_closed_on_the_public_sectors_days_off_every_year() -> None:
    """Besides the public holidays: grundlovsdag, juleaftensdag and nytårsaftensdag, every
    year (a 29 February only in leap years), and the configured dates."""
    planning = load_config(ROOT / "config" / "demo.toml").planning
    assert planning.closed_every_year == ["06-05", "12-24", "12-31"]
    closed = planning.closed()
    assert {date(2026, 12, 24), date(2026, 12, 31), date(2027, 6, 5),
            date(2099, 12, 24)} <= closed
    assert date(2026, 12, 23) not in closed and date(2026, 12, 25) not in closed
    leap = planning.model_copy(update={"closed_every_year": ["02-29"],
                                       "closed_dates": [date(2027, 3, 1)]}).closed()
    assert date(2028, 2, 29) in leap and date(2027, 3, 1) in leap
    assert not any(d.month == 2 and d.day == 28 for d in leap)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _demo_with(old: str, new: str) -> str:
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("first_meeting_deadline_days = 55", "first_meeting_deadline_days = \"55\"",
     "rules.first_meeting_deadline_days"),
    ("max_active_cases = 37", "max_active_cases = -1", "consultants.0.max_active_cases"),
    ('fixed_employers = ["29189919"]', 'fixed_employers = ["2918991"]',
     "consultants.0.fixed_employers.0"),
    ('mon = ["08:00", "15:30"]', 'mon = ["15:30", "08:00"]', "working_hours.mon"),
    ("exclude_serious_illness = true", "exclude_serious_illnes = true",
     "rules.exclude_serious_illnes"),
    ('id = "bo"', 'id = "anna"', "duplicate id"),
    ('closed_every_year = ["06-05", "12-24", "12-31"]', 'closed_every_year = ["12-32"]',
     "planning.closed_every_year"),
    ('closed_every_year = ["06-05", "12-24", "12-31"]', 'closed_every_year = ["24/12"]',
     "planning.closed_every_year"),
    ('privacy_url = "https://demo.example/persondata"', 'privacy_url = "javascript:alert(1)"',
     "jobcentre.privacy_url"),
    ('accessibility_url = "https://www.was.digst.dk/demo-example"',
     'accessibility_url = "www.was.digst.dk"', "jobcentre.accessibility_url"),
    # addresses and names mail needs (each was taken, and failed at the first mail)
    ('link_base_url = "http://127.0.0.1:8080"', 'link_base_url = "notaurl"',
     "mail.link_base_url"),
    ('from_address = "fastholdelse@demo.example"', 'from_address = "not-an-email"',
     "mail.from_address"),
    ('from_name = "Jobcenter Demo"', 'from_name = "Jobcenter\\nDemo"', "mail.from_name"),
    ('email = "jobcenter@demo.example"', 'email = "nope"', "jobcentre.email"),
    ('email = "anna.kjaer@demo.example"', 'email = "bobobo"', "consultants.0.email"),
    ('slack_user_id = "U0DEMO001"', 'slack_user_id = "bad id"', "consultants.0.slack_user_id"),
])
def test_invalid_config_names_file_and_key(tmp_path: Path, old: str, new: str,
                                           expected: str) -> None:
    path = _write(tmp_path, _demo_with(old, new))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[rules\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_config_check_command_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([FASTHOLD, "config", "check", str(ROOT / "config" / "herning.toml")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = _write(tmp_path, _demo_with("max_active_cases = 37", "max_active_cases = \"many\""))
    result = subprocess.run([FASTHOLD, "config", "check", str(bad)], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert "consultants.0.max_active_cases" in result.stderr
    # a directory as serve --config-dir reads it: two files sharing a host are refused
    folder = tmp_path / "many"
    folder.mkdir()
    demo = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    (folder / "a.toml").write_text(demo, encoding="utf-8")
    (folder / "b.toml").write_text(demo.replace('id = "demo"', 'id = "demo2"', 1),
                                   encoding="utf-8")
    shared = subprocess.run([FASTHOLD, "config", "check", str(folder)], capture_output=True,
                            text=True)
    assert shared.returncode == 2 and "mail.link_base_url" in shared.stderr, shared.stderr
    (folder / "b.toml").write_text(demo.replace('id = "demo"', 'id = "demo2"', 1).replace(
        "http://127.0.0.1:8080", "http://demo2.fasthold.example"), encoding="utf-8")
    (folder / "a.toml").write_text(demo.replace(
        "http://127.0.0.1:8080", "http://demo.fasthold.example"), encoding="utf-8")
    both = subprocess.run([FASTHOLD, "config", "check", str(folder)], capture_output=True,
                          text=True)
    assert both.returncode == 0 and both.stdout.count(": ok (") == 2, both.stderr


def test_secrets_come_from_the_environment() -> None:
    secrets = Secrets.from_env("sqlite:///x.db", {"FASTHOLD_SMTP_PORT": "2525",
                                                  "FASTHOLD_SMTP_STARTTLS": "true"})
    assert secrets.smtp_port == 2525 and secrets.smtp_starttls is True
    assert secrets.database_url == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="FASTHOLD_SMTP_PORT"):
        Secrets.from_env("sqlite:///x.db", {"FASTHOLD_SMTP_PORT": "smtp"})
