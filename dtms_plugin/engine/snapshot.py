"""Per-symbol indicator state and the signal snapshot it yields once per closed bar.

A symbol's indicators are shared by all its trades: bars are fed here once per symbol,
and the resulting :class:`SignalSnapshot` (plain floats) is what every trade on the
symbol is scored against. The score itself depends only on the snapshot and the trade's
direction, so it is computed at most twice per bar (buy, sell) and cached on the snapshot;
per-trade work in a cycle is then a handful of comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hookspecs import Bar, Direction, Timeframe

from ..settings import DtmsSettings
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
from .regime import (
    Regime,
    Session,
    Structure,
    Volatility,
    base_symbol,
    classify,
    session_at,
    volatility_of,
)
from .score import ScoreBreakdown, compute_score, weights_for

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def score(self, direction: Direction) -> ScoreBreakdown:
        cached = self._scores.get(direction)
        if cached is None:
            cached = compute_score(self, direction)
            self._scores[direction] = cached
        return cached


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

    def feed_fast(self, bar: Bar) -> bool:
        last = self.last_fast_bar
        if last is not None and bar.time <= last.time:
            return False
        self.last_fast_bar = bar
        t = int((bar.time - _EPOCH).total_seconds())
        anchor = t // 86_400 if self._anchor is Timeframe.D1 else self._anchor.bucket_epoch(t)
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
        (
            signal_time,
            signal_close,
            atr,
            atr_ratio,
            rsi,
            rsi_prev,
            hist,
            ema_fast_slope,
            ema_slow_slope,
            bb_width,
            swing_high,
            swing_low,
            volatility,
            structure,
        ) = self._signal_part()
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
            signal_time,
            signal_close,
            atr,
            atr_ratio,
            rsi,
            rsi_prev,
            hist,
            ema_fast_slope,
            ema_slow_slope,
            bb_width,
            swing_high,
            swing_low,
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
        )
        if self._trail is not None:
            snap.trail = self._trail.value
        self._snapshot = snap
        return snap
