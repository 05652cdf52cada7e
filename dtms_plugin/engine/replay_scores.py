"""The signal-timeframe half of the regime and of the score, for a replay's whole chunk of
signal bars at once (numpy), as :mod:`.regime` and :mod:`.score` define them bar by bar.

Per signal bar: the volatility and structure labels (the session comes from the fast
bar's hour, so the regime itself is looked up per snapshot), and for each trade sign the
three sub-scores that read only signal features (structure, momentum, EMA alignment),
which the snapshot hands to the score ready-made (``SignalSnapshot.signal_cache``). The
arithmetic is the scalar functions' own, operation for operation, so both give the same
floats; ``None`` (a missing input) is NaN here.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..settings import DtmsSettings
from .regime import Structure, Volatility

#: label codes, in the order of these tuples
VOLATILITIES = (Volatility.LOW, Volatility.NORMAL, Volatility.HIGH)
STRUCTURES = (Structure.RANGE, Structure.TREND)

Subscores = tuple[float | None, float | None, float | None]
#: the three sub-scores of every bar, one list each, NaN where unknown: a replay reads a
#: few of them (the bars a trade is open), so each is made a :data:`Subscores` when read
Columns3 = tuple[list[float], list[float], list[float]]


def labels(
    ratio: np.ndarray, bb: np.ndarray, s: DtmsSettings, range_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Volatility codes (unknown ratio: NORMAL) and structure codes (no width: TREND)."""
    rg = s.regime
    with np.errstate(invalid="ignore"):
        vol = np.where(ratio < rg.atr_ratio_low, 0, np.where(ratio > rg.atr_ratio_high, 2, 1))
        struct = np.where(bb < range_width, 0, 1)  # NaN compares False: TREND
    return vol, struct


def subscores(
    close: np.ndarray,
    swing_high: np.ndarray,
    swing_low: np.ndarray,
    rsi: np.ndarray,
    rsi_prev: np.ndarray,
    hist_windows: np.ndarray | None,
    carried: np.ndarray,
    fast_slope: np.ndarray,
    slow_slope: np.ndarray,
    vol: np.ndarray,
    sign: int,
    s: DtmsSettings,
) -> Columns3:
    """(structure, momentum, EMA alignment) per signal bar for a trade of ``sign``, as
    three columns (:func:`at` reads one bar's). ``hist_windows``: the last
    ``macd_trend_bars`` histogram values per bar, ``None`` when fewer than two are kept;
    ``carried``: where the snapshot carries any."""
    with np.errstate(invalid="ignore"):
        st = _structure(close, swing_high, swing_low, sign)
        mo = _momentum(rsi, rsi_prev, hist_windows, carried, vol, sign, s)
        ema = _ema_alignment(fast_slope, slow_slope, sign)
    return st.tolist(), mo.tolist(), ema.tolist()


def at(columns: Columns3, j: int) -> Subscores:
    """Bar ``j``'s sub-scores, ``None`` where unknown (as the scalar functions say)."""
    a, b, c = columns[0][j], columns[1][j], columns[2][j]
    return (None if a != a else a, None if b != b else b, None if c != c else c)


def _structure(c: np.ndarray, sh: np.ndarray, sl: np.ndarray, sign: int) -> np.ndarray:
    against, favour = (sl, sh) if sign > 0 else (sh, sl)
    out = np.where(sign * (c - favour) > 0.0, 1.0, 0.0)
    out = np.where(sign * (c - against) < 0.0, -1.0, out)
    return np.where(np.isnan(c) | (np.isnan(sh) & np.isnan(sl)), np.nan, out)


def _momentum(
    rsi: np.ndarray,
    prev: np.ndarray,
    windows: np.ndarray | None,
    carried: np.ndarray,
    vol: np.ndarray,
    sign: int,
    s: DtmsSettings,
) -> np.ndarray:
    rg = s.regime
    threshold = np.where(vol == 0, rg.rsi_threshold_low_vol, rg.rsi_threshold)
    r, p = (rsi, prev) if sign > 0 else (100.0 - rsi, 100.0 - prev)
    up = np.where((r > 50.0) & (r > p), 0.0 + 0.6, 0.0)
    score = np.where((r < threshold) & (r < p), 0.0 - 0.6, up)
    if windows is not None:
        falling = (windows[:, :-1] > windows[:, 1:]).all(axis=1) & carried
        rising = (windows[:, :-1] < windows[:, 1:]).all(axis=1) & carried
        score = np.where(falling, score - 0.4 * sign, np.where(rising, score + 0.4 * sign, score))
    score = np.clip(score, -1.0, 1.0)
    return np.where(np.isnan(rsi) & ~carried, np.nan, score)


def _ema_alignment(f: np.ndarray, sl: np.ndarray, sign: int) -> np.ndarray:
    fs, ss = sign * f, sign * sl
    out = np.where((ss < 0.0) & (fs > 0.0), 0.25, 0.0)
    out = np.where(fs < 0.0, -0.5, out)
    out = np.where((fs < 0.0) & (ss < 0.0), -1.0, out)
    out = np.where((fs > 0.0) & (ss > 0.0), 1.0, out)
    return np.where(np.isnan(f) | np.isnan(sl), np.nan, out)


def carried(lo: int, hi: int, first: int, need: int) -> np.ndarray:
    """Which signal bars of ``[lo, hi)`` carry histogram values in their snapshot: those
    with ``need`` defined ones (the first defined at ``first``)."""
    positions = np.arange(lo, hi)
    return (positions >= first) & (positions - first + 1 >= need)


def hist_windows(hist: list[float], lo: int, hi: int, need: int) -> np.ndarray | None:
    """The last ``need`` histogram values at each signal bar of ``[lo, hi)`` (meaningful
    where :func:`carried`); ``None`` when ``need`` < 2 (no trend to read)."""
    if need < 2:
        return None
    if hi <= lo:
        return np.empty((0, need))
    start = max(0, lo - need + 1)
    values = np.asarray(hist[start:hi], dtype=float)
    pad = need - 1 - (lo - start)
    if pad > 0:
        values = np.r_[np.full(pad, np.nan), values]
    return sliding_window_view(values, need)
