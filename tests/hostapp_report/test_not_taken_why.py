"""The full run's "baseline trades not taken" tells a plugin's vetoes from the broker's
refusals: a long EURUSD replay showed 2,003 trades not taken, +86.20R, of which 1,002
were orders the broker refused once the account had no money left, read as what DTMS's
say over entries did (README.md, "The A/B replay")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from hookspecs import OrderRequest, Veto, hookimpl
from hostapp.app import build_sim_app
from hostapp.compare import comparison_table
from hostapp.compare_entries import entry_effect
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.outcomes import Outcome
from hostapp.testing import bars_from_closes

T = datetime(2024, 3, 4, tzinfo=UTC)


def trade(hour: int, r: float, ticket: int) -> Outcome:
    """A closed EURUSD buy of one baseline or full run, opened at ``T + hour``."""
    opened = T + timedelta(hours=hour)
    return Outcome(
        ticket=ticket, symbol="EURUSD", direction="buy", volume=0.1, opened_at=opened,
        entry_price=1.1, initial_stop=1.09, take_profit=1.12, source="sma_strategy",
        closed_at=opened + timedelta(hours=2), exit_price=1.1 + 0.01 * r,
        close_reason="stop_loss" if r < 0 else "take_profit", profit=100.0 * r, r=r,
    )  # fmt: skip


def test_trades_not_taken_are_split_by_why_with_their_r() -> None:
    baseline = [trade(0, 2.0, 1), trade(1, 2.0, 2), trade(2, -1.0, 3), trade(3, 2.0, 4),
                trade(4, -1.0, 5), trade(5, 3.0, 6)]  # fmt: skip
    full = [trade(0, 1.5, 11), trade(7, -0.5, 12), trade(8, 1.25, 13)]  # two of its own
    missed = [
        (T + timedelta(hours=1), "EURUSD", "buy", ("vetoed", "dtms")),
        (T + timedelta(hours=2), "EURUSD", "buy", ("vetoed", "dtms")),
        (T + timedelta(hours=3), "EURUSD", "buy", ("refused", "no_money")),
        (T + timedelta(hours=4), "EURUSD", "buy", ("refused", "no_money")),
        (T + timedelta(hours=9), "EURUSD", "buy", ("refused", "no_money")),  # no baseline's
    ]
    effect = entry_effect(baseline, full, missed, vetoed=2)
    assert effect["not_taken"] == 5 and effect["not_taken_r"] == 5.0
    assert effect["new_trades"] == 2 and effect["new_trades_r"] == 0.75
    assert effect["not_taken_why"] == [
        {"why": "vetoed", "by": "dtms", "trades": 2, "r": 1.0},
        {"why": "refused", "by": "no_money", "trades": 2, "r": 1.0},
        # hour 5: the full run's strategy never proposed it (a trade still open there)
        {"why": "not_proposed", "by": "", "trades": 1, "r": 3.0},
    ]


def table_rows(entries: dict[str, Any]) -> list[tuple[str, str]]:
    """The full run's column of the rows that have only it: (label as indented, cell)."""
    run = {"trades": 10, "symbols": ["EURUSD"], "timeframe": "H1", "base_timeframe": "H1"}
    report = {
        "plugin": "dtms",
        "against": None,
        "same_entries": {"without": run, "with": run, "paired": {}},
        "full": {"with": run, "without": run, "entries": entries},
    }
    console = Console(record=True, width=200)
    console.print(comparison_table(report))
    rows = []
    for line in console.export_text().splitlines():
        cells = line.split("│")
        if len(cells) > 4 and cells[4].strip() and not cells[2].strip():
            rows.append((cells[1].rstrip()[1:], cells[4].strip()))
    return rows


def test_the_table_shows_the_vetoed_and_the_refused_apart() -> None:
    entries = {
        "not_taken": 2003, "not_taken_r": 86.2, "new_trades": 0, "vetoed": 1001,
        "not_taken_why": [
            {"why": "refused", "by": "no_money", "trades": 1002, "r": 50.0},
            {"why": "vetoed", "by": "dtms", "trades": 1001, "r": 36.2},
        ],
    }  # fmt: skip
    assert table_rows(entries) == [
        ("baseline trades not taken", "2,003"),
        ("  their R in the baseline", "+86.20R"),
        ("  refused by the broker: no_money", "1,002"),
        ("    their R in the baseline", "+50.00R"),
        ("  vetoed by dtms", "1,001"),
        ("    their R in the baseline", "+36.20R"),
        ("trades the baseline had not", "0"),
    ]
    entries.update(new_trades=3, new_trades_r=-1.5)
    assert table_rows(entries)[-2:] == [
        ("trades the baseline had not", "3"),
        ("  their R in this run", "-1.50R"),
    ]


class Guard:
    """Proposes a buy of XAUUSD and one of a symbol the broker does not know, every bar;
    vetoes XAUUSD's on the bars in ``no``."""

    def __init__(self, no: set[int]) -> None:
        self.no, self.cycle = no, -1

    @hookimpl
    def propose_orders(self, symbol: str, now: datetime) -> list[OrderRequest]:
        self.cycle += 1
        return [
            OrderRequest("XAUUSD", "buy", 0.01, stop_loss=1900.0, take_profit=2100.0),
            OrderRequest("NOPE", "buy", 0.01),
        ]

    @hookimpl
    def allow_order(self, order: OrderRequest) -> Veto | None:
        if order.symbol == "XAUUSD" and self.cycle in self.no:
            return Veto("not now", "not now")
        return None


async def test_the_loop_records_each_entry_it_did_not_open_and_why() -> None:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}})
    app = build_sim_app(
        config, {"XAUUSD": bars_from_closes([2000.0] * 8)}, base_timeframe="M5",
        builtins={"guard": Guard({2, 5})}, entry_points=[], env={},
    )  # fmt: skip
    stats = await drive(app, progress=None)
    whys = [(symbol, direction, why) for _, symbol, direction, why in stats.missed]
    vetoed = [w for w in whys if w[0] == "XAUUSD"]
    assert vetoed == [("XAUUSD", "buy", ("vetoed", "guard"))] * 2
    refused = [w for w in whys if w[0] == "NOPE"]
    assert refused and set(refused) == {("NOPE", "buy", ("refused", "rejected"))}
    assert len(refused) == stats.orders_rejected
