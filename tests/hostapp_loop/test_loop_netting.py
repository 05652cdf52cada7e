"""On a netting account an order changes the symbol's one position (docs/mt5.md, "Netting
accounts"): the loop counts an order that added to, reduced or closed it apart from the
trades, tells no plugin a trade opened, reports what it closed, and counts a reversal's
new side as the trade it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookspecs import OrderRequest, Trade, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.run_notes import netted_note
from hostapp.testing import bars_from_closes

CLOSES = [2000.0] * 20


class Scripted:
    """Proposes the orders of a schedule (cycle index → orders) and records what the
    host tells it."""

    def __init__(self, schedule: dict[int, list[OrderRequest]]) -> None:
        self.schedule = schedule
        self.cycle = -1
        self.executed: list[tuple[int, str, float]] = []
        self.closed: list[tuple[int, str, str]] = []

    @hookimpl
    def propose_orders(self, symbol: str, now: datetime) -> list[OrderRequest]:
        self.cycle += 1
        return self.schedule.get(self.cycle, [])

    @hookimpl
    def on_trade_executed(self, trade: Trade) -> None:
        self.executed.append((trade.ticket, trade.direction, trade.volume))

    @hookimpl
    def on_trade_closed(self, trade: Trade, reason: str) -> None:
        self.closed.append((trade.ticket, trade.direction, reason))


def _order(direction: str, volume: float) -> OrderRequest:
    return OrderRequest("XAUUSD", direction, volume)  # type: ignore[arg-type]


async def _drive(plugin: Scripted, margin_mode: str) -> Any:
    config = config_from_dict(
        {
            "host": {
                "symbols": ["XAUUSD"],
                "timeframe": "M5",
                "paper": {"margin_mode": margin_mode},
            }
        }
    )
    app = build_sim_app(
        config,
        {"XAUUSD": bars_from_closes(CLOSES)},
        base_timeframe="M5",
        builtins={"scripted": plugin},
        entry_points=[],
        env={},
    )
    return await drive(app, progress=None)


SCHEDULE = {
    1: [_order("buy", 0.3)],  # opens
    3: [_order("buy", 0.2)],  # adds: 0.5
    5: [_order("sell", 0.1)],  # reduces: 0.4
    7: [_order("sell", 0.4)],  # closes
    9: [_order("buy", 0.1)],  # opens
    11: [_order("sell", 0.3)],  # reverses: 0.2 sell
}


async def test_only_orders_that_open_a_position_are_trades_on_a_netting_account() -> None:
    plugin = Scripted(SCHEDULE)
    stats = await _drive(plugin, "netting")
    assert [(t.direction, t.volume) for _, t, _ in stats.entries] == [
        ("buy", 0.3),
        ("buy", 0.1),
        ("sell", 0.2),
    ]
    assert [(d, v) for _, d, v in plugin.executed] == [("buy", 0.3), ("buy", 0.1), ("sell", 0.2)]
    assert stats.netted == {"added": 1, "reduced": 1, "closed": 1, "reversed": 1}
    assert stats.orders_rejected == 0  # a netting close is not a refusal
    first, second, _ = (ticket for ticket, _, _ in plugin.executed)
    # each close reported once, when the order that closed it went through (the third
    # trade is still open at the end)
    # closed by the strategy's own orders the other way: netted, not an exit rule's close
    assert plugin.closed == [(first, "buy", "netted"), (second, "buy", "netted")]
    assert [(t.volume, why) for _, t, why in stats.closes] == [(0.4, "netted"), (0.1, "netted")]
    note = netted_note(stats)
    assert note == (
        "4 of the 6 orders proposed changed the symbol's netting position (added 1, closed 1, "
        "reduced 1, reversed 1); only a reversal's new side counts as a trade"
    )


async def test_a_hedging_account_counts_every_order_as_a_trade() -> None:
    plugin = Scripted(SCHEDULE)
    stats = await _drive(plugin, "hedging")
    assert len(stats.entries) == 6 and stats.netted == {}
    assert netted_note(stats) is None
