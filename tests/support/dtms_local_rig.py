"""A falling gold market, a broker double and a host double around a LocalStrategy.

The market rises for 1,200 M5 bars (enough history for EMA200 on M15), then falls 2.5 a
bar with a 24-bar wave: a buy opened at the turn walks down the DTMS ladder, reaching
HEDGED after 36 cycles (pinned in the tests). ``restart`` builds a fresh strategy on the
same store directory, as a restarted process would.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import DefensiveState, Trade
from support.broker_double import BrokerDouble, HostDouble, ManualClock, MarketDouble
from support.dtms_kit import GOLD, T0, aggregate, trade, trend_bars

M5 = timedelta(minutes=5)


class Rig:
    def __init__(self, state_dir: Path, *, hedging: bool = True, **config: Any) -> None:
        start = T0 - M5 * 1200
        self.fast = trend_bars(start, 1500, 1200, down=-2.5)
        self.clock = ManualClock(T0)
        self.market = MarketDouble(self.clock)
        self.market.set("XAUUSD", "M5", self.fast)
        self.market.set("XAUUSD", "M15", aggregate(self.fast))
        self.broker = BrokerDouble({"XAUUSD": GOLD}, self.clock, hedging=hedging)
        # the ladder alone: its tests pin every stop move, and the trailing stop (tested on
        # its own) would add its own
        config.setdefault("trail", {"enabled": False})
        self.host = HostDouble(
            self.broker, self.market, self.clock, config={"state_dir": str(state_dir), **config}
        )
        self.settings = load_settings(self.host.config)
        self.strategy = LocalStrategy(self.settings)
        self._mid()

    def _mid(self) -> None:
        now = self.clock.now()
        closed = [b for b in self.fast if b.time + M5 <= now]
        self.broker.mids["XAUUSD"] = closed[-1].close

    async def start(self) -> None:
        await self.strategy.startup(self.host)

    async def open_buy(self, ticket: int = 1, volume: float = 1.0) -> Trade:
        entry = round(self.broker.mids["XAUUSD"], 2)
        t = self.broker.add(
            trade(
                ticket=ticket,
                entry=entry,
                sl=entry - 50.0,
                volume=volume,
                opened_at=self.clock.now(),
            )
        )
        await self.strategy.on_trade_executed(self.host, t)
        return t

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            self.clock.advance(M5)
            self._mid()
            await self.strategy.on_cycle(self.host, self.clock.now())

    async def reach(self, ticket: int, state: DefensiveState, *, within: int = 60) -> None:
        """Cycles until the trade's record is in ``state``; fails after ``within`` cycles."""
        for _ in range(within):
            await self.cycles(1)
            if self.strategy.records[ticket].state is state:
                return
        raise AssertionError(f"ticket {ticket} never reached {state.value} in {within} cycles")

    async def restart(self) -> LocalStrategy:
        """Drop the strategy without shutdown (a killed process) and start a new one. The
        old store handle is closed only so the test leaks no file handle; everything
        the strategy knew was already written."""
        self.strategy.store.close()
        self.strategy = LocalStrategy(self.settings)
        await self.strategy.startup(self.host)
        return self.strategy

    async def stop(self) -> None:
        await self.strategy.shutdown(self.host)

    def transitions(self) -> list[tuple[str, str]]:
        return [(old.value, new.value) for _, old, new, _ in self.host.state_changes]
