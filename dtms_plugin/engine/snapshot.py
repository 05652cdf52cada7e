"""The signal snapshot a symbol's indicators yield once per closed bar.

A symbol's indicators are shared by all its trades (fed bar by bar in :mod:`.live`,
computed ahead in :mod:`.replay`), and the resulting :class:`SignalSnapshot` (plain
floats) is what every trade on the symbol is scored against. The score itself depends only
on the snapshot and the trade's direction, so it is computed at most twice per bar (buy,
sell) and cached on the snapshot; per-trade work in a cycle is then a handful of
comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from hookspecs import Bar, Direction, Timeframe

from ..settings import DtmsSettings
from .regime import (
    Regime,
    Session,
    Structure,
    Volatility,
    classify,
    session_at,
)
from .score import ScoreBreakdown, compute_score, weights_for

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NONE = timedelta(0)
_UNASKED = object()


class Gaps(Protocol):
    """What a symbol's indicators remember of the gaps between the fast bars they were fed
    (:class:`.deadlines.MissingTime` live, :class:`.replay.ReplayIndicators` in a replay)."""

    def missing(self, since: int, newest: int) -> int:
        """The missing seconds over the fed bars after the one opened at ``since`` (epoch
        seconds) up to the one opened at ``newest``; an unknown span counts whole."""
        ...

    def closure_after(self, close: int) -> int | None:
        """When the closure of the market after a bar closing at ``close`` ends, if an
        earlier week's bars stopped at that time of the week; else ``None``."""
        ...


def timeframe_period(timeframe: str) -> timedelta:
    """``"M5"`` → 5 minutes, ``"H1"`` → 1 hour; ``ValueError`` for anything else."""
    return Timeframe.parse(timeframe).period


@dataclass(frozen=True, slots=True)
class OrderFlow:
    """Optional order-flow figures for the newest bar (docs/dtms.md §1)."""

    buy_volume: float = 0.0
    sell_volume: float = 0.0
    delta_z: float | None = None


