"""The feature columns a replay reads, computed ahead in chunks (:mod:`.replay`).

A column is a list of plain floats (NaN: not yet known), one per planned bar (the bars
counted as fed, then every later bar). :func:`extend_signal` and :func:`extend_fast`
fill positions ``[lo, hi)`` and keep those before ``lo``: the recursive filters go on
from their values at ``lo − 1`` and the windows read the bars just before ``lo``, so a
chunk costs its own length, and a quiet spell that skips bars recomputes only from the
bar where it skipped, never the whole series again. Before ``restart_*`` bars (seeds
and windows not yet full) a chunk is computed from the first bar instead, which is
cheap there and needs no state.
"""

from __future__ import annotations

import numpy as np

from ..settings import DtmsSettings, Indicators
from . import vectorised as vz

Columns = dict[str, list[float]]
Arrays = dict[str, np.ndarray]

_SIGNAL = (
    "close",
    "atr",
    "ratio",
    "rsi",
    "avg_gain",
    "avg_loss",
    "macd_fast",
    "macd_slow",
    "macd_signal",
    "hist",
    "ema_fast",
    "ema_slow",
    "ema_fast_slope",
    "ema_slow_slope",
    "bb",
    "swing_high",
    "swing_low",
)


def restart_signal(ic: Indicators) -> int:
    """From this planned position on, every signal column is known at the position
    before (or stays unknown for good, as a swing on flat bars), so a chunk can go on."""
    return (
        ic.atr_period
        + ic.atr_baseline
        + ic.rsi_period
        + ic.macd_slow
        + ic.macd_signal
        + ic.ema_slow
        + ic.ema_slope_bars
        + ic.bollinger_period
        + 2 * ic.swing_side_bars
        + 2
    )


def restart_fast(s: DtmsSettings) -> int:
    return s.indicators.atr_period + s.trail.period + 2


def _put(out: Columns, lo: int, **arrays: np.ndarray) -> None:
    for name, values in arrays.items():
        column = out.setdefault(name, [])
        del column[lo:]
        column.extend(values.tolist())


