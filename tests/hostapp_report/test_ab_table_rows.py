"""The A/B table shows the trades still open when the bars ended and what they float at:
they were in summary.json only, and a trader read them as the gap between two rows."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from hostapp.compare import comparison_table


def run(open_at_end: int, floating: float) -> dict[str, Any]:
    return {"trades": 102, "closed_trades": 102 - open_at_end, "open_at_end": open_at_end,
            "pnl": -314.0, "floating_pnl": floating, "symbols": ["EURUSD"],
            "timeframe": "H1", "base_timeframe": "H1"}  # fmt: skip


def test_the_ab_table_shows_open_trades_and_their_floating_pnl() -> None:
    report = {
        "plugin": "dtms",
        "against": None,
        "same_entries": {"without": run(0, 0.0), "with": run(1, 32.76), "paired": {}},
    }
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    lines = console.export_text().splitlines()
    rows = {
        cells[1]: cells[2:4]
        for line in lines
        if len(cells := [c.strip() for c in line.split("│")]) > 3
    }
    assert rows["still open at the end"] == ["0", "1"]
    assert rows["P&L (open positions)"] == ["0.00", "32.76"]


def test_the_title_of_an_ab_against_another_manager_reads_as_a_sentence() -> None:
    """``--against atr_trailing`` titled the table "…of BTCUSD, atr_trailing and with
    dtms"."""
    report = {
        "plugin": "dtms",
        "against": "atr_trailing",
        "same_entries": {"without": run(0, 0.0), "with": run(0, 0.0), "paired": {}},
    }
    console = Console(record=True, width=300)
    console.print(comparison_table(report))
    above = console.export_text().split("┏")[0]  # the title, wrapped to the table's width
    title = " ".join(above.split())
    assert title == "A/B of dtms: the same H1 bars of EURUSD, with atr_trailing and with dtms"
