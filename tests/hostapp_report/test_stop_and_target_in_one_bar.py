"""A bar that touches both a position's stop and its target closes it at the stop (the
paper broker's pessimistic reading, README "hostapp replay"), and the run's notes count
those trades, through a real replay: it was said only in hostapp/brokers/paper.py's
docstring, and a swing trader's D1 bars, whose ranges often span both, read as a worse
strategy than they were without a word of why."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_loop.replay_cli import ROOT, replay

from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPREAD = 0.00008  # EURUSD's assumed spread: a sell's levels are met at the ask


def write_bars(path: Path, n: int = 1500) -> dict[datetime, tuple[float, float, float]]:
    """H1 EURUSD bars without a spread, every ninth one's range ten times the others'
    (a news bar that spans both a stop and a target); each bar's (open, high, low) by its
    close time."""
    lines = ["time,open,high,low,close,volume"]
    close, seen = 1.1, {}
    for i in range(n):
        when = T0 + timedelta(hours=i)
        open_ = close
        close = 1.1 * (1 + 0.01 * math.sin(i / 20) + 0.0005 * math.sin(i * 1.9))
        width = 0.004 if i % 9 == 8 else 0.0004
        high, low = max(open_, close) + width, min(open_, close) - width
        lines.append(f"{when:%Y-%m-%d %H:%M},{open_:.5f},{high:.5f},{low:.5f},{close:.5f},10")
        seen[when + timedelta(hours=1)] = (round(open_, 5), round(high, 5), round(low, 5))
    path.write_text("\n".join(lines) + "\n")
    return seen


def both_touched(row: dict[str, str], bar: tuple[float, float, float]) -> bool:
    """Whether the trade of ``row`` closed at its stop in a bar that opened between its
    stop and its target and reached both."""
    if row["close_reason"] != "stop_loss" or not row["take_profit"]:
        return False
    stop, target = float(row["exit_price"]), float(row["take_profit"])
    add = SPREAD if row["direction"] == "sell" else 0.0
    o, h, low = (p + add for p in bar)
    if row["direction"] == "buy":
        return stop < o < target and low <= stop and h >= target
    return target < o < stop and h >= stop and low <= target


def test_the_replay_counts_the_trades_stopped_in_a_bar_that_touched_their_target(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    bars = write_bars(tmp_path / "EURUSD.csv")
    proc = replay(tmp_path, "EURUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with (tmp_path / "rep" / "trades.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["run"] == "run" and r["closed_at"]]
    expected = sum(
        both_touched(r, bars[datetime.fromisoformat(r["closed_at"])])
        for r in rows
        if datetime.fromisoformat(r["closed_at"]) in bars
    )
    assert expected >= 2, "too few trades stopped in a wide bar to check the count"
    notes = json.loads((tmp_path / "rep" / "summary.json").read_text())["host_notes"]
    said = [n for n in notes if "also touched their target" in n]
    assert said == [
        f"{expected:,} trades closed at their stop in a bar that also touched their target "
        "(the stop is taken first: the bar cannot say which came first; finer bars can)"
    ], notes


def test_one_trade_stopped_in_such_a_bar_is_said_once_and_a_gap_is_not() -> None:
    broker = PaperBroker()
    broker.on_bar("EURUSD", Bar(T0, 1.1, 1.1005, 1.0995, 1.1, 0.0))
    opened = broker.open(OrderRequest("EURUSD", "buy", 0.1, stop_loss=1.098, take_profit=1.103))
    assert opened.ok, opened.message
    broker.on_bar("EURUSD", Bar(T0 + timedelta(hours=1), 1.1, 1.104, 1.097, 1.1, 0.0))
    (note,) = broker.run_notes
    assert re.match(r"1 trade closed at its stop in a bar that also touched its target", note)
    # a gap through the stop: the open came first, nothing to say
    broker = PaperBroker()
    broker.on_bar("EURUSD", Bar(T0, 1.1, 1.1005, 1.0995, 1.1, 0.0))
    opened = broker.open(OrderRequest("EURUSD", "buy", 0.1, stop_loss=1.098, take_profit=1.103))
    assert opened.ok, opened.message
    broker.on_bar("EURUSD", Bar(T0 + timedelta(hours=1), 1.097, 1.104, 1.096, 1.1, 0.0))
    assert broker.run_notes == []
