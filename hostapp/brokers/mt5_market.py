"""Closed bars from the terminal: :class:`hookspecs.MarketView` over ``copy_rates_from_pos``.

Position 0 of ``copy_rates_from_pos`` is the bar still forming; asking from position 1
returns closed bars only, which is what the contract promises strategies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from hookspecs import Bar, BrokerError, SymbolInfo, Timeframe

from .mt5_convert import ServerClock, bars_from_rates, error_code, last_error


class Terminal(Protocol):
    """What the market reads of an :class:`~hostapp.brokers.mt5.Mt5Broker`: its API
    module, its server-time offset and its symbols. A protocol, so that the broker module
    (which re-exports this one) and this module do not import each other."""

    @property
    def api(self) -> Any: ...

    @property
    def server_clock(self) -> ServerClock: ...

    def symbol_info(self, symbol: str) -> SymbolInfo | None: ...


class Mt5Market:
    """Bars in UTC (the broker's detected server offset applied), spread in price units."""

    base_timeframe = "M1"  # the terminal builds every timeframe from its M1 history

    def __init__(self, broker: Terminal) -> None:
        self.broker = broker

    def timeframe(self, name: str) -> int:
        """``"M5"`` → ``TIMEFRAME_M5`` of the API in use."""
        return int(getattr(self.broker.api, f"TIMEFRAME_{Timeframe.parse(name).value}"))

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        tf = self.timeframe(timeframe)
        if count <= 0:
            return []
        info = self.broker.symbol_info(symbol)
        if info is None:
            code = error_code(self.broker.api)
            # -10001 … -10005: the link to the terminal failed, not the symbol
            what = "no connection to the terminal" if code and code <= -10000 else "unknown symbol"
            raise BrokerError(f"bars of {symbol}: {what}; last_error={last_error(self.broker.api)}")
        rates = self.broker.api.copy_rates_from_pos(symbol, tf, 1, int(count))
        if rates is None:
            raise BrokerError(
                f"copy_rates_from_pos({symbol!r}, {timeframe}) failed: "
                f"last_error={last_error(self.broker.api)}"
            )
        return bars_from_rates(rates, self.broker.server_clock, info.point)
