"""A paper account file whose gold market falls (tests/support/hedged_paper.py), with the
host's DTMS engine on a diskcache store: what the account rails' end-to-end tests
(docs/dtms.md §7) open trades on, cycle and ask ``allow_order``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import DefensiveState, OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker
from hostapp.host import Host
from hostapp.testing import make_host
from support.hedged_paper import PaperMarket

ENTRY = OrderRequest("XAUUSD", "buy", 0.01)


class Account:
    """A paper account file, its falling gold market and the host's DTMS engine on a
    diskcache store (the ladder alone: no trailing stop)."""

    def __init__(self, folder: Path, *, skip: int = 0, **config: object) -> None:
        self.market = PaperMarket(folder / "account.db")
        self.broker: PaperBroker = self.market.broker()
        for _ in range(skip):  # to a later time of the day (the market keeps falling)
            self.market.step(self.broker)
        settings = {"state_dir": str(folder / "dtms"), "trail": {"enabled": False}, **config}
        self.strategy = LocalStrategy(load_settings(settings))
        self.host: Host = make_host(self.broker, self.market, self.market, mode="live")

    async def start(self) -> None:
        await self.strategy.startup(self.host)

    async def buy(self, volume: float, stop_below: float) -> Trade:
        quote = self.broker.quote("XAUUSD")
        assert quote is not None
        order = OrderRequest("XAUUSD", "buy", volume, stop_loss=round(quote.bid - stop_below, 2))
        opened = self.broker.open(order)
        assert opened.ok and opened.new_ticket is not None, opened
        trade = self.broker.position(opened.new_ticket)
        assert trade is not None
        await self.strategy.on_trade_executed(self.host, trade)
        return trade

    async def cycle(self) -> datetime:
        now = self.market.step(self.broker)
        await self.strategy.on_cycle(self.host, now)
        return now

    async def until(self, done: Callable[[], bool], most: int = 120) -> None:
        for _ in range(most):
            if done():
                return
            await self.cycle()
        raise AssertionError("never came")

    def state(self, ticket: int) -> DefensiveState:
        return self.strategy.records[ticket].state

    def deals(self, ticket: int) -> list[Trade]:
        return [d for d in self.broker.closed_trades() if d.ticket == ticket]

    def vetoed(self) -> str | None:
        veto = self.strategy.allow_order(self.host, ENTRY)
        return None if veto is None else veto.reason

    async def stop(self) -> None:
        await self.strategy.shutdown(self.host)
