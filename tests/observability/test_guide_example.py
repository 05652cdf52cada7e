"""The example plugin and its test from docs/plugins.md, verbatim, so the guide cannot rot.

(The guide shows the plugin as ``max_open_trades.py`` and the test as
``test_max_open_trades.py``; here they share one file.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hookspecs import OrderRequest, Trade, Veto, hookimpl, parse_settings
from hostapp.testing import T0

# --- max_open_trades.py (the plugin) ------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    limit: int = 3


class MaxOpenTrades:
    """Veto new orders while ``limit`` trades are open."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.open: set[int] = set()

    @hookimpl
    def configure(self, host):  # type: ignore[no-untyped-def]
        table = host.config_for("max_open_trades")
        self.settings = parse_settings(Settings, table, "[plugin.max_open_trades]")

    @hookimpl
    def allow_order(self, host, order):  # type: ignore[no-untyped-def]
        if len(self.open) >= self.settings.limit:
            reason = f"{len(self.open)} trades open (limit {self.settings.limit})"
            return Veto(reason, kind="too many trades open")
        return None

    @hookimpl
    def on_trade_executed(self, host, trade):  # type: ignore[no-untyped-def]
        self.open.add(trade.ticket)

    @hookimpl
    def on_trade_closed(self, host, trade, reason):  # type: ignore[no-untyped-def]
        self.open.discard(trade.ticket)


# --- test_max_open_trades.py (its test) ---------------------------------------------------


def trade(ticket: int) -> Trade:
    return Trade(ticket, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, 2020.0, T0)


async def test_vetoes_orders_over_the_limit(hostapp_factory):  # type: ignore[no-untyped-def]
    guard = MaxOpenTrades()
    host = hostapp_factory(
        plugins={"max_open_trades": guard},
        config={"plugin": {"max_open_trades": {"limit": 2}}},
    )
    order = OrderRequest("XAUUSD", "buy", 0.1)
    assert host.plugins.allow_order(host, order) is None

    await host.plugins.on_trade_executed(host, trade(1))
    await host.plugins.on_trade_executed(host, trade(2))
    veto = host.plugins.allow_order(host, order)
    assert veto == "max_open_trades: 2 trades open (limit 2)"
    assert host.plugins.veto(host, order).kind == "max_open_trades: too many trades open"

    await host.plugins.on_trade_closed(host, trade(1), "take_profit")
    assert host.plugins.allow_order(host, order) is None


# --- the guide really contains this code ---------------------------------------------------


def test_the_guide_shows_this_example() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
    for line in (
        "class MaxOpenTrades:",
        'reason = f"{len(self.open)} trades open (limit {self.settings.limit})"',
        'return Veto(reason, kind="too many trades open")',
        "async def test_vetoes_orders_over_the_limit(hostapp_factory):",
        'assert veto == "max_open_trades: 2 trades open (limit 2)"',
        'assert host.plugins.veto(host, order).kind == "max_open_trades: too many trades open"',
    ):
        assert line in guide, line
