"""The one clock: now, today and local wall-clock time in the municipality's zone (Europe/
Copenhagen), around midnight and on the days the clocks change; the zone comes from config."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service.clock import SettableClock, SystemClock
from service.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
CPH = "Europe/Copenhagen"


def test_system_clock_reads_the_real_time_in_copenhagen() -> None:
    clock = SystemClock()
    before = datetime.now(UTC)
    now, utc, local = clock.now(), clock.utcnow(), clock.local_now()
    after = datetime.now(UTC)
    assert before <= utc <= after and before <= now <= after + timedelta(seconds=1)
    assert str(now.tzinfo) == CPH and utc.tzinfo == UTC
    assert now.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert local.tzinfo is None
    assert abs(local - now.replace(tzinfo=None)) < timedelta(seconds=5)
    assert clock.today() in (now.date(), (now + timedelta(seconds=5)).date())


def test_system_clock_in_another_zone() -> None:
    clock = SystemClock("America/Nuuk")
    assert str(clock.now().tzinfo) == "America/Nuuk"
    with pytest.raises(ValueError, match="Mars/Olympus"):
        SystemClock("Mars/Olympus")


def test_settable_clock_naive_times_are_local() -> None:
    clock = SettableClock(datetime(2026, 11, 20, 10, 0))
    assert clock.now() == datetime(2026, 11, 20, 10, 0, tzinfo=clock.tz)
    assert clock.utcnow() == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # winter: UTC+1
    assert clock.local_now() == datetime(2026, 11, 20, 10, 0)
    assert clock.today() == date(2026, 11, 20)
    clock.set_today(date(2026, 7, 1), hour=9)
    assert clock.utcnow() == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # summer: UTC+2
    clock.set(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    assert clock.local_now() == datetime(2026, 7, 1, 10, 0)
    clock.advance(timedelta(hours=2))
    assert clock.local_now() == datetime(2026, 7, 1, 12, 0)


@pytest.mark.parametrize(("utc", "local_day", "local_time"), [
    # Just before midnight UTC it is already tomorrow in Copenhagen ...
    (datetime(2026, 11, 20, 23, 30, tzinfo=UTC), date(2026, 11, 21), (0, 30)),
    (datetime(2026, 6, 30, 22, 15, tzinfo=UTC), date(2026, 7, 1), (0, 15)),
    # Just after midnight UTC, Copenhagen is an hour ahead.
    (datetime(2026, 11, 21, 0, 30, tzinfo=UTC), date(2026, 11, 21), (1, 30)),
    # Just before local midnight, UTC is still on the same day.
    (datetime(2026, 11, 20, 22, 59, tzinfo=UTC), date(2026, 11, 20), (23, 59)),
])
def test_today_is_the_local_date_around_midnight(utc: datetime, local_day: date,
                                                 local_time: tuple[int, int]) -> None:
    clock = SettableClock(utc)
    assert clock.today() == local_day
    assert clock.now().date() == local_day
    assert clock.local_now() == datetime.combine(local_day, datetime.min.time()).replace(
        hour=local_time[0], minute=local_time[1])
    assert clock.utcnow() == utc


def test_the_spring_change_skips_an_hour_of_local_time() -> None:
    # Sunday 29 March 2026: at 01:00 UTC the clocks jump from 02:00 to 03:00.
    clock = SettableClock(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    assert clock.local_now() == datetime(2026, 3, 29, 1, 59)
    assert clock.now().utcoffset() == timedelta(hours=1)
    clock.set(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert clock.local_now() == datetime(2026, 3, 29, 3, 0)
    assert clock.now().utcoffset() == timedelta(hours=2)
    assert clock.today() == date(2026, 3, 29)


def test_the_autumn_change_repeats_an_hour_of_local_time() -> None:
    # Sunday 25 October 2026: at 01:00 UTC the clocks go back from 03:00 to 02:00.
    first = SettableClock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    second = SettableClock(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert first.local_now() == second.local_now() == datetime(2026, 10, 25, 2, 30)
    assert first.now().utcoffset() == timedelta(hours=2)
    assert second.now().utcoffset() == timedelta(hours=1)
    assert first.today() == second.today() == date(2026, 10, 25)
    # A naive local time in the repeated hour is the first of the two (summer time).
    assert SettableClock(datetime(2026, 10, 25, 2, 30)).utcnow() == first.utcnow()


@pytest.mark.parametrize(("start", "hours", "wall_clock_after"), [
    # Autumn: from summer time, through the repeated hour, into winter time.
    (datetime(2026, 10, 25, 1, 30), 1, datetime(2026, 10, 25, 2, 30)),
    (datetime(2026, 10, 25, 1, 30), 2, datetime(2026, 10, 25, 2, 30)),  # the second 02:30
    (datetime(2026, 10, 25, 2, 30), 1, datetime(2026, 10, 25, 2, 30)),
    # Spring: from winter time over the skipped hour into summer time.
    (datetime(2026, 3, 29, 1, 30), 1, datetime(2026, 3, 29, 3, 30)),
    (datetime(2026, 3, 29, 1, 30), 2, datetime(2026, 3, 29, 4, 30)),
])
def test_advance_moves_real_time_across_a_dst_change(start: datetime, hours: int,
                                                     wall_clock_after: datetime) -> None:
    clock = SettableClock(start)
    before = clock.utcnow()
    clock.advance(timedelta(hours=hours))
    assert clock.utcnow() - before == timedelta(hours=hours)
    assert clock.local_now() == wall_clock_after


def test_advance_across_a_dst_change_from_an_instant_given_in_utc() -> None:
    # Set with an aware UTC instant, the clock advances by real time.
    clock = SettableClock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    clock.advance(timedelta(hours=1))
    assert clock.utcnow() == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert clock.local_now() == datetime(2026, 10, 25, 2, 30)  # the second 02:30
    assert clock.now().utcoffset() == timedelta(hours=1)


# -- the zone comes from the municipality's configuration --------------------------------------

def test_the_configured_zone_is_checked(tmp_path: Path) -> None:
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    assert 'timezone = "Europe/Copenhagen"' in text
    assert load_config(ROOT / "config" / "demo.toml").municipality.timezone == CPH
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('timezone = "Europe/Copenhagen"', 'timezone = "Europe/Herning"',
                                1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(bad) in str(err.value)
    assert "municipality.timezone" in str(err.value)
    assert "Europe/Herning" in str(err.value)