def extend_signal(
    cols: Arrays, idx: np.ndarray, lo: int, hi: int, out: Columns, ic: Indicators
) -> int:
    """Fill the signal columns for planned positions ``[lo, hi)`` of the series bars
    ``idx``; returns the position they now start from (``lo``, or 0 for a restart)."""
    if lo < restart_signal(ic):
        lo = 0
    if lo == 0:
        out.clear()
        _signal_from_start(cols, idx[:hi], out, ic)
        return 0
    for name in _SIGNAL:
        del out[name][lo:]
    back = idx[lo - 1 : hi]  # from the bar before: its close starts the true range
    c = cols["close"][idx[lo:hi]]
    prev_c = cols["close"][back[0]]
    tr = vz.true_range(cols["high"][back], cols["low"][back], cols["close"][back])[1:]
    atr = vz.wilder(tr, ic.atr_period, out["atr"][lo - 1])
    b = ic.atr_baseline
    base = vz.rolling_mean(np.r_[out["atr"][lo - b + 1 : lo], atr], b)[b - 1 :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(base != 0.0, atr / base, np.nan)
    state = (out["avg_gain"][lo - 1], out["avg_loss"][lo - 1])
    rsi, ag, al = (a[1:] for a in vz.rsi(np.r_[prev_c, c], ic.rsi_period, state))
    mf = vz.ema(c, ic.macd_fast, out["macd_fast"][lo - 1])
    ms = vz.ema(c, ic.macd_slow, out["macd_slow"][lo - 1])
    sig = vz.ema(mf - ms, ic.macd_signal, out["macd_signal"][lo - 1])
    ef = vz.ema(c, ic.ema_fast, out["ema_fast"][lo - 1])
    es = vz.ema(c, ic.ema_slow, out["ema_slow"][lo - 1])
    k = ic.ema_slope_bars
    p = ic.bollinger_period
    side = 2 * ic.swing_side_bars
    back = idx[lo - side : hi]
    sh, sl, hi_at, lo_at = vz.swings(cols["high"][back], cols["low"][back], ic.swing_side_bars)
    _put(
        out,
        lo,
        close=c,
        atr=atr,
        ratio=ratio,
        rsi=rsi,
        avg_gain=ag,
        avg_loss=al,
        macd_fast=mf,
        macd_slow=ms,
        macd_signal=sig,
        hist=mf - ms - sig,
        ema_fast=ef,
        ema_slow=es,
        ema_fast_slope=vz.slope(np.r_[out["ema_fast"][lo - k : lo], ef], k)[k:],
        ema_slow_slope=vz.slope(np.r_[out["ema_slow"][lo - k : lo], es], k)[k:],
        bb=vz.bollinger_width(cols["close"][idx[lo - p + 1 : hi]], p, ic.bollinger_k)[p - 1 :],
        swing_high=np.where(hi_at[side:] >= 0, sh[side:], out["swing_high"][lo - 1]),
        swing_low=np.where(lo_at[side:] >= 0, sl[side:], out["swing_low"][lo - 1]),
    )
    return lo


def _signal_from_start(cols: Arrays, idx: np.ndarray, out: Columns, ic: Indicators) -> None:
    h, low, c = cols["high"][idx], cols["low"][idx], cols["close"][idx]
    atr = vz.atr(h, low, c, ic.atr_period)
    known = atr[~np.isnan(atr)]
    base = vz.compact_then_spread(atr, vz.rolling_mean(known, ic.atr_baseline))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((base != 0.0) & ~np.isnan(base), atr / base, np.nan)
    rsi, ag, al = vz.rsi(c, ic.rsi_period)
    mf = vz.ema(c, ic.macd_fast)
    ms = vz.ema(c, ic.macd_slow)
    macd = mf - ms
    sig = vz.compact_then_spread(macd, vz.ema(macd[~np.isnan(macd)], ic.macd_signal))
    ef = vz.ema(c, ic.ema_fast)
    es = vz.ema(c, ic.ema_slow)
    sh, sl, _, _ = vz.swings(h, low, ic.swing_side_bars)
    _put(
        out,
        0,
        close=c,
        atr=atr,
        ratio=ratio,
        rsi=rsi,
        avg_gain=ag,
        avg_loss=al,
        macd_fast=mf,
        macd_slow=ms,
        macd_signal=sig,
        hist=macd - sig,
        ema_fast=ef,
        ema_slow=es,
        ema_fast_slope=vz.slope(ef, ic.ema_slope_bars),
        ema_slow_slope=vz.slope(es, ic.ema_slope_bars),
        bb=vz.bollinger_width(c, ic.bollinger_period, ic.bollinger_k),
        swing_high=sh,
        swing_low=sl,
    )


def extend_fast(
    cols: Arrays, idx: np.ndarray, lo: int, hi: int, out: Columns, s: DtmsSettings
) -> int:
    """Fill the fast columns (session VWAP, ATR, the trailing stop's window) for planned
    positions ``[lo, hi)``; returns the position they now start from. The VWAP restarts
    with each session, so it is computed from the start of the session holding ``lo``."""
    if lo < restart_fast(s):
        lo = 0
    anchor = cols["anchor"]
    if lo == 0:
        out.clear()
        start = 0
    else:
        earlier = np.flatnonzero(anchor[idx[:lo]] != anchor[idx[lo]])
        start = int(earlier[-1]) + 1 if len(earlier) else 0
    span = idx[start:hi]
    h, low, c, v = (cols[k][span] for k in ("high", "low", "close", "volume"))
    vw = vz.session_vwap(anchor[span], h, low, c, v, s.indicators.vwap_slope_bars)
    skip = lo - start
    columns = {
        "vwap": vw.value[skip:],
        "vwap_slope": vw.slope[skip:],
        "above": vw.above[skip:].astype(float),
        "below": vw.below[skip:].astype(float),
    }
    if lo == 0:
        columns["atr"] = vz.atr(h, low, c, s.indicators.atr_period)
    else:
        back = idx[lo - 1 : hi]
        tr = vz.true_range(cols["high"][back], cols["low"][back], cols["close"][back])[1:]
        columns["atr"] = vz.wilder(tr, s.indicators.atr_period, out["atr"][lo - 1])
    if s.trail.enabled:
        p = s.trail.period
        back = idx[max(0, lo - p) : hi]
        hh, ll, mtr = vz.chandelier(cols["high"][back], cols["low"][back], cols["close"][back], p)
        cut = min(lo, p)
        columns.update(trail_high=hh[cut:], trail_low=ll[cut:], trail_tr=mtr[cut:])
    _put(out, lo, **columns)
    return lo
