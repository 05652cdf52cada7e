"""pytest fixtures for plugin authors (loaded by pytest through the ``pytest11`` entry point).

A plugin's tests build a real host around the plugin and call its hooks through the same
PluginHost the trading loop uses, so isolation, timeouts and settings checks apply::

    def test_my_strategy(hostapp_factory, hostapp_market):
        hostapp_market.add("XAUUSD", bars_from_closes([...]))
        host = hostapp_factory(plugins={"mine": my_plugin}, config={"plugin": {"mine": {...}}})
        orders = await host.plugins.propose_orders(host, "XAUUSD", bars, host.clock.now())

This module is imported by every pytest run in an environment where hostapp is installed,
so it imports nothing heavy at module level: hookspecs and the host are imported when a
fixture or a double is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hookspecs import AccountInfo, ActionResult, Bar, OrderRequest, Quote, SymbolInfo, Trade
    from hookspecs.broker import Broker, MarginMode
    from hookspecs.host import Clock, MarketView, RunMode, ServeOptions

    from .clock import SimClock
    from .host import Host

#: Where the fixtures' simulated time starts (a Monday, markets open).
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def bars_from_closes(
    closes: Sequence[float], *, start: datetime = T0, step_seconds: int = 300, spread: float = 0.0
) -> list[Bar]:
    """Bars whose closes are ``closes``: each opens at the previous close, with a small
    wick either side. Enough for strategies that look at closes and ranges."""
    from hookspecs import Bar

    bars: list[Bar] = []
    prev = closes[0] if closes else 0.0
    for i, close in enumerate(closes):
        wick = abs(close - prev) * 0.25 + close * 1e-4
        high, low = max(prev, close) + wick, min(prev, close) - wick
        t = start + timedelta(seconds=i * step_seconds)
        bars.append(Bar(t, prev, high, low, close, volume=100.0, spread=spread))
        prev = close
    return bars


class MemoryMarket:
    """A MarketView over bars you put in; ignores the timeframe (one series per symbol)."""

    #: it serves whatever it was given for any timeframe asked
    base_timeframe = "M1"

    def __init__(self, bars: Mapping[str, Sequence[Bar]] | None = None) -> None:
        self._bars: dict[str, list[Bar]] = {s: list(b) for s, b in (bars or {}).items()}

    def add(self, symbol: str, bars: Sequence[Bar]) -> None:
        self._bars.setdefault(symbol, []).extend(bars)

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        series = self._bars.get(symbol, [])
        return series[-count:] if count > 0 else []


class MemoryBroker:
    """An in-memory account that fills market orders at the price you set.

    No stops or targets are simulated (use the paper broker for that); it exists so a
    plugin's test can open, modify, close and hedge positions and inspect ``calls``.
    """

    def __init__(
        self,
        prices: Mapping[str, float] | None = None,
        *,
        margin_mode: MarginMode = "hedging",
        clock: SimClock | None = None,
    ) -> None:
        self.prices = dict(prices or {"XAUUSD": 2000.0, "EURUSD": 1.1})
        self.margin_mode: MarginMode = margin_mode
        self.clock = clock
        self.open_trades: dict[int, Trade] = {}
        self.closed: list[Trade] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._next_ticket = 1

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def set_price(self, symbol: str, price: float) -> None:
        self.prices[symbol] = price

    def positions(self) -> list[Trade]:
        return list(self.open_trades.values())

    def position(self, ticket: int) -> Trade | None:
        return self.open_trades.get(ticket)

    def open(self, order: OrderRequest) -> ActionResult:
        from hookspecs import ActionResult, ResultCode, Trade

        self.calls.append(("open", (order,)))
        price = self.prices.get(order.symbol)
        if price is None:
            return ActionResult.failure(ResultCode.REJECTED, f"unknown symbol {order.symbol}")
        ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
        self.open_trades[ticket] = Trade(
            ticket, order.symbol, order.direction, order.volume, price, order.stop_loss,
            order.take_profit, self._now(), order.magic, order.comment,
        )  # fmt: skip
        return ActionResult.success("filled", new_ticket=ticket)

    def modify_sl_tp(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult:
        from dataclasses import replace

        from hookspecs import ActionResult, ResultCode

        self.calls.append(("modify_sl_tp", (ticket, stop_loss, take_profit)))
        trade = self.open_trades.get(ticket)
        if trade is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        if (trade.stop_loss, trade.take_profit) == (stop_loss, take_profit):
            return ActionResult(True, ResultCode.NO_CHANGES, "no changes")
        self.open_trades[ticket] = replace(trade, stop_loss=stop_loss, take_profit=take_profit)
        return ActionResult.success("modified")

    def close(self, ticket: int, volume: float | None = None) -> ActionResult:
        from dataclasses import replace

        from hookspecs import ActionResult, ResultCode

        self.calls.append(("close", (ticket, volume)))
        trade = self.open_trades.get(ticket)
        if trade is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        price = self.prices[trade.symbol]
        if volume is not None and volume < trade.volume:
            self.open_trades[ticket] = replace(trade, volume=round(trade.volume - volume, 8))
            return ActionResult.success(f"closed {volume} lots")
        del self.open_trades[ticket]
        profit = (price - trade.entry_price) * trade.sign * trade.volume
        self.closed.append(replace(trade, close_price=price, closed_at=self._now(), profit=profit))
        return ActionResult.success("closed")

    def hedge(self, ticket: int, volume: float) -> ActionResult:
        from hookspecs import ActionResult, OrderRequest, ResultCode, opposite

        self.calls.append(("hedge", (ticket, volume)))
        if self.margin_mode != "hedging":
            return ActionResult.failure(ResultCode.HEDGING_NOT_ALLOWED, "netting account")
        trade = self.open_trades.get(ticket)
        if trade is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        order = OrderRequest(
            trade.symbol, opposite(trade.direction), volume, comment=f"hedge {ticket}"
        )
        return self.open(order)

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        from hookspecs import SymbolInfo

        if symbol not in self.prices:
            return None
        return SymbolInfo(symbol, 2, 0.01, volume_min=0.01, volume_step=0.01, volume_max=100.0)

    def quote(self, symbol: str) -> Quote | None:
        from hookspecs import Quote

        price = self.prices.get(symbol)
        return None if price is None else Quote(symbol, price, price, self._now())

    def account(self) -> AccountInfo:
        from hookspecs import AccountInfo

        return AccountInfo(1, 10_000.0, 10_000.0, self.margin_mode)


HostFactory = Callable[..., "Host"]


@pytest.fixture
def hostapp_clock() -> SimClock:
    """A simulated clock at :data:`T0`; move it with ``set`` / ``advance``."""
    from .clock import SimClock

    return SimClock(T0)


@pytest.fixture
def hostapp_broker(hostapp_clock: SimClock) -> MemoryBroker:
    return MemoryBroker(clock=hostapp_clock)


@pytest.fixture
def hostapp_market() -> MemoryMarket:
    return MemoryMarket()


@pytest.fixture
def hostapp_factory(
    hostapp_clock: SimClock, hostapp_broker: MemoryBroker, hostapp_market: MemoryMarket
) -> HostFactory:
    """``hostapp_factory(plugins={"name": obj}, config={...})`` → a configured Host.

    ``plugins`` maps names to plugin objects, classes (instantiated) or import paths;
    ``config`` is a plugins.toml document as a dict (``{"plugins": {...}, "plugin":
    {"name": {...}}}``), checked like the file. Installed entry-point plugins and the
    ``HOSTAPP_*`` environment are ignored unless ``installed=True`` / ``env=`` say so. The
    PluginHost is ``host.plugins``; ``configure=False`` skips the ``configure`` hook.
    """

    def make(
        plugins: Mapping[str, object] | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        configure: bool = True,
        installed: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> Host:
        from .config import config_from_dict
        from .host import Host
        from .loader import load_plugins

        cfg = config_from_dict(config or {})
        plugin_host = load_plugins(
            cfg, builtins=dict(plugins or {}), entry_points=None if installed else [], env=env or {}
        )
        host = Host(hostapp_broker, hostapp_market, hostapp_clock, cfg, plugin_host)
        if configure:
            plugin_host.configure(host)
        return host

    return make


def make_host(
    broker: Broker,
    market: MarketView,
    clock: Clock,
    config: Mapping[str, Any] | None = None,
    *,
    mode: RunMode = "serve",
    serve_options: ServeOptions | None = None,
) -> Host:
    """The host (the same :class:`~hostapp.host.Host` every run mode uses) around a broker,
    market and clock of your own, with no plugin: what a plugin's server (the DTMS API)
    runs on in a test. ``config`` is a plugins.toml document as a dict."""
    from .config import config_from_dict
    from .host import Host
    from .loader import load_plugins

    cfg = config_from_dict(dict(config or {}))
    plugins = load_plugins(cfg, builtins={}, entry_points=[], env={})
    return Host(broker, market, clock, cfg, plugins, mode=mode, serve_options=serve_options)
