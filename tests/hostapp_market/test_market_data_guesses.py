"""What the host guesses from the data: the timeframe from the bar gaps, a symbol's digits,
point and lot size from its prices, and how much builtin data a number of days is."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import Bar, ConfigError
from hostapp.app import build_sim_app
from hostapp.brokers.paper import DEFAULT_SYMBOLS
from hostapp.config import load_config
from hostapp.data import BUILTIN_START, builtin_series, infer_timeframe, load_csv_series
from hostapp.market.synthetic import generate_bars
from hostapp.symbol_rules import _decimals, symbol_infos

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def at(times: list[datetime], price: float = 1.1) -> list[Bar]:
    return [Bar(t, price, price, price, price, 1.0) for t in times]


# -- infer_timeframe ------------------------------------------------------------------------


def months(first: datetime, n: int) -> list[datetime]:
    out = [first]
    while len(out) < n:
        d = out[-1]
        out.append(d.replace(year=d.year + d.month // 12, month=d.month % 12 + 1))
    return out


@pytest.mark.parametrize("tf", ["M1", "M5", "M15", "M30", "H1", "H4", "D1", "W1", "MN1"])
def test_every_timeframe_of_generated_fx_data(tf: str) -> None:
    """FX data skips weekends: a Friday-to-Sunday gap must not throw the guess."""
    assert infer_timeframe(generate_bars("EURUSD", T0, 300, timeframe=tf)) == tf


def test_monthly_data_of_calendar_months() -> None:
    assert infer_timeframe(at(months(T0, 30))) == "MN1"
    # yfinance's monthly bars of a US stock: midnight New York, -05:00 or -04:00 (DST)
    local = [m + timedelta(hours=5 if m.month in (1, 2, 3, 11, 12) else 4) for m in months(T0, 24)]
    assert infer_timeframe(at(local)) == "MN1"


def test_weekly_data_from_mondays_or_sundays() -> None:
    mondays = [T0 + timedelta(weeks=i) for i in range(20)]
    assert infer_timeframe(at(mondays)) == "W1"
    assert infer_timeframe(at([t - timedelta(days=1) for t in mondays])) == "W1"


def test_daily_data_that_skips_weekends_and_holidays() -> None:
    weekdays = [T0 + timedelta(days=i) for i in range(60) if (T0 + timedelta(days=i)).weekday() < 5]
    del weekdays[10]  # a holiday: one gap of 2 days
    assert infer_timeframe(at(weekdays)) == "D1"


def test_intraday_stock_hours_most_common_gap_wins() -> None:
    """Seven H1 bars a day, 14:30 to 20:30 UTC: nights and weekends are rarer gaps."""
    hours = [
        T0 + timedelta(days=d, hours=14, minutes=30 + 60 * h)
        for d in range(30)
        if (T0 + timedelta(days=d)).weekday() < 5
        for h in range(7)
    ]
    assert infer_timeframe(at(hours)) == "H1"


def test_no_timeframe_fits_is_a_config_error_naming_the_data() -> None:
    odd = [T0 + timedelta(minutes=7 * i) for i in range(20)]
    with pytest.raises(ConfigError, match=r"odd\.csv: cannot tell the timeframe.*--timeframe"):
        infer_timeframe(at(odd), "odd.csv")
    two_months = [T0 + timedelta(days=61 * i) for i in range(10)]
    with pytest.raises(ConfigError, match="cannot tell the timeframe"):
        infer_timeframe(at(two_months))
    with pytest.raises(ConfigError, match=r"one\.csv: cannot tell the timeframe from 1 bar;"):
        infer_timeframe(at(odd[:1]), "one.csv")


# -- digits, point and lot size -------------------------------------------------------------


def as_float32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


@pytest.mark.parametrize(
    ("price", "digits"),
    [
        (0.00162008, 8),
        (0.1 * 11, 1),  # 1.1000000000000001
        (1.1, 1),
        (0.000012345678, 10),
        (0.00000000001234, 10),  # more than 10: capped
        (as_float32(1.0946), 4),  # 1.094599962234497, from a float32 column
        (as_float32(1.09461), 5),
        (2035.12, 2),
        (1.10423, 5),
        (150.0, 0),
        (60000.5, 1),
    ],
)
def test_decimals_a_price_really_has(price: float, digits: int) -> None:
    assert _decimals(price) == digits


def bars_priced(base: float, decimals: int, n: int = 50) -> list[Bar]:
    """``n`` M5 bars around ``base`` whose prices have ``decimals`` decimals."""
    step = 10.0**-decimals
    out = []
    for i in range(n):
        o = round(base + (i % 7) * 3 * step, decimals)
        c = round(o + 2 * step, decimals)
        out.append(Bar(T0 + timedelta(minutes=5 * i), o, round(c + step, decimals), o, c, 1.0))
    return out


def test_a_guess_reads_opens_highs_and_lows_too() -> None:
    bars = bars_priced(1.2, 4)
    last = bars[-1]
    # one high with a fifth decimal that no close has
    bars[-1] = Bar(last.time, last.open, last.high + 0.00001, last.low, last.close, 1.0)
    info = symbol_infos({"ODD": bars})["ODD"]
    assert info.digits == 5 and info.point == pytest.approx(0.00001)


def test_the_guess_keeps_known_symbols_and_sizes_a_lot_by_its_price() -> None:
    infos = symbol_infos(
        {
            "EURUSD": bars_priced(1.08, 5),
            "FXLIKE": bars_priced(1.08, 5),
            "METAL1": bars_priced(2035.0, 2),
            "COIN1": bars_priced(60000.0, 2),
            "PEPEUSD": bars_priced(0.0016, 8),
            "EMPTY": [],
        }
    )
    assert infos["EURUSD"] == DEFAULT_SYMBOLS["EURUSD"]  # the paper broker's own
    assert "EMPTY" not in infos
    assert "XAUUSD" not in infos  # known, but not in the data: nothing to trade it at
    names = ("FXLIKE", "METAL1", "COIN1", "PEPEUSD")
    sizes = {s: infos[s].contract_size for s in names}
    assert sizes == {"FXLIKE": 100_000.0, "METAL1": 100.0, "COIN1": 1.0, "PEPEUSD": 100_000_000.0}
    for s in names:
        info = infos[s]
        assert (info.volume_min, info.volume_step, info.volume_max) == (0.01, 0.01, 100.0)
        assert info.point == 10.0**-info.digits
    assert [infos[s].digits for s in names] == [5, 2, 2, 8]


def test_a_stock_ticker_trades_one_share_a_lot() -> None:
    """GOOG's daily bars near 300: a lot of 1,000 units (the 100,000-notional guess) made
    the minimum lot risk three times the share asked; a ticker's lot is one share, also
    under 1 (a split-adjusted history's first years). A coin, a currency or a name with
    digits keeps the notional guess."""
    infos = symbol_infos(
        {
            "GOOG": bars_priced(300.0, 2),
            "F": bars_priced(12.5, 2),
            "PENNY": bars_priced(0.0016, 8),
            "BTCX": bars_priced(300.0, 2),
            "US500": bars_priced(4500.0, 1),
            "PEPEUSD": bars_priced(0.0016, 8),
        }
    )
    sizes = {s: i.contract_size for s, i in infos.items()}
    shares = {"GOOG": 1.0, "F": 1.0, "PENNY": 1.0}
    assert sizes == {**shares, "BTCX": 1000.0, "US500": 10.0, "PEPEUSD": 100_000_000.0}


def rising_bars(first: float, last: float, n: int = 2000) -> list[Bar]:
    """``n`` D1 bars rising geometrically from ``first`` to ``last`` (a split-adjusted
    stock's decades), with a swing of 3 % every few weeks so a strategy trades them."""
    growth = (last / first) ** (1 / (n - 1))
    out = []
    for i in range(n):
        mid = first * growth**i * (1 + 0.03 * math.sin(i / 6))
        o, c = round(mid * 0.998, 4), round(mid * 1.002, 4)
        out.append(Bar(T0 + timedelta(days=i), o, round(c * 1.005, 4), round(o * 0.995, 4), c, 1.0))
    return out


def test_a_lot_is_sized_on_the_highest_close_of_the_whole_series() -> None:
    """A series that rose from 0.07 to 70: sized on its first bars, a lot was 1,000,000
    units, and the minimum lot 0.01 was worth 700,000 at the end; sized on the highest
    close, it is worth about 1,000 there and less before."""
    bars = rising_bars(0.07, 70.0)
    info = symbol_infos({"IDX100": bars})["IDX100"]
    assert info.contract_size == 1000.0
    assert max(b.close for b in bars) * info.contract_size * info.volume_min < 3_200


def test_a_small_price_with_few_decimals_still_gets_a_fine_point() -> None:
    """Prices written with 3 decimals near 0.002: a point of 0.001 would round a stop
    half a point away to 0, so the point keeps three significant digits; and it is at
    most two basis points of the lowest price (4e-7), so the spread assumed for bars
    without one keeps within them: 7 digits."""
    info = symbol_infos({"TINY": bars_priced(0.002, 3)})["TINY"]
    assert info.digits == 7 and round(0.0004, info.digits) == 0.0004


def penny_bars() -> list[Bar]:
    """An unknown coin near 0.0016, eight decimals, moving like EURUSD scaled down."""
    k = 0.0015
    return [
        Bar(b.time, *(round(x * k, 8) for x in (b.open, b.high, b.low, b.close)), b.volume)
        for b in generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 400, seed=3)
    ]


def test_a_replay_of_a_coin_near_0_0016_keeps_8_digits_and_stops_off_zero(
    tmp_path: Path,
) -> None:
    path = write_bars_csv(tmp_path / "PEPEUSD.csv", penny_bars())
    series = load_csv_series({"PEPEUSD": path})
    app = build_sim_app(load_config(None), series, base_timeframe="M5")
    info = app.broker.symbol_info("PEPEUSD")
    assert info is not None and info.digits == 8 and info.point == 1e-8
    bars = series["PEPEUSD"]
    ranges = [max(b.high, a.close) - min(b.low, a.close) for a, b in pairwise(bars)]
    atr = sum(ranges[-14:]) / 14
    assert 1e-7 < atr < 1e-5
    price = bars[-1].close
    for stop in (round(price - 1.5 * atr, info.digits), round(price + 1.5 * atr, info.digits)):
        assert stop > 0
        assert abs(stop - price) == pytest.approx(1.5 * atr, abs=info.point)


# -- builtin_series -------------------------------------------------------------------------


def test_builtin_days_are_calendar_days_whatever_the_market_hours() -> None:
    series = builtin_series(["EURUSD", "XAUUSD", "BTCUSD"], days=7, seed=0)
    end = BUILTIN_START + timedelta(days=7)
    # Mon 00:00 to Fri 22:00 (118 h), then Sunday 22:00 to midnight (2 h): 120 h of M5
    assert len(series["EURUSD"]) == len(series["XAUUSD"]) == 120 * 12
    assert len(series["BTCUSD"]) == 7 * 288  # bitcoin trades at the weekend
    for bars in series.values():
        assert bars[0].time == BUILTIN_START
        assert bars[-1].time == end - timedelta(minutes=5)
    fx = series["EURUSD"]
    assert not [b for b in fx if b.time.weekday() == 5]
    assert fx == generate_bars("EURUSD", BUILTIN_START, len(fx), seed=0)


def test_builtin_days_of_a_fraction_and_of_hours() -> None:
    (half,) = builtin_series(["XAUUSD"], days=0.5, seed=1).values()
    assert len(half) == 144
    (hourly,) = builtin_series(["XAUUSD"], days=14, seed=1, timeframe="H1").values()
    assert len(hourly) == 14 * 24 - 2 * 48  # two weekends without bars
    assert hourly[-1].time == BUILTIN_START + timedelta(days=14, hours=-1)
