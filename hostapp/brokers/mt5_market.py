"""Closed bars from the terminal: :class:`hookspecs.MarketView` over ``copy_rates_from_pos``.

Position 0 of ``copy_rates_from_pos`` is the bar still forming; asking from position 1
returns closed bars only, which is what the contract promises strategies.

A read that fails for one symbol (its history not synchronised, ``(-1, 'Terminal: Call
failed')``) gives no bars for that symbol only: the other symbols' cycles and positions go
on. Only a failed link to the terminal (docs/mt5.md, "When the terminal goes away
mid-run") is a :class:`~hookspecs.BrokerError`, which skips the whole cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hookspecs import Bar, BrokerError, SymbolInfo, Timeframe

from .mt5_convert import ServerClock, bars_from_rates, error_code, last_error
from .mt5_retcodes import link_lost

log = logging.getLogger(__name__)


class Terminal(Protocol):
    """What the market reads of an :class:`~hostapp.brokers.mt5.Mt5Broker`: its API
    module, its server-time offset and its symbols. A protocol, so that the broker module
    (which re-exports this one) and this module do not import each other."""

    @property
    def api(self) -> Any: ...

    @property
    def server_clock(self) -> ServerClock: ...

    def symbol_info(self, symbol: str) -> SymbolInfo | None: ...


@dataclass
class _Missing:
    """One symbol's failed bar reads: the episode going on, and the run's totals."""

    error: str
    failed: int = 0  # reads failed in the episode going on (0: none going on)
    episodes: int = 0
    total: int = 0


class Mt5Market:
    """Bars in UTC (the broker's detected server offset applied), spread in price units."""

    base_timeframe = "M1"  # the terminal builds every timeframe from its M1 history

    def __init__(self, broker: Terminal) -> None:
        self.broker = broker
        self._missing: dict[str, _Missing] = {}

    @property
    def run_notes(self) -> list[str]:
        """For the run's summary: the symbols whose bars could not be read for a while,
        during which no plugin saw a new bar of theirs."""
        return [
            f"bars of {symbol} could not be read {m.total} times in {m.episodes} "
            f"episode{'s' if m.episodes > 1 else ''} (the last: {m.error}); the symbol had "
            "no new bars then, the others traded on"
            for symbol, m in self._missing.items()
        ]

    def timeframe(self, name: str) -> int:
        """``"M5"`` → ``TIMEFRAME_M5`` of the API in use."""
        return int(getattr(self.broker.api, f"TIMEFRAME_{Timeframe.parse(name).value}"))

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        tf = self.timeframe(timeframe)
        if count <= 0:
            return []
        info = self.broker.symbol_info(symbol)
        if info is None:
            return self._failed(symbol, "symbol_info() failed")
        rates = self.broker.api.copy_rates_from_pos(symbol, tf, 1, int(count))
        if rates is None:
            return self._failed(symbol, f"copy_rates_from_pos(..., {timeframe}) failed")
        missing = self._missing.get(symbol)
        if missing is not None and missing.failed:
            # the end at its start's level: a log read at WARNING saw the start
            log.warning("bars of %s read again, after %d failed reads", symbol, missing.failed)
            missing.failed = 0
        return bars_from_rates(rates, self.broker.server_clock, info.point)

    def _failed(self, symbol: str, what: str) -> list[Bar]:
        """No bars of ``symbol`` this time, said at the first failed read of an episode
        (the rest are counted until a read works again); a BrokerError when the link to
        the terminal itself failed, which no symbol can be read through."""
        api = self.broker.api
        error = f"{what}; last_error={last_error(api)}"
        if link_lost(error_code(api)):
            raise BrokerError(f"bars of {symbol}: no connection to the terminal: {error}")
        missing = self._missing.setdefault(symbol, _Missing(error))
        missing.error = error
        missing.total += 1
        missing.failed += 1
        if missing.failed == 1:
            missing.episodes += 1
            log.warning(
                "bars of %s: %s; the symbol gets no new bars until a read works again "
                "(counted), the others go on",
                symbol,
                error,
            )
        return []
