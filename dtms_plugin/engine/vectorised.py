"""The indicators of :mod:`.indicators` over a whole bar series at once, with numpy.

A replay knows every bar in advance, so instead of pushing bars one at a time through
the incremental classes it computes each indicator as an array over the series (the
replay part of docs/architecture.md). The conventions are the incremental ones exactly
(seeds, Wilder smoothing, population σ, swings strictly beyond their neighbours,
session-anchored VWAP); a property test holds the two to 1e-9 on random series.

Arrays use NaN for "not yet known" (the incremental ``None``). Windows (means, σ,
extremes, medians, swings) and the session VWAP are numpy; the recursive filters (EMA,
Wilder, RSI) one tight float loop each, for the reason :func:`smooth` gives, and each can
go on from a given state, so a replay can compute ahead in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .tolerance import TOLERANCE

Array = np.ndarray
NAN = float("nan")


def smooth(x: Array, period: int, *, wilder: bool, last: float | None = None) -> Array:
    """An EMA (``value += α·(x − value)``, ``α = 2 / (period + 1)``) or, with ``wilder``,
    Wilder's average (``value = (value·(period − 1) + x) / period``), seeded with the mean
    of the first ``period`` inputs (NaN before). ``last``: the value before ``x[0]``, to
    go on from there (a replay computes ahead in chunks) instead of seeding.

    A recursive filter has no exact vectorised form: a blocked matrix solution differs
    from the live update in the last bits, and the score tests slopes against zero,
    where a flat stretch must stay exactly flat. So the recursion runs as one tight
    loop over plain floats with the live path's own arithmetic."""
    xs = x.tolist()
    n = len(xs)
    out = [NAN] * n
    begin = 0
    if last is None:
        if n < period:
            return np.array(out)
        total = 0.0
        for v in xs[:period]:
            total += v
        last = total / period
        out[period - 1] = last
        begin = period
    value = last
    if wilder:
        p1 = period - 1
        for i in range(begin, n):
            value = (value * p1 + xs[i]) / period
            out[i] = value
    else:
        alpha = 2.0 / (period + 1)
        for i in range(begin, n):
            value += alpha * (xs[i] - value)
            out[i] = value
    return np.array(out)


def ema(x: Array, period: int, last: float | None = None) -> Array:
    return smooth(x, period, wilder=False, last=last)


def wilder(x: Array, period: int, last: float | None = None) -> Array:
    return smooth(x, period, wilder=True, last=last)


def true_range(h: Array, lo: Array, c: Array) -> Array:
    """``high − low`` for the first bar, then the larger of that and the gaps from the
    previous close."""
    tr = h - lo
    if len(c) > 1:
        pc = c[:-1]
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(h[1:] - pc), np.abs(lo[1:] - pc)))
    return tr


def atr(h: Array, lo: Array, c: Array, period: int) -> Array:
    return wilder(true_range(h, lo, c), period)


def rsi(
    c: Array, period: int, state: tuple[float, float] | None = None
) -> tuple[Array, Array, Array]:
    """Wilder RSI, with its average gain and loss, each aligned with ``c`` (NaN where
    unknown); 50 when there was neither gain nor loss, 100 with gains only. ``state``:
    the averages after ``c[0]``, to go on from there instead of seeding. The gains and
    losses are numpy; their smoothing one float loop (see :func:`smooth`)."""
    n = len(c)
    out = [NAN] * n
    ags = [NAN] * n
    als = [NAN] * n
    if n > 1 and (state is not None or n > period):
        change = np.diff(c)
        gains = np.where(change > 0.0, change, 0.0).tolist()
        losses = np.where(change < 0.0, -change, 0.0).tolist()
        p1 = period - 1
        begin = 0
        if state is None:
            ag = al = 0.0
            for i in range(period):
                ag += gains[i] / period
                al += losses[i] / period
            begin = period
            ags[period], als[period] = ag, al
            out[period] = _rsi_value(ag, al)
        else:
            ag, al = state
        for i in range(begin, n - 1):
            ag = (ag * p1 + gains[i]) / period
            al = (al * p1 + losses[i]) / period
            ags[i + 1], als[i + 1] = ag, al
            out[i + 1] = _rsi_value(ag, al)
    return np.array(out), np.array(ags), np.array(als)


def _rsi_value(ag: float, al: float) -> float:
    """The live path's formula (``WilderRsi``) on the two averages."""
    return (50.0 if ag == 0.0 else 100.0) if al == 0.0 else 100.0 - 100.0 / (1.0 + ag / al)


def rolling_mean(x: Array, period: int) -> Array:
    """Mean of the last ``period`` values (NaN until the window is full)."""
    out = np.full(len(x), NAN)
    if len(x) >= period:
        out[period - 1 :] = sliding_window_view(x, period).mean(axis=1)
    return out


def compact_then_spread(x: Array, fn_of_known: Array) -> Array:
    """Place ``fn_of_known`` (computed over the non-NaN values of ``x``) back at their
    positions."""
    out = np.full(len(x), NAN)
    out[~np.isnan(x)] = fn_of_known
    return out


