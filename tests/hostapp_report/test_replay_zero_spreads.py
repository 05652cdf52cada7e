"""A spread of 0 in a file's spread column is a spread of 0 (bid = ask), as a raw account's
MetaTrader export writes it on most bars, through a real replay: ``Bar.spread`` is 0 both
for a file without spreads and for a 0 in its column, and the paper broker charged such
bars the assumed spread (0.00008 on EURUSD) where the account paid nothing. A column of 0
on every bar (an exporter's 0 for a spread it does not know) still reads as none, which
the run's notes say, naming the setting that trades it at bid = ask (README "hostapp
replay")."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.replay_cli import ROOT, replay

from hookspecs import Bar
from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)
N = 1500
CHARGED = "costs: the paper broker charges the spread only, no commission, swap or slippage"


def eurusd(spread_every: int) -> list[Bar]:
    """Synthetic EURUSD M5 bars with their own spread on every ``spread_every``-th bar and
    0 on the others (0: on none of them)."""
    bars = generate_bars("EURUSD", START, N, seed=3)
    return [
        Bar(b.time, b.open, b.high, b.low, b.close, b.volume, b.spread)
        if spread_every and i % spread_every == 0
        else Bar(b.time, b.open, b.high, b.low, b.close, b.volume, 0.0)
        for i, b in enumerate(bars)
    ]


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


def run(folder: Path, bars: list[Bar], *, mt5: bool = False, table: str = "") -> dict[str, Any]:
    folder.mkdir()
    shutil.copy(ROOT / "plugins.toml", folder / "plugins.toml")
    if table:
        with (folder / "plugins.toml").open("a") as f:
            f.write(table)
    (write_mt5_export if mt5 else write_generic)(folder / "EURUSD.csv", bars)
    proc = replay(folder, "EURUSD.csv", "--report", "rep", "--data-tz", "UTC")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary: dict[str, Any] = json.loads((folder / "rep" / "summary.json").read_text())
    return summary


def costs(summary: dict[str, Any]) -> str:
    (note,) = [n for n in summary["host_notes"] if n.startswith("costs:")]
    return str(note)


def check_buys_paid(folder: Path, bars: list[Bar], spread: float | None = None) -> int:
    """Every buy filled at the ask of the bar it opened on: its close plus ``spread``, else
    plus the bar's own spread; the number of buys at a bar of spread 0."""
    by_close = {b.time + timedelta(minutes=5): b for b in bars}
    with (folder / "rep" / "trades.csv").open() as f:
        buys = [r for r in csv.DictReader(f) if r["direction"] == "buy"]
    at_zero = 0
    for row in buys:
        bar = by_close[datetime.fromisoformat(row["opened_at"])]
        paid = bar.spread if spread is None else spread
        assert float(row["entry_price"]) == pytest.approx(round(bar.close + paid, 5)), row
        at_zero += bar.spread == 0
    return at_zero


@pytest.mark.parametrize("mt5", [False, True], ids=["generic", "mt5_export"])
def test_a_0_in_a_column_with_spreads_is_a_spread_of_0(tmp_path: Path, mt5: bool) -> None:
    bars = eurusd(spread_every=3)
    summary = run(tmp_path / "run", bars, mt5=mt5)
    assert costs(summary) == f"{CHARGED} (the bars' own spreads)"
    assert check_buys_paid(tmp_path / "run", bars) >= 3  # bought at bid = ask, and more
    assert not [n for n in summary["host_notes"] if "column is 0 on all" in n]


@pytest.mark.parametrize("mt5", [False, True], ids=["generic", "mt5_export"])
def test_a_column_of_0_on_every_bar_reads_as_none_and_says_so(tmp_path: Path, mt5: bool) -> None:
    bars = eurusd(spread_every=0)
    summary = run(tmp_path / "run", bars, mt5=mt5)
    column = "<SPREAD>" if mt5 else "spread"
    said = (
        f"EURUSD.csv: its {column} column is 0 on all {N:,} bars, read as no spread: the "
        "paper broker charges the one it assumes (the costs note says which); a file whose "
        "column has spreads on other bars keeps its 0s as 0, and [host.paper.symbols.EURUSD] "
        "spread = 0 in plugins.toml trades this one at bid = ask, as a raw account's 0 is"
    )
    assert [n for n in summary["host_notes"] if "column is 0 on all" in n] == [said]
    assert f"EURUSD's assumed, 0.00008, on the {N:,} bars without one" in costs(summary)
    check_buys_paid(tmp_path / "run", bars, spread=0.00008)


def test_a_table_spread_of_0_trades_a_column_of_0_at_bid_equals_ask(tmp_path: Path) -> None:
    bars = eurusd(spread_every=0)
    table = "\n[host.paper.symbols.EURUSD]\nspread = 0\n"
    summary = run(tmp_path / "run", bars, table=table)
    assert f"EURUSD's from plugins.toml, 0.00000, on the {N:,} bars without one" in costs(summary)
    assert check_buys_paid(tmp_path / "run", bars) >= 3
