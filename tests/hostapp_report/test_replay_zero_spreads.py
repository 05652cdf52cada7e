"""A file whose spread column holds 0 on some or all bars: ``Bar.spread`` is 0 both for
a file without spreads and for a 0 in its column, and the paper broker cannot tell them
apart (a file without the column joined to one with it reads so too), so it charges the
assumed spread there, the cautious reading; only the loader sees the column, and says
so, naming the setting that trades such bars at bid = ask (a raw account's MetaTrader
export writes a real 0 on most bars). Real replays of hand-made files; the same file
in MetaTrader's history export layout."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import ROOT, replay

from hookspecs import Bar
from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)
N = 600


def eurusd(spread_every: int) -> list[Bar]:
    """Synthetic EURUSD M5 bars with their own spread on every ``spread_every``-th bar and
    0 on the others (0: on none of them)."""
    bars = generate_bars("EURUSD", START, N, seed=3)
    return [
        Bar(b.time, b.open, b.high, b.low, b.close, b.volume,
            b.spread if spread_every and i % spread_every == 0 else 0.0)
        for i, b in enumerate(bars)
    ]  # fmt: skip


def write_generic(path: Path, bars: list[Bar]) -> None:
    lines = ["time,open,high,low,close,volume,spread"]
    lines += [
        f"{b.time:%Y-%m-%dT%H:%M:%SZ},{b.open:.5f},{b.high:.5f},{b.low:.5f},{b.close:.5f},"
        f"{b.volume:g},{b.spread:.5f}"
        for b in bars
    ]
    path.write_text("\n".join(lines) + "\n")


def write_mt5_export(path: Path, bars: list[Bar]) -> None:
    """MetaTrader's history export: tab-separated, the spread in points."""
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"]
    lines += [
        f"{b.time:%Y.%m.%d}\t{b.time:%H:%M:%S}\t{b.open:.5f}\t{b.high:.5f}\t{b.low:.5f}\t"
        f"{b.close:.5f}\t{b.volume:.0f}\t0\t{round(b.spread / 0.00001)}"
        for b in bars
    ]
    path.write_text("\n".join(lines) + "\n")


def _notes(tmp_path: Path, bars: list[Bar], layout: str) -> list[str]:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    (write_generic if layout == "generic" else write_mt5_export)(tmp_path / "EURUSD.csv", bars)
    done = replay(tmp_path, "EURUSD.csv", "--report", "r")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    return [n for n in summary["host_notes"] if "column is 0 on" in n]


@pytest.mark.parametrize("layout", ["generic", "mt5 export"])
@pytest.mark.parametrize(("every", "share"), [(3, "400 of 600"), (0, "all 600")])
def test_zeros_in_a_spread_column_are_said(
    tmp_path: Path, layout: str, every: int, share: str
) -> None:
    (note,) = _notes(tmp_path, eurusd(every), layout)
    assert f"column is 0 on {share} bars, read as no spread" in note, note
    assert "[host.paper.symbols.EURUSD] spread = 0 in plugins.toml" in note


def test_a_column_without_zeros_says_nothing(tmp_path: Path) -> None:
    assert _notes(tmp_path, eurusd(1), "generic") == []