def slope(x: Array, bars: int) -> Array:
    """``(x[t] − x[t−bars]) / x[t−bars]`` over the known values of ``x``, held forward
    (the incremental :class:`Slope` keeps its last value while ``x`` is unknown)."""
    known = x[~np.isnan(x)]
    s = np.full(len(known), NAN)
    if len(known) > bars:
        s[bars:] = (known[bars:] - known[:-bars]) / known[:-bars]
    return forward_fill(compact_then_spread(x, s))


def forward_fill(x: Array) -> Array:
    """Each NaN takes the last known value before it (stays NaN before the first)."""
    idx = np.where(~np.isnan(x), np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, x[np.maximum(idx, 0)], NAN)
    return out


def bollinger_width(c: Array, period: int, k: float) -> Array:
    """``2·k·σ / mean`` over the window (population σ)."""
    out = np.full(len(c), NAN)
    if len(c) >= period:
        w = sliding_window_view(c, period)
        out[period - 1 :] = 2.0 * k * w.std(axis=1) / w.mean(axis=1)
    return out


def swings(h: Array, lo: Array, side: int) -> tuple[Array, Array, Array, Array]:
    """The last confirmed swing high and low after each bar, and the index of the bar
    that made it (−1 before the first): a bar strictly beyond the ``side`` bars on each
    side, confirmed when the ``side``-th bar after it closes."""
    n = len(h)
    size = 2 * side + 1
    hi_at = np.full(n, -1)
    lo_at = np.full(n, -1)
    if n >= size:
        wh = sliding_window_view(h, size)
        wl = sliding_window_view(lo, size)
        others = np.r_[0:side, side + 1 : size]
        centre = np.arange(n - size + 1) + side
        is_hi = (wh[:, others] < wh[:, side : side + 1]).all(axis=1)
        is_lo = (wl[:, others] > wl[:, side : side + 1]).all(axis=1)
        hi_at[size - 1 :] = np.where(is_hi, centre, -1)
        lo_at[size - 1 :] = np.where(is_lo, centre, -1)
    np.maximum.accumulate(hi_at, out=hi_at)
    np.maximum.accumulate(lo_at, out=lo_at)
    sh = np.where(hi_at >= 0, h[np.maximum(hi_at, 0)], NAN)
    sl = np.where(lo_at >= 0, lo[np.maximum(lo_at, 0)], NAN)
    return sh, sl, hi_at, lo_at


@dataclass(frozen=True)
class Vwap:
    value: Array
    slope: Array
    above: Array
    below: Array


def session_vwap(anchor: Array, h: Array, lo: Array, c: Array, v: Array, slope_bars: int) -> Vwap:
    """VWAP from typical price × volume, restarting at each new ``anchor`` value; its
    slope over ``slope_bars`` known values and the closes in a row above / below it,
    all restarting with the session."""
    n = len(c)
    value = np.full(n, NAN)
    slope_ = np.full(n, NAN)
    above = np.zeros(n, dtype=np.int64)
    below = np.zeros(n, dtype=np.int64)
    if n == 0:
        return Vwap(value, slope_, above, below)
    vol = np.where(v > 0.0, v, 0.0)
    pv = (h + lo + c) / 3.0 * vol
    starts = np.flatnonzero(np.r_[True, anchor[1:] != anchor[:-1]])
    ends = np.r_[starts[1:], n]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        cv = np.cumsum(vol[s:e])
        cpv = np.cumsum(pv[s:e])
        ok = cv > 0.0
        if not ok.any():
            continue
        first = int(np.argmax(ok))
        vw = cpv[first:] / cv[first:]
        value[s + first : e] = vw
        if len(vw) > slope_bars:
            slope_[s + first + slope_bars : e] = (vw[slope_bars:] - vw[:-slope_bars]) / vw[
                :-slope_bars
            ]
        cc = c[s + first : e]
        band = TOLERANCE * np.abs(vw)  # on the VWAP but for rounding: neither side
        above[s + first : e] = _run_length(cc > vw + band)
        below[s + first : e] = _run_length(cc < vw - band)
    return Vwap(value, slope_, above, below)


def _run_length(flag: Array) -> Array:
    """How many ``True`` in a row end at each position (0 where ``False``)."""
    idx = np.arange(len(flag))
    last_false = np.where(~flag, idx, -1)
    np.maximum.accumulate(last_false, out=last_false)
    return np.where(flag, idx - last_false, 0)


def chandelier(h: Array, lo: Array, c: Array, period: int) -> tuple[Array, Array, Array]:
    """Highest high, lowest low and mean true range (from the second bar on, as
    ``max(high, prev close) − min(low, prev close)``) of the last ``period`` bars; NaN
    until both windows are full."""
    n = len(c)
    hh = np.full(n, NAN)
    ll = np.full(n, NAN)
    mtr = np.full(n, NAN)
    if n > period:
        tr = np.maximum(h[1:], c[:-1]) - np.minimum(lo[1:], c[:-1])
        mtr[period:] = sliding_window_view(tr, period).mean(axis=1)
        hh[period:] = sliding_window_view(h, period).max(axis=1)[1:]
        ll[period:] = sliding_window_view(lo, period).min(axis=1)[1:]
    return hh, ll, mtr
