"""The indicators of docs/dtms.md §2 against plain recomputations on long, rough series
(gaps, ties, flat stretches), and at the edges a hand-made series reaches: a gap beyond the
previous close, equal lows, a close exactly at the VWAP, a bar without volume."""

from __future__ import annotations

import itertools
import math
import random
from datetime import timedelta

import pytest
from support.dtms_kit import T0

from dtms_plugin.engine.indicators import (
    Bollinger,
    RollingMedian,
    SessionVwap,
    Slope,
    Swings,
    WilderAtr,
    WilderRsi,
)


def rough(n: int, seed: int) -> list[tuple[float, float, float]]:
    """(high, low, close) bars with gaps both ways, ties and flat runs, prices on a grid."""
    rnd = random.Random(seed)
    out: list[tuple[float, float, float]] = []
    close = 100.0
    for _ in range(n):
        gap = rnd.choice([0.0, 0.0, 0.0, 3.0, -3.0])  # opens beyond the last close at times
        o = round(close + gap, 1)
        c = round(o + rnd.choice([-1.0, -0.5, 0.0, 0.0, 0.5, 1.0]), 1)
        h = round(max(o, c) + rnd.choice([0.0, 0.2, 0.5]), 1)
        lo = round(min(o, c) - rnd.choice([0.0, 0.2, 0.5]), 1)
        out.append((h, lo, c))
        close = c
    return out


def wilder_rsi(closes: list[float], p: int) -> list[float | None]:
    out: list[float | None] = [None]
    gains = [max(b - a, 0.0) for a, b in itertools.pairwise(closes)]
    losses = [max(a - b, 0.0) for a, b in itertools.pairwise(closes)]
    ag = al = 0.0
    for i in range(len(gains)):
        if i < p:
            ag += gains[i] / p
            al += losses[i] / p
            if i < p - 1:
                out.append(None)
                continue
        else:
            ag = (ag * (p - 1) + gains[i]) / p
            al = (al * (p - 1) + losses[i]) / p
        out.append((50.0 if ag == 0 else 100.0) if al == 0 else 100 - 100 / (1 + ag / al))
    return out


def test_rsi_matches_wilder_on_a_rough_series() -> None:
    closes = [c for _, _, c in rough(600, 1)]
    rsi = WilderRsi(14)
    got = [rsi.update(c) for c in closes]
    ref = wilder_rsi(closes, 14)
    assert [g is None for g in got] == [r is None for r in ref]
    assert [g for g in got if g is not None] == pytest.approx(
        [r for r in ref if r is not None], rel=1e-9
    )


def test_rsi_of_a_flat_market_is_fifty_and_of_a_rising_one_a_hundred() -> None:
    flat = WilderRsi(3)
    for _ in range(10):
        flat.update(5.0)
    assert flat.value == 50.0 and flat.avg_loss == 0.0 and flat.avg_gain == 0.0
    rising = WilderRsi(3)
    for i in range(10):
        rising.update(float(i))
    assert rising.value == 100.0 and rising.avg_gain == pytest.approx(1.0)


def test_atr_takes_the_gap_beyond_the_previous_close() -> None:
    atr = WilderAtr(1)
    atr.update(10.0, 9.0, 9.5)
    assert atr.update(8.0, 7.5, 7.8) == pytest.approx(2.0)  # gap down: 9.5 - 7.5
    assert atr.update(12.0, 11.0, 11.5) == pytest.approx(4.2)  # gap up: 12 - 7.8
    assert atr.update(7.9, 7.0, 7.2) == pytest.approx(4.5)  # a high below the last close


def test_atr_matches_wilder_on_a_rough_series() -> None:
    data = rough(500, 2)
    atr = WilderAtr(14)
    got = [atr.update(h, lo, c) for h, lo, c in data]
    trs = [data[0][0] - data[0][1]]
    for (_, _, pc), (h, lo, _) in itertools.pairwise(data):
        trs.append(max(h - lo, abs(h - pc), abs(lo - pc)))
    ref: list[float | None] = [None] * 13 + [sum(trs[:14]) / 14]
    for tr in trs[14:]:
        prev = ref[-1]
        assert prev is not None
        ref.append((prev * 13 + tr) / 14)
    assert [g is None for g in got] == [r is None for r in ref]
    assert [g for g in got if g is not None] == pytest.approx(
        [r for r in ref if r is not None], rel=1e-9
    )


def test_slope_is_the_relative_change_over_exactly_n_bars() -> None:
    s = Slope(3)
    xs = [100.0, 101.0, 103.0, 106.0, 110.0]
    seen = []
    for x in xs:
        s.update(x)
        seen.append(s.value)
    assert seen[:3] == [None, None, None]  # three changes need four values
    assert seen[3] == pytest.approx((106.0 - 100.0) / 100.0)
    assert seen[4] == pytest.approx((110.0 - 101.0) / 101.0)
    s.update(None)  # a missing input changes nothing
    assert s.value == pytest.approx((110.0 - 101.0) / 101.0)


