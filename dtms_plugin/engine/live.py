"""A symbol's indicators fed bar by bar: the live path.

A live market hands over bars as they close, so each indicator is an incremental object
(:mod:`.indicators`) updated once per closed bar, O(1) per bar. A replay, which knows
every bar in advance, computes the same features ahead instead (:mod:`.replay`); a
property test holds the two to 1e-9. Both yield the same :class:`.SignalSnapshot`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hookspecs import Bar, Timeframe

from ..settings import DtmsSettings
from .deadlines import MissingTime
from .indicators import (
    Bollinger,
    ChandelierWindow,
    Ema,
    RollingMean,
    RollingMedian,
    SessionVwap,
    Slope,
    Swings,
    WilderAtr,
    WilderRsi,
)
from .regime import Regime, Structure, Volatility, base_symbol, volatility_of
from .snapshot import OrderFlow, RegimeTable, SignalSnapshot

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SignalPart = tuple[
    datetime | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    tuple[float, ...],
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    Volatility,
    Structure,
]


class SymbolIndicators:
    """The indicators of one symbol: signal timeframe (M15) and fast timeframe (M5).

    ``feed_signal``/``feed_fast`` ignore a bar that is not newer than the last one fed,
    so the same bar can never be counted twice (VWAP in particular)."""

    def __init__(self, symbol: str, settings: DtmsSettings) -> None:
        ic = settings.indicators
        self.symbol = symbol
        self.settings = settings
        self.fast_period = settings.fast.period
        self.signal_period = settings.signal.period
        self._anchor = settings.vwap_anchor()
        # signal timeframe
        self.atr = WilderAtr(ic.atr_period)
        self.atr_base = RollingMean(ic.atr_baseline)
        self.rsi = WilderRsi(ic.rsi_period)
        self.rsi_prev: float | None = None
        self.macd_fast = Ema(ic.macd_fast)
        self.macd_slow = Ema(ic.macd_slow)
        self.macd_signal = Ema(ic.macd_signal)
        self.hist: list[float] = []
        self._hist_len = max(ic.macd_trend_bars, 1)
        self.ema_fast = Ema(ic.ema_fast)
        self.ema_slow = Ema(ic.ema_slow)
        self.ema_fast_slope = Slope(ic.ema_slope_bars)
        self.ema_slow_slope = Slope(ic.ema_slope_bars)
        self.bollinger = Bollinger(ic.bollinger_period, ic.bollinger_k)
        self.swings = Swings(ic.swing_side_bars)
        self.signal_close: float | None = None
        self.last_signal_time: datetime | None = None
        # fast timeframe
        self.vwap = SessionVwap(ic.vwap_slope_bars)
        self.atr_fast = WilderAtr(ic.atr_period)
        trail = settings.trail
        self._trail = ChandelierWindow(trail.period) if trail.enabled else None
        self.spreads = RollingMedian(settings.rails.spread_median_bars)
        self.last_fast_bar: Bar | None = None
        #: the gaps between the fast bars fed, which move the deadlines (docs/dtms.md §5)
        self.gaps = MissingTime(int(self.fast_period.total_seconds()))
        self.order_flow: OrderFlow | None = None
        self._snapshot: SignalSnapshot | None = None
        self._range_width = settings.regime.range_width_by_symbol.get(
            base_symbol(symbol), settings.regime.range_width
        )
        self._regimes = RegimeTable(symbol, settings)
        self._signal: _SignalPart | None = None
        self._signal_cache: dict[int, tuple[float | None, ...]] = {}
        self._signal_cache_regime: Regime | None = None

    @property
    def signal_atr(self) -> float | None:
        """The signal timeframe's ATR after the newest bar fed."""
        return self.atr.value

    def feed_signal(self, bar: Bar) -> bool:
        last = self.last_signal_time
        if last is not None and bar.time <= last:
            return False
        self.last_signal_time = bar.time
        h, lo, c = bar.high, bar.low, bar.close
        atr = self.atr.update(h, lo, c)
        if atr is not None:
            self.atr_base.update(atr)
        self.rsi_prev = self.rsi.value
        self.rsi.update(c)
        fast = self.macd_fast.update(c)
        slow = self.macd_slow.update(c)
        if fast is not None and slow is not None:
            sig = self.macd_signal.update(fast - slow)
            if sig is not None:
                hist = self.hist
                hist.append(fast - slow - sig)
                if len(hist) > self._hist_len:
                    del hist[0]
        self.ema_fast_slope.update(self.ema_fast.update(c))
        self.ema_slow_slope.update(self.ema_slow.update(c))
        self.bollinger.update(c)
        self.swings.update(bar.time, h, lo)
        self.signal_close = c
        self._snapshot = None
        self._signal = None
        return True

    def feed_gap_only(self, bar: Bar) -> None:
        """A fast bar older than the warm-up: its gap alone is remembered, no indicator
        (the week before, so the market's closures are known from the start: docs/dtms.md
        §7). Fed before the warm-up's bars, oldest first."""
        self.gaps.update(int((bar.time - _EPOCH).total_seconds()))

    def feed_fast(self, bar: Bar) -> bool:
        last = self.last_fast_bar
        if last is not None and bar.time <= last.time:
            return False
        self.last_fast_bar = bar
        t = int((bar.time - _EPOCH).total_seconds())
        anchor = t // 86_400 if self._anchor is Timeframe.D1 else self._anchor.bucket_epoch(t)
        self.gaps.update(t)
        self.vwap.update(anchor, bar.high, bar.low, bar.close, bar.volume)
        self.atr_fast.update(bar.high, bar.low, bar.close)
        if self._trail is not None:
            self._trail.update(bar.high, bar.low, bar.close)
        if bar.spread > 0.0:
            self.spreads.update(bar.spread)
        self._snapshot = None
        return True

    def set_order_flow(self, flow: OrderFlow | None) -> None:
        self.order_flow = flow
        self._snapshot = None

    def _signal_part(self) -> _SignalPart:
        """The signal-timeframe features, frozen once per signal bar (a snapshot is
        rebuilt on every fast bar, three times per signal bar)."""
        part = self._signal
        if part is not None:
            return part
        atr = self.atr.value
        base = self.atr_base.value
        atr_ratio = atr / base if atr is not None and base else None
        bb_width = self.bollinger.width
        hist = self.hist
        part = (
            self.last_signal_time,
            self.signal_close,
            atr,
            atr_ratio,
            self.rsi.value,
            self.rsi_prev,
            tuple(hist) if len(hist) >= self.settings.indicators.macd_trend_bars else (),
            self.ema_fast_slope.value,
            self.ema_slow_slope.value,
            bb_width,
            self.swings.last_high,
            self.swings.last_low,
            volatility_of(atr_ratio, self.settings),
            Structure.TREND
            if bb_width is None or bb_width >= self._range_width
            else Structure.RANGE,
        )
        self._signal = part
        self._signal_cache = {}
        self._signal_cache_regime = None
        return part

    def snapshot(self) -> SignalSnapshot | None:
        """The snapshot for the newest bars; ``None`` before the first fast bar."""
        snap = self._snapshot
        if snap is not None:
            return snap
        bar = self.last_fast_bar
        if bar is None:
            return None
        part = self._signal_part()
        # (signal time, close, ATR, ATR ratio, RSI, previous RSI, MACD histogram, EMA
        # slopes, Bollinger width, swings: the snapshot's signal fields in its order;
        # then volatility and structure, for the regime)
        atr_ratio, bb_width, volatility, structure = part[3], part[9], part[12], part[13]
        close_time = bar.time + self.fast_period
        regime, weights = self._regimes.lookup(
            close_time.hour, atr_ratio, bb_width, volatility, structure
        )
        if regime is not self._signal_cache_regime:  # the M15 sub-scores read the regime
            self._signal_cache = {}
            self._signal_cache_regime = regime
        vwap = self.vwap
        # positional: a 27-keyword call costs a microsecond of argument matching per bar
        snap = SignalSnapshot(
            self.symbol,
            self.settings,
            bar,
            close_time,
            self.fast_period,
            *part[:12],
            vwap.value,
            vwap.slope,
            vwap.above,
            vwap.below,
            self.atr_fast.value,
            self.spreads.value,
            self.order_flow,
            regime,
            weights,
            self._signal_cache,
            self.gaps,
        )
        if self._trail is not None:
            snap.trail = self._trail.value
        self._snapshot = snap
        return snap
