"""The exit manager's settings (``[plugin.exits]``) and the ATR its trailing stop keeps
behind price; the manager itself is :mod:`hostapp.exits`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hookspecs import Bar

from .market.timeframes import timeframe_seconds


@dataclass(frozen=True)
class ExitSettings:
    """``[plugin.exits]``. Levels are in R; each rule can be switched off on its own."""

    breakeven: bool = True
    breakeven_at_r: float = 1.0
    breakeven_buffer_r: float = 0.1  # stop goes to entry + this much R in the trade's favour
    trailing: bool = True
    trail_from_r: float = 1.5
    trail_atr_multiple: float = 1.0
    trail_step_r: float = 0.1  # move the trailing stop only when it gains at least this
    atr_period: int = 14
    atr_timeframe: str = ""  # empty: the host's timeframe
    partial: bool = True
    partial_at_r: float = 2.0
    partial_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ("breakeven_at_r", "trail_from_r", "trail_atr_multiple", "partial_at_r"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"key {name!r}: expected a number > 0, got {value}")
        for name in ("breakeven_buffer_r", "trail_step_r"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"key {name!r}: expected a number >= 0, got {value}")
        if not 0 < self.partial_fraction < 1:
            raise ValueError(
                "key 'partial_fraction': expected a fraction in (0, 1), "
                f"got {self.partial_fraction}"
            )
        if self.atr_period < 1:
            raise ValueError(f"key 'atr_period': expected an integer >= 1, got {self.atr_period}")
        if self.atr_timeframe:
            try:
                timeframe_seconds(self.atr_timeframe)
            except ValueError as exc:
                raise ValueError(f"key 'atr_timeframe': {exc}") from None


def wilder_atr(bars: Sequence[Bar], period: int) -> float | None:
    """ATR(period) with Wilder's smoothing over ``bars`` (oldest first); ``None`` when
    there are fewer than ``period + 1`` bars, as the first true range needs a prior close."""
    if len(bars) < period + 1:
        return None
    trs: list[float] = []
    prev = bars[0].close
    for bar in bars[1:]:
        high, low = bar.high, bar.low
        trs.append(max(high - low, abs(high - prev), abs(low - prev)))
        prev = bar.close
    atr = sum(trs[:period]) / period
    for tr in trs[period:]:
        atr = (atr * (period - 1) + tr) / period
    return atr
