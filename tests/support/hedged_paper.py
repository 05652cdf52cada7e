"""A buy on a real paper account file that the real DTMS engine walks down to HEDGED.

The market rises for 1,200 M5 bars, then falls 2.5 a bar with a 24-bar wave (the local
rig's, tests/support/dtms_local_rig.py); the buy opens at the turn with its stop 400
below, far enough that the ladder's tightened stops are not hit before the hedge. The
account lives in ``account.db`` (positions, quotes and bars survive a restart as a live
host's do), the paper broker fills and settles the hedge as it would any action.
``PaperMarket`` is the market and the clock in one (what ``dtms serve``'s app is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import Bar, HostView, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings
from support.broker_double import ManualClock, MarketDouble
from support.dtms_kit import T0, aggregate, trend_bars

M5 = timedelta(minutes=5)


class PaperMarket:
    """Closed bars as of its clock, and the clock; ``step`` closes the next bar, also on
    the paper broker (its quote, its stops)."""

    base_timeframe = "M5"

    def __init__(self, account: Path) -> None:
        self.fast = trend_bars(T0 - M5 * 1200, 1500, 1200, down=-2.5)
        self.clock = ManualClock(T0)
        self._market = MarketDouble(self.clock)
        self._market.set("XAUUSD", "M5", self.fast)
        self._market.set("XAUUSD", "M15", aggregate(self.fast))
        self.account = account

    def now(self) -> datetime:
        return self.clock.now()

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        return self._market.bars(symbol, timeframe, count)

    def broker(self) -> PaperBroker:
        """The account file opened, as a process starting on it does; fed the newest bar."""
        broker = PaperBroker(clock=self.now, settings=PaperSettings(account_file=str(self.account)))
        broker.on_bar("XAUUSD", self.bars("XAUUSD", "M5", 1)[-1])
        return broker

    def step(self, broker: PaperBroker) -> datetime:
        self.clock.advance(M5)
        broker.on_bar("XAUUSD", self.bars("XAUUSD", "M5", 1)[-1])
        return self.now()


def local_strategy(state_dir: Path) -> LocalStrategy:
    """The host's engine on ``state_dir`` (the ladder alone: no trailing stop)."""
    return LocalStrategy(load_settings({"state_dir": str(state_dir), "trail": {"enabled": False}}))


def open_buy(broker: PaperBroker) -> Trade:
    quote = broker.quote("XAUUSD")
    assert quote is not None
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=quote.bid - 400.0))
    assert opened.ok and opened.new_ticket is not None, opened
    position = broker.position(opened.new_ticket)
    assert position is not None
    return position


async def walk_to_hedged(
    market: PaperMarket, broker: PaperBroker, strategy: LocalStrategy, host: HostView
) -> tuple[Trade, Trade]:
    """A buy opened and registered, then cycles until DTMS hedged it: the trade and its
    hedge as the broker lists them."""
    trade = open_buy(broker)
    await strategy.on_trade_executed(host, trade)
    for _ in range(60):
        await strategy.on_cycle(host, market.step(broker))
        hedge_ticket = strategy.records[trade.ticket].hedge_ticket
        if hedge_ticket is not None:
            parent, hedge = broker.position(trade.ticket), broker.position(hedge_ticket)
            assert parent is not None and hedge is not None
            assert hedge.comment == f"DTMS_HEDGE_{trade.ticket}"
            return parent, hedge
    raise AssertionError(f"never hedged: {strategy.records[trade.ticket]}")
