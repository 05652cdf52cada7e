"""Incremental indicators: each closed bar costs O(1), never a pass over the history.

Every class keeps only the state its formula needs (a running average, a short ring of
recent values) in ``__slots__`` and plain floats, because a symbol's indicators are
updated once per bar and shared by every trade on that symbol; a replay pushes hundreds
of thousands of bars through them. Values are ``None`` until enough bars were seen.

Conventions (pinned by tests against hand-computed references):

* EMA is seeded with the simple mean of its first ``period`` inputs, then
  ``ema += alpha * (x - ema)`` with ``alpha = 2 / (period + 1)``.
* Wilder RSI/ATR: the first average is the simple mean of the first ``period`` values
  (gains/losses, true ranges), then ``avg = (avg * (period - 1) + x) / period``. The first
  true range (no previous close) is ``high - low``.
* Bollinger uses the population standard deviation of the window.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from datetime import datetime

from .tolerance import TOLERANCE

_RESUM_EVERY = 1024  # re-add rolling sums from scratch this often, so float drift cannot grow
#: a variance this small beside the mean square it was taken from may be rounding error
_CANCELLING = 1e-9


class Ema:
    __slots__ = ("_n", "_sum", "alpha", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self.alpha = 2.0 / (period + 1)
        self.value: float | None = None
        self._n = 0
        self._sum = 0.0

    def update(self, x: float) -> float | None:
        value = self.value
        if value is None:
            self._n += 1
            self._sum += x
            if self._n == self.period:
                self.value = self._sum / self.period
            return self.value
        value += self.alpha * (x - value)
        self.value = value
        return value


class WilderRsi:
    __slots__ = ("_n", "_prev", "avg_gain", "avg_loss", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self._prev: float | None = None
        self._n = 0
        self.avg_gain = 0.0
        self.avg_loss = 0.0
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        prev = self._prev
        self._prev = close
        if prev is None:
            return None
        change = close - prev
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        p = self.period
        if self._n < p:
            self._n += 1
            self.avg_gain += gain / p
            self.avg_loss += loss / p
            if self._n < p:
                return None
        else:
            self.avg_gain = (self.avg_gain * (p - 1) + gain) / p
            self.avg_loss = (self.avg_loss * (p - 1) + loss) / p
        ag, al = self.avg_gain, self.avg_loss
        value = (50.0 if ag == 0.0 else 100.0) if al == 0.0 else 100.0 - 100.0 / (1.0 + ag / al)
        self.value = value
        return value


class WilderAtr:
    __slots__ = ("_n", "_prev_close", "_seed", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self._prev_close: float | None = None
        self._n = 0
        self._seed = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        pc = self._prev_close
        tr = high - low
        if pc is not None:
            up = high - pc if high > pc else pc - high
            down = low - pc if low > pc else pc - low
            if up > tr:
                tr = up
            if down > tr:
                tr = down
        self._prev_close = close
        p = self.period
        value = self.value
        if value is None:
            self._n += 1
            self._seed += tr
            if self._n == p:
                self.value = self._seed / p
            return self.value
        value = (value * (p - 1) + tr) / p
        self.value = value
        return value


class RollingMean:
    """Simple moving average over a fixed window, by a running sum."""

    __slots__ = ("_count", "_sum", "_window", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = period
        self._window: deque[float] = deque(maxlen=period)
        self._sum = 0.0
        self._count = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        w = self._window
        if len(w) == self.period:
            self._sum -= w[0]
        w.append(x)
        self._count += 1
        if self._count % _RESUM_EVERY == 0:
            self._sum = math.fsum(w)
        else:
            self._sum += x
        if len(w) == self.period:
            self.value = self._sum / self.period
        return self.value


class Slope:
    """Relative change of a series over ``bars`` bars: (now - then) / then."""

    __slots__ = ("_ring", "value")

    def __init__(self, bars: int) -> None:
        self._ring: deque[float] = deque(maxlen=bars + 1)
        self.value: float | None = None

    def update(self, x: float | None) -> None:
        if x is None:
            return
        ring = self._ring
        ring.append(x)
        if len(ring) == ring.maxlen:
            self.value = (x - ring[0]) / ring[0]


class Bollinger:
    """Bollinger band width ``(upper - lower) / middle`` over a window (population σ).

    Sums are kept relative to a shift (a recent price) so that a window of prices near
    2,000 with a spread of cents does not lose its variance to cancellation."""

    __slots__ = ("_count", "_s1", "_s2", "_shift", "_window", "k", "period", "width")

    def __init__(self, period: int, k: float) -> None:
        self.period = period
        self.k = k
        self._window: deque[float] = deque(maxlen=period)
        self._shift: float | None = None
        self._s1 = 0.0
        self._s2 = 0.0
        self._count = 0
        self.width: float | None = None

    def update(self, x: float) -> float | None:
        w = self._window
        if self._shift is None:
            self._shift = x
        shift = self._shift
        if len(w) == self.period:
            old = w[0] - shift
            self._s1 -= old
            self._s2 -= old * old
        w.append(x)
        self._count += 1
        if self._count % _RESUM_EVERY == 0:
            self._shift = shift = x
            self._s1 = math.fsum(v - shift for v in w)
            self._s2 = math.fsum((v - shift) ** 2 for v in w)
        else:
            d = x - shift
            self._s1 += d
            self._s2 += d * d
        n = self.period
        if len(w) < n:
            return None
        mean_d = self._s1 / n
        square = self._s2 / n
        var = square - mean_d * mean_d
        if var <= _CANCELLING * square:
            # the two terms nearly cancel (a window about flat, priced away from the
            # shift): what is left may be their rounding, so the window is summed afresh
            # around its own mean, as the replay's numpy pass sums it
            mean = math.fsum(w) / n
            var = math.fsum((v - mean) ** 2 for v in w) / n
        sd = math.sqrt(var) if var > 0.0 else 0.0
        middle = shift + mean_d
        self.width = 2.0 * self.k * sd / middle
        return self.width


class Swings:
    """Confirmed swing points: a bar whose high (low) is strictly above (below) the
    ``side`` bars on each side of it. The newest ``side`` bars can therefore never be
    swings; a swing is confirmed when the ``side``-th bar after it closes."""

    __slots__ = (
        "_highs",
        "_lows",
        "_times",
        "last_high",
        "last_high_time",
        "last_low",
        "last_low_time",
        "side",
    )

    def __init__(self, side: int) -> None:
        self.side = side
        size = 2 * side + 1
        self._highs: deque[float] = deque(maxlen=size)
        self._lows: deque[float] = deque(maxlen=size)
        self._times: deque[datetime] = deque(maxlen=size)
        self.last_high: float | None = None
        self.last_low: float | None = None
        self.last_high_time: datetime | None = None
        self.last_low_time: datetime | None = None

    def update(self, time: datetime, high: float, low: float) -> None:
        hs, ls = self._highs, self._lows
        hs.append(high)
        ls.append(low)
        self._times.append(time)
        if len(hs) < hs.maxlen:  # type: ignore[operator]
            return
        side = self.side
        h = hs[side]
        if all(hs[i] < h for i in range(len(hs)) if i != side):
            self.last_high = h
            self.last_high_time = self._times[side]
        lo = ls[side]
        if all(ls[i] > lo for i in range(len(ls)) if i != side):
            self.last_low = lo
            self.last_low_time = self._times[side]


class SessionVwap:
    """VWAP anchored at 00:00 UTC from typical price × volume, each bar counted once.

    Also tracks how many consecutive closes lie above / below the VWAP and the recent
    VWAP values for the slope; both restart at the anchor so a slope never mixes days. A
    close within :data:`~.tolerance.TOLERANCE` of the VWAP (relative) is on it, neither
    side: a day of flat bars has its VWAP equal to their close but for the rounding of
    (high + low + close) / 3 × volume / volume, which put it a hair above or below and
    counted a side the ladder then acted on (docs/dtms.md §2, §5)."""

    __slots__ = ("_day", "_history", "_pv", "_vol", "above", "below", "slope", "value")

    def __init__(self, slope_bars: int) -> None:
        self._day = -1
        self._pv = 0.0
        self._vol = 0.0
        self._history: deque[float] = deque(maxlen=slope_bars + 1)
        self.value: float | None = None
        self.slope: float | None = None
        self.above = 0
        self.below = 0

    def update(self, day: int, high: float, low: float, close: float, volume: float) -> None:
        """``day``: days since the epoch of the bar's open time (the anchor)."""
        if day != self._day:
            self._day = day
            self._pv = 0.0
            self._vol = 0.0
            self._history.clear()
            self.value = None
            self.slope = None
            self.above = self.below = 0
        if volume > 0.0:
            self._pv += (high + low + close) / 3.0 * volume
            self._vol += volume
        if self._vol <= 0.0:
            return  # no volume yet this session: VWAP undefined (scored as missing)
        vwap = self._pv / self._vol
        self.value = vwap
        hist = self._history
        hist.append(vwap)
        if len(hist) == hist.maxlen:
            self.slope = (vwap - hist[0]) / hist[0]
        band = TOLERANCE * abs(vwap)  # a close on the VWAP but for rounding is on it
        if close > vwap + band:
            self.above += 1
            self.below = 0
        elif close < vwap - band:
            self.below += 1
            self.above = 0
        else:
            self.above = self.below = 0


