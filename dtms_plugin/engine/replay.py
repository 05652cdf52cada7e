"""A symbol's indicators in a replay: every feature computed ahead over the whole series
(:mod:`.vectorised`), served bar by bar as :class:`SymbolIndicators` would serve it.

The live path feeds bars one at a time (:class:`SymbolIndicators`); it warms up on the
newest ``warmup_bars`` at first sight and, after a quiet spell longer than that, feeds
only the newest ``warmup_bars`` again. :meth:`ReplayIndicators.advance` follows the same
rule: the bars it counts as fed (:class:`.replay_series.FedBars`) are exactly the ones
the live path would have fed at the same cycle times, so both give the same snapshots.
The features are computed for the bars fed so far plus every later bar; a quiet spell
that skips bars (rare) recomputes them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from hookspecs import Bar

from ..settings import DtmsSettings
from . import replay_scores as rs
from .deadlines import CLOSURE_SECONDS, CLOSURES_KEPT, closure_end
from .regime import Structure, Volatility, base_symbol
from .replay_features import Columns, extend_fast, extend_signal
from .replay_series import FedBars, bar_columns, vwap_anchors
from .snapshot import RegimeTable, SignalSnapshot

_F = float | None
#: signal time, close, ATR, ATR ratio, RSI, previous RSI, MACD histogram, EMA slopes,
#: Bollinger width, swing high, swing low: the signal-timeframe part of a snapshot
_Part = tuple[datetime | None, _F, _F, _F, _F, _F, tuple[float, ...], _F, _F, _F, _F, _F]


#: planned bars computed ahead of the newest fed one, per chunk
CHUNK = 4096


def _known(x: float) -> float | None:
    """A feature value as the snapshot carries it: NaN (not yet known) as ``None``."""
    return None if x != x else x


class ReplayIndicators:
    """The replay twin of :class:`SymbolIndicators`: ``advance(now)`` instead of
    ``feed_*``, the same :meth:`snapshot`, ``last_fast_bar``, ``last_signal_time`` and
    ``signal_atr``."""

    def __init__(
        self,
        symbol: str,
        settings: DtmsSettings,
        fast: Sequence[Bar],
        fast_closes: list[datetime],
        signal: Sequence[Bar],
        signal_closes: list[datetime],
        *,
        chunk: int | None = None,
        gaps_learned: timedelta = timedelta(0),
    ) -> None:
        self.symbol = symbol
        self.settings = settings
        self.fast_period = settings.fast.period
        self._fast_bars = list(fast)
        self._signal_bars = list(signal)
        self._fast_cols = bar_columns(self._fast_bars, epoch=True)
        self._fast_secs = self._fast_cols.pop("epoch")
        self._fast_cols["anchor"] = vwap_anchors(self._fast_secs, settings)
        # the planned fast bars' open times and running sums of missing seconds (``missing``)
        self._gap_key: np.ndarray | None = None
        self._gap_times = self._gap_sums = np.zeros(0, dtype=np.int64)
        # the fast bars before the warm-up read for their gaps alone at first sight, as
        # the live path reads them (``gaps_learned`` of them: dtms_plugin.local_edges)
        self._learned = int(gaps_learned / settings.fast.period)
        # the closures among the planned fast bars and those before them (``closure_after``):
        # the open time of the bar after each, its start and length, oldest first
        self._closure_key: np.ndarray | None = None
        self._closure_bars = np.zeros(0, dtype=np.int64)
        self._closure_starts: list[int] = []
        self._closure_lengths: list[int] = []
        self._signal_cols = bar_columns(self._signal_bars)
        self._chunk = max(1, chunk or CHUNK)
        self._f_upto = self._s_upto = 0  # planned positions with their features computed
        self._spread_at: list[int] = []
        self._spreads: list[float] = []
        self._median: tuple[int, float | None] = (-1, None)
        self._fast = FedBars(fast_closes, [b.time for b in fast], settings.fast.period)
        self._signal = FedBars(signal_closes, [b.time for b in signal], settings.signal.period)
        # the features as lists of floats (NaN for unknown): a replay reads one element
        # of each per bar, and a list element costs a tenth of a numpy scalar
        self._f: Columns = {}
        self._s: Columns = {}
        self._part: tuple[int, _Part] | None = None
        self._hist_start = 0
        self._regimes = RegimeTable(symbol, settings)
        self._snapshot: SignalSnapshot | None = None
        self._snap_key: tuple[int, int] = (-1, -1)
        self._signal_cache: dict[int, tuple[float | None, ...]] = {}
        # per planned signal bar: volatility and structure codes, and the signal
        # sub-scores of each trade sign (``replay_scores``), chunk by chunk as the features
        self._vol: list[int] = []
        self._struct: list[int] = []
        self._subs: dict[int, rs.Columns3] = {1: ([], [], []), -1: ([], [], [])}
        self._cache_key: tuple[int, object] = (-1, None)
        self._range_width = settings.regime.range_width_by_symbol.get(
            base_symbol(symbol), settings.regime.range_width
        )

    # ------------------------------------------------------------------ feeding

    def advance(self, now: datetime) -> None:
        """Count as fed the bars the live path would have fed by ``now``."""
        warmup = self.settings.indicators.warmup_bars
        signal, fast = self._signal, self._fast
        fed = signal.count
        if signal.advance(now, warmup):  # planned bars changed from position ``fed`` on
            self._s_upto = min(self._s_upto, fed)
            self._compute_signal()
        elif signal.count > self._s_upto:
            self._compute_signal()
        fed = fast.count
        if fast.advance(now, warmup):
            self._f_upto = min(self._f_upto, fed)
            self._compute_fast()
        elif fast.count > self._f_upto:
            self._compute_fast()

    @property
    def last_fast_bar(self) -> Bar | None:
        f = self._fast
        return self._fast_bars[int(f.planned[f.count - 1])] if f.count else None  # type: ignore[index]

    @property
    def last_signal_time(self) -> datetime | None:
        s = self._signal
        return self._signal_bars[int(s.planned[s.count - 1])].time if s.count else None  # type: ignore[index]

    @property
    def signal_atr(self) -> float | None:
        """The signal timeframe's ATR after the newest fed bar."""
        n = self._signal.count
        return _known(self._s["atr"][n - 1]) if n else None

    def missing(self, since: int, newest: int) -> int:
        """:meth:`.deadlines.MissingTime.missing` over the fast bars fed so far, from a
        running sum worked out once per planned sequence (bars a quiet spell skipped
        count as missing here as on the live path, which never fed them)."""
        fed = self._fast
        planned = fed.planned
        assert planned is not None and fed.count > 0
        period = int(self.fast_period.total_seconds())
        if self._gap_key is not planned:
            times = self._fast_secs[planned]
            self._gap_times = times
            self._gap_sums = np.r_[0, np.cumsum(np.maximum(np.diff(times) - period, 0))]
            self._gap_key = planned
        times = self._gap_times[: fed.count]
        sums = self._gap_sums
        end = int(sums[int(np.searchsorted(times, newest, "right")) - 1])
        base = int(times[0])
        if since >= base:
            return end - int(sums[int(np.searchsorted(times, since, "right")) - 1])
        return max(base - since - period, 0) + end

    def closure_after(self, close: int) -> int | None:
        """:meth:`.deadlines.MissingTime.closure_after` from the closures before the bar
        closing at ``close`` only (those whose next bar opened by then: what the live path
        was fed), among the bars it feeds: those of ``gaps_learned`` before the first
        sight's warm-up, then the planned ones. Asked whenever a symbol's newest bar is
        older than ``now``: a replay of markets with other hours (a share's nights amid
        FX), a live run on a file."""
        fed = self._fast
        planned = fed.planned
        if planned is None:
            return None
        period = int(self.fast_period.total_seconds())
        if self._closure_key is not planned:
            first = int(planned[0]) if len(planned) else 0
            learned = np.arange(max(0, first - self._learned), first)
            times = self._fast_secs[np.r_[learned, planned].astype(np.int64)]
            gaps = np.diff(times) - period
            at = np.flatnonzero(gaps >= CLOSURE_SECONDS)
            self._closure_bars = times[at + 1]
            self._closure_starts = (times[at] + period).tolist()
            self._closure_lengths = gaps[at].tolist()
            self._closure_key = planned
        k = int(np.searchsorted(self._closure_bars, close - period, "right"))
        lo = max(0, k - CLOSURES_KEPT)
        starts, lengths = self._closure_starts[lo:k], self._closure_lengths[lo:k]
        return closure_end(zip(reversed(starts), reversed(lengths), strict=True), close, period)

    # ------------------------------------------------------------------ features

    def _compute_signal(self) -> None:
        """The signal features from the first planned bar not computed (or no longer
        valid) to a chunk past the newest fed one."""
        ic = self.settings.indicators
        fed = self._signal
        idx = fed.planned
        assert idx is not None
        hi = min(len(idx), fed.count + self._chunk)
        lo = extend_signal(self._signal_cols, idx, self._s_upto, hi, self._s, ic)
        if lo == 0:
            hist = self._s["hist"]
            self._hist_start = next((i for i in range(hi) if hist[i] == hist[i]), hi)
        self._score_ahead(lo, hi)
        self._s_upto = hi
        self._snapshot = None
        self._part = None

    def _score_ahead(self, lo: int, hi: int) -> None:
        """The regime labels and signal sub-scores of signal bars ``[lo, hi)``."""
        a = self._s
        ic = self.settings.indicators
        for cache in (self._vol, self._struct, *self._subs[1], *self._subs[-1]):
            del cache[lo:]
        if hi <= lo:
            return

        def col(name: str, start: int = lo) -> np.ndarray:
            return np.asarray(a[name][start:hi], dtype=float)

        vol, struct = rs.labels(col("ratio"), col("bb"), self.settings, self._range_width)
        rsi_prev = col("rsi", max(0, lo - 1))
        rsi_prev = np.r_[np.nan, rsi_prev[:-1]] if lo == 0 else rsi_prev[:-1]
        need = ic.macd_trend_bars
        windows = rs.hist_windows(a["hist"], lo, hi, need)
        carried = rs.carried(lo, hi, self._hist_start, need)
        self._vol.extend(vol.tolist())
        self._struct.extend(struct.tolist())
        for sign in (1, -1):
            computed = rs.subscores(
                col("close"),
                col("swing_high"),
                col("swing_low"),
                col("rsi"),
                rsi_prev,
                windows,
                carried,
                col("ema_fast_slope"),
                col("ema_slow_slope"),
                vol,
                sign,
                self.settings,
            )
            for kept, more in zip(self._subs[sign], computed, strict=True):
                kept.extend(more)

    def _compute_fast(self) -> None:
        """The fast features, as :meth:`_compute_signal`; and where the positive spreads
        are (for the median), over the same planned bars."""
        fed = self._fast
        idx = fed.planned
        assert idx is not None
        hi = min(len(idx), fed.count + self._chunk)
        lo = extend_fast(self._fast_cols, idx, self._f_upto, hi, self._f, self.settings)
        spreads = self._fast_cols["spread"][idx[lo:hi]]
        positive = np.flatnonzero(spreads > 0.0)
        keep = bisect_right(self._spread_at, lo - 1)
        del self._spread_at[keep:], self._spreads[keep:]
        self._spread_at.extend((positive + lo).tolist())  # planned positions
        self._spreads.extend(spreads[positive].tolist())
        self._median = (-1, None)
        self._f_upto = hi
        self._snapshot = None

    def _median_spread(self, i: int) -> float | None:
        """The median of the last ``spread_median_bars`` positive spreads fed up to planned
        position ``i``, as :class:`RollingMedian` keeps it: worked out only for the bars a
        snapshot is asked for (a sort of ≤ 100 floats), not for every bar of the series."""
        if self._median[0] == i:
            return self._median[1]
        k = bisect_right(self._spread_at, i)
        value: float | None = None
        if k:
            srt = sorted(self._spreads[max(0, k - self.settings.rails.spread_median_bars) : k])
            mid = len(srt) // 2
            value = srt[mid] if len(srt) % 2 else (srt[mid - 1] + srt[mid]) / 2.0
        self._median = (i, value)
        return value

    # ------------------------------------------------------------------ snapshot

    def _signal_part(self, j: int) -> _Part:
        """The signal-timeframe features after fed signal bar ``j`` (−1: none yet)."""
        if j < 0:
            return (None, None, None, None, None, None, (), None, None, None, None, None)
        cached = self._part
        if cached is not None and cached[0] == j:
            return cached[1]
        a = self._s
        need = self.settings.indicators.macd_trend_bars
        keep = max(need, 1)
        first = self._hist_start
        hist: tuple[float, ...] = ()
        if j >= first and j - first + 1 >= need:
            hist = tuple(a["hist"][max(first, j - keep + 1) : j + 1])
        bar = self._signal_bars[int(self._signal.planned[j])]  # type: ignore[index]
        part: _Part = (
            bar.time,
            _known(a["close"][j]),
            _known(a["atr"][j]),
            _known(a["ratio"][j]),
            _known(a["rsi"][j]),
            _known(a["rsi"][j - 1]) if j > 0 else None,
            hist,
            _known(a["ema_fast_slope"][j]),
            _known(a["ema_slow_slope"][j]),
            _known(a["bb"][j]),
            _known(a["swing_high"][j]),
            _known(a["swing_low"][j]),
        )
        self._part = (j, part)
        return part

    def snapshot(self) -> SignalSnapshot | None:
        """The snapshot for the bars fed so far; ``None`` before the first fast bar."""
        i = self._fast.count - 1
        if i < 0:
            return None
        j = self._signal.count - 1
        if self._snapshot is not None and self._snap_key == (i, j):
            return self._snapshot
        bar = self._fast_bars[int(self._fast.planned[i])]  # type: ignore[index]
        part = self._signal_part(j)
        atr_ratio = part[3]
        bb_width = part[9]
        volatility, structure = Volatility.NORMAL, Structure.TREND  # no signal bar yet
        if j >= 0:
            volatility = rs.VOLATILITIES[self._vol[j]]
            structure = rs.STRUCTURES[self._struct[j]]
        close_time = bar.time + self.fast_period
        regime, weights = self._regimes.lookup(
            close_time.hour,
            atr_ratio,
            bb_width,
            volatility,
            structure,
        )
        if self._cache_key != (j, regime):  # the M15 sub-scores, computed ahead
            subs = self._subs
            self._signal_cache = {1: rs.at(subs[1], j), -1: rs.at(subs[-1], j)} if j >= 0 else {}
            self._cache_key = (j, regime)
        f = self._f
        snap = SignalSnapshot(
            self.symbol,
            self.settings,
            bar,
            close_time,
            self.fast_period,
            *part,
            _known(f["vwap"][i]),
            _known(f["vwap_slope"][i]),
            int(f["above"][i]),
            int(f["below"][i]),
            _known(f["atr"][i]),
            self._median_spread(i),
            None,
            regime,
            weights,
            self._signal_cache,
            self,
        )
        if "trail_high" in f:
            tr = f["trail_tr"][i]
            if tr == tr:  # known (not NaN)
                snap.trail = (f["trail_high"][i], f["trail_low"][i], tr)
        self._snapshot = snap
        self._snap_key = (i, j)
        return snap
