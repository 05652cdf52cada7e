"""``--bar-clock`` where it cannot build the clock's own bars says so, through real
replays: on a file of D1 bars it changed nothing (trades.csv byte for byte the run's
without it) and said nothing; on H4 bars stamped in UTC (00:00 … 20:00) with New York's
close (a day that ends at 21:00 UTC in summer), the D1 bars built were UTC days labelled
21:00, without a word."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_loop.replay_cli import ROOT, replay

NY = "America/New_York+7"


def write_bars(path: Path, start: datetime, step: timedelta, n: int) -> None:
    """Bars of EURUSD every ``step`` from ``start``, Monday to Friday, without a spread."""
    lines = ["time,open,high,low,close,volume"]
    close, when, i = 1.10, start, 0
    while i < n:
        if when.weekday() < 5:
            open_ = close
            close = 1.10 * (1 + 0.02 * math.sin(i / 12) + 0.002 * math.sin(i * 1.3))
            high, low = max(open_, close) + 0.001, min(open_, close) - 0.001
            row = f"{when:%Y-%m-%d %H:%M},{open_:.5f},{high:.5f},{low:.5f},{close:.5f},10"
            lines.append(row)
            i += 1
        when += step
    path.write_text("\n".join(lines) + "\n")


def notes_of(folder: Path, *args: str) -> list[str]:
    proc = replay(folder, "EURUSD.csv", "--json", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return list(json.loads(proc.stdout)["host_notes"])


def test_the_bar_clock_on_d1_bars_is_said_to_change_nothing(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    write_bars(tmp_path / "EURUSD.csv", datetime(2024, 1, 1, tzinfo=UTC), timedelta(days=1), 300)
    plain = notes_of(tmp_path, "--report", "plain")
    told = notes_of(tmp_path, "--bar-clock", NY, "--report", "ny")
    assert (tmp_path / "plain" / "trades.csv").read_bytes() == (
        tmp_path / "ny" / "trades.csv"
    ).read_bytes()  # the bars are traded as the file has them
    assert not any("cannot move their boundaries" in n for n in plain)
    (said,) = [n for n in told if "cannot move their boundaries" in n]
    assert said.startswith(
        f'EURUSD: the data\'s bars are D1 already, so the bar clock "{NY}" '
        "(set by --bar-clock (or [host] bar_clock)) cannot move their boundaries: they open at "
        "00:00 UTC, its days at 21:00 UTC"
    ), said
    assert "re-export them on the server's clock, or give finer bars" in said
    # the clock the file was stamped on is its own: nothing to say
    utc = notes_of(tmp_path, "--bar-clock", "UTC", "--report", "utc")
    assert not any("cannot move their boundaries" in n for n in utc)


def test_a_day_boundary_inside_the_h4_bars_is_said_with_what_was_built(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    start = datetime(2024, 6, 3, tzinfo=UTC)  # summer: New York's close is 21:00 UTC
    write_bars(tmp_path / "EURUSD.csv", start, timedelta(hours=4), 6 * 5 * 12)
    told = notes_of(tmp_path, "--timeframe", "D1", "--bar-clock", NY, "--report", "ny")
    (said,) = [n for n in told if "boundary inside" in n]
    assert (
        f'The bar clock "{NY}" (set by --bar-clock (or [host] bar_clock)) puts a D1 boundary '
        in (said)
    )
    assert (
        "a bar belongs whole to the D1 bar it opens in, so the D1 bars built run from the "
        "first H4 bar in them (00:00 UTC), not from the clock's 21:00 UTC, which labels them"
    ) in said, said
    plain = notes_of(tmp_path, "--timeframe", "D1", "--report", "plain")
    assert not any("boundary inside" in n for n in plain)  # UTC days of UTC bars: whole
