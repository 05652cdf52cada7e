"""Figures of no trade are shown blank ("–"), not as results: a run without a closed
trade printed "win rate 0.0%" and "average loss +0.00R", and one without a losing trade
an average loss of +0.00R. summary.json keeps its 0.0 for them, as before. Through the
real ``hostapp replay`` too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hostapp_cli_errors.test_run_replay_errors import hostapp
from rich.console import Console

from hostapp.compare import comparison_table
from hostapp.report import summary_table


def figures(closed: int, **more: Any) -> dict[str, Any]:
    base = {"trades": closed, "closed_trades": closed, "open_at_end": 0, "trades_without_r": 0,
            "win_rate": 0.0, "avg_r": 0.0, "avg_win_r": 0.0, "avg_loss_r": 0.0,
            "expectancy": 0.0, "avg_hours_held": 0.0, "pnl": 0.0, "floating_pnl": 0.0}  # fmt: skip
    return {**base, **more}


def rows_of(table: str) -> dict[str, str]:
    return {line[:34].strip(): line[34:].strip() for line in table.splitlines()}


def test_a_run_without_trades_shows_no_win_rate_or_average() -> None:
    rows = rows_of(summary_table(figures(0)))
    assert rows["win rate"] == rows["average R"] == rows["average loss (R)"] == "–"
    assert rows["trades closed"] == "0" and rows["P&L (realised)"] == "0.00"


def test_a_run_without_a_loss_shows_no_average_loss() -> None:
    rows = rows_of(summary_table(figures(3, win_rate=1.0, avg_r=1.5, avg_win_r=1.5)))
    assert (rows["win rate"], rows["average R"]) == ("100.0%", "+1.50R")
    assert rows["average loss (R)"] == "–"


def test_the_ab_table_blanks_them_per_run() -> None:
    traded = figures(2, win_rate=0.5, avg_r=0.25, avg_win_r=1.5, avg_loss_r=-1.0, expectancy=9.5)
    report = {
        "plugin": "dtms",
        "against": None,
        "same_entries": {"without": figures(0), "with": traded, "paired": {}},
    }
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    rows = {
        cells[1]: cells[2:4]
        for line in console.export_text().splitlines()
        if len(cells := [c.strip() for c in line.split("│")]) > 3
    }
    assert rows["win rate"] == ["–", "50.0%"]
    assert rows["average loss"] == ["–", "-1.00R"]
    assert rows["expectancy / closed trade"] == ["–", "9.50"]


def test_hostapp_replay_of_too_few_bars_for_a_trade(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close,Volume\n2024-01-02,100,101,99,100.5,1000\n"
    (tmp_path / "ONE.csv").write_text(text + "2024-01-03,100.5,101,99,100.5,1000\n")
    proc = hostapp(tmp_path, "replay", "ONE.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = rows_of(proc.stdout)
    assert rows["trades closed"] == "0"
    assert rows["win rate"] == rows["average R"] == rows["average loss (R)"] == "–"
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert (summary["win_rate"], summary["avg_loss_r"]) == (0.0, 0.0)  # its shape kept


def test_a_run_table_shows_the_average_win_profit_factor_and_expectancy() -> None:
    """The run's own table (``hostapp replay FILE``, ``make run``'s first table) printed
    the average loss but not the average win, the profit factor or the expectancy the
    summary holds: a run's edge could not be read from it."""
    traded = figures(
        4, win_rate=0.5, avg_r=0.25, avg_win_r=1.5, avg_loss_r=-1.0, profit_factor=1.4,
        expectancy=12.5, currency="USD",
    )  # fmt: skip
    rows = rows_of(summary_table(traded))
    assert rows["average win (R)"] == "+1.50R"
    assert rows["profit factor"] == "1.40"
    assert rows["expectancy / closed trade"] == "12.50 USD"
    unbeaten = rows_of(summary_table(figures(2, win_rate=1.0, avg_win_r=1.0, profit_factor=None)))
    assert unbeaten["profit factor"] == "– (no loss)"
    assert unbeaten["average loss (R)"] == "–"
    none = rows_of(summary_table(figures(0, profit_factor=None)))
    assert (
        none["profit factor"] == none["expectancy / closed trade"] == none["average win (R)"] == "–"
    )
