"""``deals.csv``: every closing deal of a simulated run, so its drawdown and P&L can be
recomputed from the report folder alone (``trades.csv`` puts a trade's whole result at
its last close; the drawdown counts each close when it happened). Before, a quant had to
rebuild a partial close's time and result from the log."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, python


def _deals(folder: Path) -> list[dict[str, str]]:
    with (folder / "deals.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _drawdown(start: float, deals: list[dict[str, str]]) -> float:
    by_time: dict[str, float] = defaultdict(float)
    for d in deals:
        by_time[d["closed_at"]] += float(d["profit"])
    equity = peak = start
    worst = 0.0
    for _, profit in sorted(by_time.items()):
        equity += profit
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return round(worst, 2)


def test_a_replays_deals_give_its_pnl_and_drawdown(tmp_path: Path) -> None:
    here = bars_folder(tmp_path)
    proc = python(here, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((here / "rep" / "summary.json").read_text())
    assert summary["deals_csv"] == "deals.csv"
    deals = _deals(here / "rep")
    assert len(deals) >= summary["closed_trades"] > 0
    assert sum(float(d["profit"]) for d in deals) == pytest.approx(summary["pnl"], abs=0.01)
    assert _drawdown(summary["start_balance"], deals) == summary["max_drawdown"]
    assert "deals.csv" in next(line for line in proc.stdout.splitlines() if "report:" in line)


def test_an_ab_writes_each_runs_deals(tmp_path: Path) -> None:
    here = bars_folder(tmp_path)
    argv = ("-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "--report", "ab")
    proc = python(here, *argv)
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    summary = json.loads((here / "ab" / "summary.json").read_text())
    deals = _deals(here / "ab")
    for comparison, run, figures in (
        ("same_entries", "without", summary["same_entries"]["without"]),
        ("same_entries", "with", summary["same_entries"]["with"]),
        ("full", "with", summary["full"]["with"]),
    ):
        mine = [d for d in deals if (d["comparison"], d["run"]) == (comparison, run)]
        assert sum(float(d["profit"]) for d in mine) == pytest.approx(figures["pnl"], abs=0.01)
        assert _drawdown(figures["start_balance"], mine) == figures["max_drawdown"]
