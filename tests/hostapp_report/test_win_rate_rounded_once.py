"""The win rate is rounded once, where it is shown: 301 wins of 763 closed trades is
39.449… %, shown 39.4 %. ``metrics`` rounded it to 0.3945 first, which the tables then
showed 39.5 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from hostapp.compare import comparison_table
from hostapp.outcomes import Outcome, metrics
from hostapp.report import summary_table

START = datetime(2024, 1, 2, tzinfo=UTC)


def closed(n: int, r: float) -> Outcome:
    opened = START + timedelta(hours=n)
    return Outcome(
        ticket=n, symbol="EURUSD", direction="buy", volume=0.1, opened_at=opened,
        entry_price=1.1, initial_stop=1.09, take_profit=None, source="s",
        closed_at=opened + timedelta(minutes=30), exit_price=1.1 + r / 100,
        close_reason="stop_loss", profit=r * 10, r=r,
    )  # fmt: skip


def figures() -> dict[str, Any]:
    trades = [closed(i, 1.0 if i < 301 else -1.0) for i in range(763)]
    return {"trades": 763, "open_at_end": 0, **metrics(trades)}


def test_the_rate_is_kept_unrounded() -> None:
    assert figures()["win_rate"] == 301 / 763


def test_the_run_table_shows_it_rounded_once() -> None:
    console = Console(record=True, width=200)
    console.print(summary_table(figures()))
    line = next(x for x in console.export_text().splitlines() if "win rate" in x)
    assert "39.4%" in line and "39.5%" not in line


def test_the_ab_table_shows_it_rounded_once() -> None:
    run = {**figures(), "host_notes": []}
    report = {
        "plugin": "dtms", "against": None, "in_every_run": [],
        "same_entries": {"without": run, "with": run, "paired": {}},
    }  # fmt: skip
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    line = next(x for x in console.export_text().splitlines() if "win rate" in x)
    assert line.count("39.4%") == 2 and "39.5%" not in line