class SignalSnapshot:
    """Everything the score needs, frozen at one (fast bar, signal bar) pair."""

    __slots__ = (
        "_closure",
        "_scores",
        "_stale_after",
        "atr",
        "atr_fast",
        "atr_ratio",
        "bb_width",
        "ema_fast_slope",
        "ema_slow_slope",
        "fast_bar",
        "fast_close_time",
        "fast_period",
        "gaps",
        "hist",
        "median_spread",
        "order_flow",
        "regime",
        "rsi",
        "rsi_prev",
        "settings",
        "signal_cache",
        "signal_close",
        "signal_time",
        "swing_high",
        "swing_low",
        "symbol",
        "trail",
        "vwap",
        "vwap_above",
        "vwap_below",
        "vwap_slope",
        "weights",
    )

    def __init__(
        self,
        symbol: str,
        settings: DtmsSettings,
        fast_bar: Bar,
        fast_close_time: datetime,
        fast_period: timedelta,
        signal_time: datetime | None,
        signal_close: float | None,
        atr: float | None,
        atr_ratio: float | None,
        rsi: float | None,
        rsi_prev: float | None,
        hist: tuple[float, ...],
        ema_fast_slope: float | None,
        ema_slow_slope: float | None,
        bb_width: float | None,
        swing_high: float | None,
        swing_low: float | None,
        vwap: float | None,
        vwap_slope: float | None,
        vwap_above: int,
        vwap_below: int,
        atr_fast: float | None,
        median_spread: float | None,
        order_flow: OrderFlow | None,
        regime: Regime,
        weights: tuple[float, ...],
        signal_cache: dict[int, tuple[float | None, ...]] | None = None,
        gaps: Gaps | None = None,
    ) -> None:
        self.symbol = symbol
        self.settings = settings
        self.fast_bar = fast_bar
        self.fast_close_time = fast_close_time
        self.fast_period = fast_period
        self.signal_time = signal_time
        self.signal_close = signal_close
        self.atr = atr
        self.atr_ratio = atr_ratio
        self.rsi = rsi
        self.rsi_prev = rsi_prev
        self.hist = hist
        self.ema_fast_slope = ema_fast_slope
        self.ema_slow_slope = ema_slow_slope
        self.bb_width = bb_width
        self.swing_high = swing_high
        self.swing_low = swing_low
        self.vwap = vwap
        self.vwap_slope = vwap_slope
        self.vwap_above = vwap_above
        self.vwap_below = vwap_below
        self.atr_fast = atr_fast
        self.median_spread = median_spread
        self.order_flow = order_flow
        self.regime = regime
        self.weights = weights
        self._scores: dict[str, ScoreBreakdown] = {}
        # sub-scores that read only signal-timeframe features, by trade sign: shared by
        # the snapshots of one signal bar and regime (see ``score._signal_subscores``)
        self.signal_cache = {} if signal_cache is None else signal_cache
        self.gaps = gaps
        self._closure: datetime | object | None = _UNASKED  # :meth:`closure_end`'s answer
        self._stale_after = fast_close_time + fast_period * settings.rails.stale_bar_periods
        #: (highest high, lowest low, mean true range) of the fast bars the trailing stop
        #: hangs from; ``None`` when the trail is off or its window is not full yet
        self.trail: tuple[float, float, float] | None = None

    @property
    def bar_time(self) -> datetime:
        return self.fast_bar.time

    def is_stale(self, now: datetime) -> bool:
        """docs/dtms.md §7: the newest closed bar closed more than N bar periods ago (the limit
        is worked out once per snapshot: every trade of the symbol asks, every cycle)."""
        return now > self._stale_after

    def missing_since(self, bar_time: datetime) -> timedelta:
        """The market's missing time over the fast bars after the one opened at
        ``bar_time`` up to this snapshot's: the time beyond one period between consecutive
        bars the indicators were fed (docs/dtms.md §5), so bars that came while DTMS did
        not look count as the market's time. Without a memory reaching back that far, the
        whole span beyond one period counts as missing (never shortens a deadline)."""
        newest = self.fast_bar.time
        gaps = self.gaps
        if gaps is None:
            whole = newest - bar_time - self.fast_period
            return whole if whole > _NONE else _NONE
        since = int((bar_time - _EPOCH).total_seconds())
        seconds = gaps.missing(since, int((newest - _EPOCH).total_seconds()))
        return timedelta(seconds=seconds)

    def closure_end(self) -> datetime | None:
        """When the market's closure after this snapshot's fast bar ends, if the market
        closed at that time of the week in an earlier week (docs/dtms.md §7); ``None``
        otherwise, and without a memory of the gaps."""
        if self._closure is _UNASKED:  # asked once per snapshot: every trade asks
            gaps, end = self.gaps, None
            if gaps is not None:
                end = gaps.closure_after(int((self.fast_close_time - _EPOCH).total_seconds()))
            self._closure = None if end is None else _EPOCH + timedelta(seconds=end)
        return self._closure  # type: ignore[return-value]

    def saw_data(self, close_time: datetime) -> None:
        """A bar of a finer timeframe closed at ``close_time``: the data flows, so the
        fast bar is merely still forming (the first bars after a weekend when the fast
        timeframe is coarser than the data); staleness counts from the newer close."""
        limit = close_time + self.fast_period * self.settings.rails.stale_bar_periods
        if limit > self._stale_after:
            self._stale_after = limit

    def score(self, direction: Direction) -> ScoreBreakdown:
        cached = self._scores.get(direction)
        if cached is None:
            cached = compute_score(self, direction)
            self._scores[direction] = cached
        return cached


class RegimeTable:
    """The regime and weights of a symbol per (session, volatility, structure): a handful
    of label triples, so each is classified once and then looked up."""

    __slots__ = ("_aware", "_settings", "_symbol", "_table")

    def __init__(self, symbol: str, settings: DtmsSettings) -> None:
        self._symbol = symbol
        self._settings = settings
        self._aware = settings.session_aware
        self._table: dict[tuple[Session, Volatility, Structure], tuple[Regime, tuple[float, ...]]]
        self._table = {}

    def lookup(
        self,
        hour: int,
        atr_ratio: float | None,
        bb_width: float | None,
        volatility: Volatility,
        structure: Structure,
    ) -> tuple[Regime, tuple[float, ...]]:
        key = (session_at(hour, self._aware), volatility, structure)
        hit = self._table.get(key)
        if hit is None:
            regime = classify(self._symbol, hour, atr_ratio, bb_width, self._settings)
            hit = (regime, weights_for(regime, self._settings))
            self._table[key] = hit
        return hit