class RollingMedian:
    """Median of the last ``size`` values (a sorted copy beside the ring; bisect keeps
    each update at O(log n) compares plus a short memmove for a window of ~100)."""

    __slots__ = ("_ring", "_sorted", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring: deque[float] = deque()
        self._sorted: list[float] = []

    def update(self, x: float) -> None:
        ring, srt = self._ring, self._sorted
        if len(ring) == self.size:
            old = ring.popleft()
            del srt[bisect.bisect_left(srt, old)]
        ring.append(x)
        bisect.insort(srt, x)

    @property
    def value(self) -> float | None:
        srt = self._sorted
        n = len(srt)
        if n == 0:
            return None
        mid = n // 2
        return srt[mid] if n % 2 else (srt[mid - 1] + srt[mid]) / 2.0


class ChandelierWindow:
    """The highest high, the lowest low and the mean true range of the last ``period``
    bars: what a Chandelier stop hangs from. Monotonic deques keep the extremes, so a new
    bar costs O(1) amortised; the true ranges are a :class:`RollingMean`."""

    __slots__ = ("_highs", "_lows", "_n", "_prev_close", "period", "tr")

    def __init__(self, period: int) -> None:
        self.period = period
        self._highs: deque[tuple[int, float]] = deque()  # (bar number, high), falling
        self._lows: deque[tuple[int, float]] = deque()  # (bar number, low), rising
        self._n = 0
        self._prev_close: float | None = None
        self.tr = RollingMean(period)

    def update(self, high: float, low: float, close: float) -> None:
        n = self._n = self._n + 1
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((n, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((n, low))
        oldest = n - self.period
        if highs[0][0] <= oldest:
            highs.popleft()
        if lows[0][0] <= oldest:
            lows.popleft()
        prev = self._prev_close
        self._prev_close = close
        if prev is not None:
            self.tr.update(max(high, prev) - min(low, prev))

    @property
    def value(self) -> tuple[float, float, float] | None:
        """``(highest high, lowest low, mean true range)`` once the window is full."""
        atr = self.tr.value
        if atr is None or self._n < self.period:
            return None
        return self._highs[0][1], self._lows[0][1], atr
