"""The synthetic generator: deterministic, realistic ranges, and it has phases."""

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from hookspecs import Bar
from hostapp.market.synthetic import SYMBOL_PROFILES, generate_bars
from hostapp.market.timeframes import timeframe_seconds

T0 = datetime(2024, 1, 1, tzinfo=UTC)
M5 = timedelta(minutes=5)


def test_timeframe_lengths_and_errors() -> None:
    assert timeframe_seconds("H4") == 14400
    assert timeframe_seconds("w1") == 7 * 86400
    with pytest.raises(ValueError, match="'H7'"):
        timeframe_seconds("H7")


def test_pinned_first_bars_for_seed_zero() -> None:
    bars = generate_bars("XAUUSD", T0, 2, seed=0)
    assert bars[0] == Bar(T0, 2150.0, 2150.4, 2147.93, 2148.06, 1914.0, 0.25)
    assert bars[1].time == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    assert bars[1].open == 2148.06  # no gap outside a shock
    assert (bars[1].high, bars[1].low, bars[1].close) == (2149.68, 2147.82, 2149.66)


def test_same_seed_same_bars_other_seed_other_bars() -> None:
    a = generate_bars("EURUSD", T0, 500, seed=11)
    assert a == generate_bars("EURUSD", T0, 500, seed=11)
    assert a != generate_bars("EURUSD", T0, 500, seed=12)
    # symbols are independent streams: the same seed does not give the same shape
    x = generate_bars("XAUUSD", T0, 50, seed=11)
    g = generate_bars("GBPUSD", T0, 50, seed=11)
    assert [b.close > b.open for b in x] != [b.close > b.open for b in g]


def test_start_is_rounded_up_to_the_timeframe() -> None:
    bars = generate_bars("EURUSD", datetime(2024, 1, 1, 0, 2, tzinfo=UTC), 2, seed=7)
    assert [b.time.minute for b in bars] == [5, 10]
    h1 = generate_bars("EURUSD", datetime(2024, 1, 1, 0, 2, tzinfo=UTC), 2, timeframe="H1")
    assert [b.time.hour for b in h1] == [1, 2]


@pytest.mark.parametrize(
    ("symbol", "lo", "hi", "median_range", "spread"),
    [
        ("XAUUSD", 1900.0, 2500.0, (1.0, 5.0), (0.15, 0.5)),
        ("EURUSD", 1.03, 1.14, (0.0002, 0.001), (0.00005, 0.0002)),
    ],
)
def test_prices_ranges_and_spreads_are_realistic(
    symbol: str,
    lo: float,
    hi: float,
    median_range: tuple[float, float],
    spread: tuple[float, float],
) -> None:
    bars = generate_bars(symbol, T0, 20_000, seed=3)
    assert len(bars) == 20_000
    assert lo < min(b.low for b in bars) and max(b.high for b in bars) < hi
    med = statistics.median(b.high - b.low for b in bars)
    assert median_range[0] < med < median_range[1]
    med_spread = statistics.median(b.spread for b in bars)
    assert spread[0] < med_spread < spread[1]
    assert all(b.volume >= 1 for b in bars)
    # back to back, but for the weekend: Friday 21:55 to Sunday 22:00
    gaps = Counter(later.time - earlier.time for earlier, later in pairwise(bars))
    assert set(gaps) == {timedelta(minutes=5), timedelta(days=2, minutes=5)}
    weeks = (bars[-1].time - bars[0].time) // timedelta(days=7)
    assert gaps[timedelta(days=2, minutes=5)] in (weeks, weeks + 1)


def test_has_trend_range_and_shock_phases() -> None:
    bars = generate_bars("XAUUSD", T0, 20_000, seed=5)
    med = statistics.median(b.high - b.low for b in bars)
    # shocks: gaps at the open and bars several times the usual range
    gaps = [b for a, b in pairwise(bars) if b.open != a.close and b.time - a.time == M5]
    assert len(gaps) >= 3
    assert max(b.high - b.low for b in bars) > 6 * med
    # trends: some 200-bar window moves more than 30 typical ranges net
    moves = [abs(bars[i + 200].close - bars[i].open) for i in range(0, len(bars) - 200, 50)]
    assert max(moves) > 30 * med
    # ranges: some 200-bar window ends within 2 typical ranges of where it started
    assert min(moves) < 2 * med
    # shocks also widen the spread
    assert max(b.spread for b in bars) > 2.5 * statistics.median(b.spread for b in bars)


def test_higher_timeframe_moves_more_per_bar() -> None:
    m5 = generate_bars("EURUSD", T0, 3000, seed=1)
    h1 = generate_bars("EURUSD", T0, 3000, timeframe="H1", seed=1)
    assert h1[1].time - h1[0].time == (h1[2].time - h1[1].time)
    assert (h1[1].time - h1[0].time).total_seconds() == 3600
    ratio = statistics.median(b.high - b.low for b in h1) / statistics.median(
        b.high - b.low for b in m5
    )
    assert 2.0 < ratio < 5.0  # sqrt(12) ≈ 3.5


def test_skip_weekends_leaves_out_friday_night_to_sunday_night() -> None:
    friday = datetime(2024, 1, 5, 21, 0, tzinfo=UTC)
    bars = generate_bars("EURUSD", friday, 30, seed=2, timeframe="H1", skip_weekends=True)
    times = [b.time for b in bars]
    assert times[0] == datetime(2024, 1, 5, 21, 0, tzinfo=UTC)  # a Friday
    assert times[1] == datetime(2024, 1, 7, 22, 0, tzinfo=UTC)  # Sunday 22:00
    assert all(t.weekday() != 5 for t in times)


def test_unknown_symbol_uses_the_generic_profile_and_bad_input_is_refused() -> None:
    assert {"XAUUSD", "EURUSD"} <= set(SYMBOL_PROFILES)
    bars = generate_bars("FOOBAR", T0, 1000, seed=0)
    assert min(b.low for b in bars) > 70 and max(b.high for b in bars) < 130
    assert generate_bars("XAUUSD", T0, 0) == []
    with pytest.raises(ValueError, match="UTC"):
        generate_bars("XAUUSD", datetime(2024, 1, 1), 3)
    with pytest.raises(ValueError, match="'W2'"):
        generate_bars("XAUUSD", T0, 3, timeframe="W2")
