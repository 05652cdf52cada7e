"""Hours without bars on a weekday, at a time the market does not close on other days,
are said in the run's notes (hostapp/market/outages.py): three hours missing on a
Wednesday afternoon (a feed that stopped) were said nowhere, while the positions open
across them went unchecked. Weekends, daily breaks and a quiet market's missing bars
say nothing."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import Bar
from hostapp.market.outages import outage_note, outages
from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]
M5 = timedelta(minutes=5)
START = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday


def gold() -> list[Bar]:
    """Three weeks of M5 bars with forex's weekends."""
    return generate_bars("XAUUSD", START, 12_000, seed=4)


def without(bars: list[Bar], start: datetime, hours: float) -> list[Bar]:
    end = start + timedelta(hours=hours)
    return [b for b in bars if not start <= b.time < end]


def test_a_weekday_outage_is_said_and_closures_are_not() -> None:
    bars = gold()
    assert outages(bars, M5) == []  # weekends only
    outage = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)  # a Wednesday
    gapped = without(bars, outage, 3)
    assert outages(gapped, M5) == [(outage, outage + timedelta(hours=3))]
    note = outage_note({"XAUUSD": gapped}, M5)
    assert note is not None
    assert "XAUUSD 1 (the longest 3.0 h from 2024-06-12 12:00 UTC, a Wednesday)" in note
    # a daily break (21:00 to 22:00 every weekday) is the market's, and so is a weekend
    daily = [b for b in bars if not (b.time.hour == 21 and b.time.weekday() < 5)]
    assert outages(daily, M5) == []
    # a few missing bars are a quiet market's, not an outage
    sparse = [b for i, b in enumerate(bars) if i % 97 not in (0, 1)]
    assert outages(sparse, M5) == []
    assert outage_note({"XAUUSD": gapped}, timedelta(days=1)) is None  # daily bars: none


def test_hostapp_replay_says_it(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    outage = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)
    write_bars_csv(tmp_path / "XAUUSD.csv", without(gold(), outage, 3))
    done = hostapp(tmp_path, "replay", "XAUUSD.csv", "--report", "rep")
    assert done.returncode == 0, done.stderr[-2000:]
    notes = json.loads((tmp_path / "rep" / "summary.json").read_text())["host_notes"]
    (said,) = [n for n in notes if "feed outage" in n]
    assert "XAUUSD 1 (the longest 3.0 h from 2024-06-12 12:00 UTC" in said