def test_bollinger_width_matches_a_recompute_over_thousands_of_bars() -> None:
    closes = [2000.0 + c for _, _, c in rough(2600, 3)]  # past two periodic re-summings
    b = Bollinger(20, 2.0)
    for i, c in enumerate(closes):
        got = b.update(c)
        if i < 19:
            assert got is None
            continue
        w = closes[i - 19 : i + 1]
        mean = sum(w) / 20
        sd = math.sqrt(max(sum((x - mean) ** 2 for x in w) / 20, 0.0))
        assert got == pytest.approx(2 * 2.0 * sd / mean, rel=1e-6, abs=1e-12)
        assert b.width == got


def test_bollinger_of_a_flat_window_is_zero() -> None:
    b = Bollinger(5, 2.0)
    for _ in range(8):
        b.update(1.5)
    assert b.width == 0.0


@pytest.mark.parametrize("level", [2013.37, 2000.1, 1999.99])
def test_a_flat_window_away_from_the_shift_is_zero_not_rounding(level: float) -> None:
    """Prices that moved off the first one (the sums' shift) and then stood still: the
    running sums cancel to a rounding error, whose square root was a width of 3e-10
    where a fresh sum (the replay's numpy pass) gives 0 (the property test's 1e-9 apart,
    as hypothesis found on a flat series)."""
    b = Bollinger(20, 2.0)
    b.update(2000.0)
    for i in range(30):
        b.update(2000.0 + (i % 7 - 3) * 0.9)
    for _ in range(25):
        b.update(level)
    assert b.width is not None and b.width < 1e-14  # the mean's own rounding at most
    b.update(level + 0.01)  # a real spread, however small, is still a width
    assert b.width is not None and b.width > 0.0


def test_a_small_true_spread_away_from_the_shift_is_summed_afresh_exactly() -> None:
    """A window quiet to 1e-5 around 2013.37, 13 away from the shift: its variance is a
    few 1e-13 of the mean square, so it is summed afresh, and that sum is the width."""
    b = Bollinger(20, 2.0)
    b.update(2000.0)
    closes = [2013.37 + (i % 5 - 2) * 1e-5 for i in range(40)]
    for c in closes:
        b.update(c)
    w = closes[-20:]
    mean = math.fsum(w) / 20
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in w) / 20)
    assert sd > 0.0 and b.width == pytest.approx(4 * sd / mean, rel=1e-6)


def test_equal_lows_are_not_a_swing_low() -> None:
    s = Swings(2)
    for i, (h, lo) in enumerate([(5, 3), (5, 2), (6, 2), (5, 3), (5, 4)]):
        s.update(T0 + timedelta(minutes=5 * i), float(h), float(lo))
    assert s.last_low is None  # 2 ties with its neighbour: not strictly the lowest
    assert s.last_high == 6.0


def test_vwap_counts_closes_above_below_and_at_it() -> None:
    v = SessionVwap(3)
    v.update(1, 10.0, 10.0, 10.0, 0.0)  # no volume yet: undefined, no division by zero
    assert v.value is None and (v.above, v.below) == (0, 0)
    v.update(1, 12.0, 9.0, 12.0, 1.0)  # typical 11, close 12: above
    assert (v.above, v.below) == (1, 0)
    v.update(1, 11.0, 8.0, 8.0, 1.0)  # vwap (11 + 9) / 2 = 10, close 8: below
    assert (v.above, v.below) == (0, 1)
    v.update(1, 9.0, 6.0, 6.0, 2.0)  # vwap (20 + 14) / 4 = 8.5: below again
    assert (v.above, v.below) == (0, 2)
    at = v.value
    assert at is not None
    v.update(1, at, at, at, 0.0)  # a close exactly at the VWAP: neither side
    assert (v.above, v.below) == (0, 0)
    v.update(2, 5.0, 3.0, 5.0, 1.0)  # a new anchor: counts restart, close above
    assert v.value == pytest.approx(13.0 / 3.0) and (v.above, v.below) == (1, 0)


def test_median_of_one_value_and_of_an_even_window() -> None:
    m = RollingMedian(4)
    assert m.value is None
    m.update(3.0)
    assert m.value == 3.0
    for x in (1.0, 7.0, 5.0, 9.0):  # the window is now 1, 7, 5, 9
        m.update(x)
    assert m.value == 6.0


def test_bollinger_width_of_a_quiet_fx_window_is_not_rounded_to_zero() -> None:
    closes = [1.1000, 1.1003, 1.0998, 1.1005, 1.1001, 1.0999]  # variance far below 1
    b = Bollinger(6, 2.0)
    for c in closes:
        b.update(c)
    mean = sum(closes) / 6
    sd = math.sqrt(sum((x - mean) ** 2 for x in closes) / 6)
    assert b.width == pytest.approx(4.0 * sd / mean, rel=1e-6) and b.width > 0.0
