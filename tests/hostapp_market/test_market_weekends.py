"""The synthetic FX and metal feeds close from Friday 22:00 to Sunday 22:00 UTC, as the
spot market does, and reopen with a gap; bitcoin trades through the weekend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker
from hostapp.market.synthetic import SYMBOL_PROFILES, generate_bars

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
M5 = timedelta(minutes=5)
WEEKEND = timedelta(days=2)  # Friday 22:00 to Sunday 22:00


def in_weekend(t: datetime) -> bool:
    return (
        (t.weekday() == 4 and t.hour >= 22)
        or t.weekday() == 5
        or (t.weekday() == 6 and t.hour < 22)
    )


def weekend_pairs(bars: list[Bar]) -> list[tuple[Bar, Bar]]:
    """(Friday's last bar, Sunday's first bar) of every weekend in ``bars``."""
    return [(a, b) for a, b in pairwise(bars) if b.time - a.time > M5]


CLOSED = [s for s, p in SYMBOL_PROFILES.items() if not p.weekends]


def test_fx_and_metals_close_and_bitcoin_does_not() -> None:
    assert {"XAUUSD", "EURUSD", "GBPUSD", "USDJPY"} <= set(CLOSED)
    assert SYMBOL_PROFILES["BTCUSD"].weekends
    btc = generate_bars("BTCUSD", T0, 3 * 2016, seed=1)
    assert all(b.time - a.time == M5 for a, b in pairwise(btc))
    assert any(in_weekend(b.time) for b in btc)


@pytest.mark.parametrize("symbol", CLOSED)
def test_no_bar_opens_in_the_weekend_and_count_is_bars_made(symbol: str) -> None:
    bars = generate_bars(symbol, T0, 3 * 2016, seed=1)
    assert len(bars) == 3 * 2016
    assert not [b for b in bars if in_weekend(b.time)]
    pairs = weekend_pairs(bars)
    assert [(a.time, b.time) for a, b in pairs[:2]] == [
        (datetime(2024, 1, 5, 21, 55, tzinfo=UTC), datetime(2024, 1, 7, 22, 0, tzinfo=UTC)),
        (datetime(2024, 1, 12, 21, 55, tzinfo=UTC), datetime(2024, 1, 14, 22, 0, tzinfo=UTC)),
    ]
    assert all(b.time - a.time == WEEKEND + M5 for a, b in pairs)
    assert len(pairs) == 4  # 6048 bars of a 5-day week: 4 weekends


def test_the_first_week_is_unchanged_and_monday_opens_with_a_gap() -> None:
    closed = generate_bars("EURUSD", T0, 4 * 1440, seed=4)
    always = generate_bars("EURUSD", T0, 4 * 1440, seed=4, skip_weekends=False)
    friday = datetime(2024, 1, 5, 22, 0, tzinfo=UTC)
    week = [b for b in always if b.time < friday]
    assert closed[: len(week)] == week  # the bars before the first weekend
    gaps = [abs(b.open - a.close) for a, b in weekend_pairs(closed)]
    assert len(gaps) == 4 and all(g > 0 for g in gaps)
    assert max(gaps) > 0.0003  # a few pips at least once: a gap, not a rounding


def test_same_seed_same_weekends_other_seed_other_gaps() -> None:
    a = generate_bars("XAUUSD", T0, 5000, seed=9)
    assert a == generate_bars("XAUUSD", T0, 5000, seed=9)
    b = generate_bars("XAUUSD", T0, 5000, seed=10)
    assert [x.time for x in a] == [x.time for x in b]
    assert [y.open - x.close for x, y in weekend_pairs(a)] != [
        y.open - x.close for x, y in weekend_pairs(b)
    ]


def test_explicit_skip_weekends_overrides_the_market() -> None:
    fx = generate_bars("EURUSD", T0, 3000, seed=2, skip_weekends=False)
    assert all(b.time - a.time == M5 for a, b in pairwise(fx))
    btc = generate_bars("BTCUSD", T0, 3000, seed=2, skip_weekends=True)
    assert not [b for b in btc if in_weekend(b.time)]


def test_a_start_inside_the_weekend_opens_on_sunday_night() -> None:
    saturday = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
    bars = generate_bars("GBPUSD", saturday, 3, seed=0, timeframe="H1")
    assert [b.time.hour for b in bars] == [22, 23, 0]
    assert bars[0].time.weekday() == 6


def test_daily_weekly_and_monthly_bars() -> None:
    daily = generate_bars("XAUUSD", T0, 10, timeframe="D1", seed=0)
    assert [b.time.weekday() for b in daily] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    weekly = generate_bars("XAUUSD", T0, 4, timeframe="W1", seed=0)
    assert [b.time.day for b in weekly] == [7, 14, 21, 28]  # weeks open on Sunday
    monthly = generate_bars("XAUUSD", T0, 14, timeframe="MN1", seed=0)
    assert [(b.time.month, b.time.day) for b in monthly[:3]] == [(1, 1), (2, 1), (3, 1)]
    assert monthly[-1].time == datetime(2025, 2, 1, tzinfo=UTC)


def test_a_stop_inside_the_weekend_gap_fills_at_the_monday_open() -> None:
    bars = generate_bars("EURUSD", T0, 6 * 1440, seed=4)
    friday, sunday = next((a, b) for a, b in weekend_pairs(bars) if b.open < a.close - 0.0002)
    broker = PaperBroker()
    broker.set_quote("EURUSD", friday.close, friday.close + friday.spread, friday.time + M5)
    stop = round((friday.close + sunday.open) / 2, 5)
    opened = broker.open(OrderRequest("EURUSD", "buy", 0.1, stop_loss=stop))
    assert opened.ok, opened
    ((trade, reason),) = broker.on_bar("EURUSD", sunday)
    assert reason == "stop_loss"
    assert trade.close_price == sunday.open < stop  # the gap, not the stop
