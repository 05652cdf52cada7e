"""The spread assumed for a symbol whose file has none keeps within two basis points of
the price (README "hostapp replay"), through a real replay: whole-number prices near 100
(SOLUSD) were guessed to have no decimals, and the one-point floor made the spread 1 % of
the price (a buy of 1 lot filled at 101.0 against a bid of 100, and a target at 101 closed
at once for nothing); near 2,500 (ETHUSD), 4 basis points. The guessed digits now make a
point at most two basis points of the lowest price; digits a table gives are kept, and
the costs note says where one of their points is above the cap."""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.replay_cli import ROOT, replay

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def write_whole_number_bars(path: Path, base: float, n: int = 600) -> None:
    """H1 bars of whole-number prices swinging 8 % around ``base`` (a file rounded to
    whole units, as daily crypto downloads often are), without a spread column."""
    lines = ["time,open,high,low,close,volume"]
    close = base
    for i in range(n):
        open_ = close
        close = round(base * (1 + 0.08 * math.sin(i / 9) + 0.01 * math.sin(i * 1.7)))
        high = max(open_, close) + round(base * 0.004) + 1
        low = min(open_, close) - round(base * 0.004) - 1
        when = T0 + timedelta(hours=i)
        lines.append(f"{when:%Y-%m-%dT%H:%M:%SZ},{open_:g},{high:g},{low:g},{close:g},10")
    path.write_text("\n".join(lines) + "\n")


def run(folder: Path, symbol: str, base: float, table: str = "") -> dict[str, Any]:
    folder.mkdir()
    shutil.copy(ROOT / "plugins.toml", folder / "plugins.toml")
    if table:
        with (folder / "plugins.toml").open("a") as f:
            f.write(table)
    write_whole_number_bars(folder / f"{symbol}.csv", base)
    proc = replay(folder, f"{symbol}.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary: dict[str, Any] = json.loads((folder / "rep" / "summary.json").read_text())
    return summary


def closes(folder: Path, symbol: str) -> dict[datetime, float]:
    """Each bar's close by its close time: the bid a position opened then was filled by."""
    with (folder / f"{symbol}.csv").open() as f:
        return {
            datetime.fromisoformat(r["time"]) + timedelta(hours=1): float(r["close"])
            for r in csv.DictReader(f)
        }


def costs(summary: dict[str, Any]) -> str:
    (note,) = [n for n in summary["host_notes"] if n.startswith("costs:")]
    return str(note)


@pytest.mark.parametrize(
    ("symbol", "base", "digits", "low", "high"),
    [("SOLUSD", 100.0, 2, "0.01", "0.02"), ("ETHUSD", 2500.0, 1, "0.4", "0.5")],
)
def test_whole_number_prices_are_charged_two_basis_points_at_most(
    tmp_path: Path, symbol: str, base: float, digits: int, low: str, high: str
) -> None:
    summary = run(tmp_path / "run", symbol, base)
    assert any(f"({symbol}: {digits} digits, a lot of" in n for n in summary["host_notes"])
    shown = f"{symbol}'s assumed, from {low} to {high} (a share of the price, at most 2.0 basis"
    assert shown in costs(summary), costs(summary)
    assert "basis points of the price, above the two" not in costs(summary)
    bid = closes(tmp_path / "run", symbol)
    with (tmp_path / "run" / "rep" / "trades.csv").open() as f:
        buys = [r for r in csv.DictReader(f) if r["direction"] == "buy"]
    assert len(buys) >= 5, "the strategy bought too little: few fills to check"
    for row in buys:  # a buy fills at the ask: the bar's close plus the spread
        paid = float(row["entry_price"]) - bid[datetime.fromisoformat(row["opened_at"])]
        assert 0 < paid <= 0.0002 * float(row["entry_price"]) + 1e-9, row


def test_a_tables_coarse_digits_cost_one_point_and_the_note_says_so(tmp_path: Path) -> None:
    table = "\n[host.paper.symbols.SOLUSD]\ndigits = 0\n"
    summary = run(tmp_path / "run", "SOLUSD", 100.0, table)
    note = costs(summary)
    assert "SOLUSD's assumed, 1, on the 600 bars without one" in note, note
    assert (
        "SOLUSD's assumed spread is one point of its 0 digits, up to 109.9 basis points of "
        "the price, above the two an assumed spread is kept to: its digits quote no finer "
        "(a [host.paper.symbols.SOLUSD] table's spread, or more digits, sets it)"
    ) in note, note
