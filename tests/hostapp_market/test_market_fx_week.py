"""A forex pair's file whose weeks open, as its times were read, outside forex's hours
(Sunday 19:00 to Monday 01:00 UTC) is named in a note with the hours it looks off by
(hostapp/market/fx_week.py): an Athens server's export given ``--data-tz Asia/Tokyo``
put every bar seven hours early and nothing said so. Read on its own clock, or written
in UTC, nothing is said; nor for a symbol that is no pair, nor for daily bars."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hostapp_cli_errors.test_run_replay_errors import hostapp

from hookspecs import Bar
from hostapp.brokers.paper_rules import currency_pair
from hostapp.market.fx_week import fx_week_note
from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 5, 6, tzinfo=UTC)  # a Monday; four weekends follow


def fx_bars(symbol: str = "EURUSD", count: int = 6_000) -> list[Bar]:
    """M5 bars with forex's week: Sunday 22:00 to Friday 22:00 UTC."""
    return generate_bars(symbol, START, count, seed=3)


def shifted(bars: list[Bar], hours: int) -> list[Bar]:
    return [
        Bar(b.time + timedelta(hours=hours), b.open, b.high, b.low, b.close, b.volume) for b in bars
    ]


def test_weeks_that_open_hours_away_from_forex_hours_are_said() -> None:
    bars = fx_bars()
    assert fx_week_note({"EURUSD": bars}, currency_pair) is None  # Sunday 22:00 UTC
    assert (
        fx_week_note({"EURUSD": shifted(bars, 2)}, currency_pair) is None
    )  # Monday 00:00 UTC: a feed's
    early = fx_week_note({"EURUSD": shifted(bars, -7), "XAUUSD": fx_bars("XAUUSD")}, currency_pair)
    assert early is not None
    assert early.startswith(
        "EURUSD's weeks open on Sunday 15:00 UTC as its times were read (4 of 4 weekends), "
        "about 7 hours behind forex's Sunday 21:00-22:00 UTC: if the file's times"
    )
    assert "XAUUSD" not in early
    late = fx_week_note({"GBPUSD.m": shifted(fx_bars("GBPUSD"), 9)}, currency_pair)
    assert late is not None and "GBPUSD.m's weeks open on Monday 07:00 UTC" in late
    assert "about 9 hours ahead of" in late
    assert fx_week_note({"US500": shifted(bars, -7)}, currency_pair) is None  # no pair: other hours
    daily = [b for b in shifted(bars, -7) if b.time.hour == 0 and b.time.minute == 0]
    assert fx_week_note({"EURUSD": daily}, currency_pair) is None


def test_hostapp_replay_says_it_of_a_file_read_on_the_wrong_clock(tmp_path: Path) -> None:
    """Written on an Athens server's clock (as MetaTrader writes it), read as Tokyo's."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    athens = ZoneInfo("Europe/Athens")
    lines = ["time,open,high,low,close,volume"]
    for b in fx_bars(count=4_000):
        local = b.time.astimezone(athens).replace(tzinfo=None)
        lines.append(f"{local:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close},{b.volume}")
    (tmp_path / "EURUSD.csv").write_text("\n".join(lines) + "\n")

    def notes(zone: str) -> list[str]:
        done = hostapp(tmp_path, "replay", "EURUSD.csv", "--data-tz", zone, "--report", zone[:6])
        assert done.returncode == 0, done.stderr[-2000:]
        summary = json.loads((tmp_path / zone[:6] / "summary.json").read_text())
        return [n for n in summary["host_notes"] if "weeks open" in n]

    (said,) = notes("Asia/Tokyo")
    # written at UTC+3 (May), read as UTC+9: Sunday 22:00 UTC became 16:00
    assert "EURUSD's weeks open on Sunday 16:00 UTC" in said and "--data-tz" in said
    assert notes("Europe/Athens") == []
