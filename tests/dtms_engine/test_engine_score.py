"""Regime labels and thresholds (docs/dtms.md §3) and the six sub-scores and weights (§4)."""

from __future__ import annotations

import pytest
from support.dtms_kit import SETTINGS, T0, regime, snapshot

from dtms_plugin.engine import OrderFlow, base_symbol, check_tables, classify
from dtms_plugin.engine.regime import Session, Structure, Volatility, session_at
from dtms_plugin.engine.score import weights_for
from dtms_plugin.settings import DtmsSettings, Regime
from hookspecs import Bar


@pytest.mark.parametrize(
    ("hour", "session"),
    [
        (0, "ASIAN"),
        (7, "ASIAN"),
        (8, "LONDON"),
        (12, "LONDON"),
        (13, "OVERLAP"),
        (15, "OVERLAP"),
        (16, "NY"),
        (20, "NY"),
        (21, "ASIAN"),
        (23, "ASIAN"),
    ],
)
def test_sessions_by_utc_hour(hour: int, session: str) -> None:
    assert session_at(hour).value == session


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("XAUUSDc", "XAUUSD"),
        ("EURUSD.m", "EURUSD"),
        ("gbpusd", "GBPUSD"),
        ("BTCUSD", "BTCUSD"),
        ("USDJPY_i", "USDJPY"),
        ("EURUSD+", "EURUSD"),
        ("EURUSD#", "EURUSD"),
        ("eurusdm", "EURUSD"),
        ("EURUSDm", "EURUSD"),
        ("EURUSDpro", "EURUSD"),
        ("eurusdpro", "EURUSD"),
        ("GBPUSD.ecn", "GBPUSD"),
        ("GBPUSDECN", "GBPUSD"),
        ("EURUSDmicro", "EURUSD"),
        ("EURUSD.x", "EURUSD"),
        ("xauusdc", "XAUUSD"),
        ("XAUUSD+", "XAUUSD"),
        ("btcusd#", "BTCUSD"),
        ("CADJPY.m", "CADJPY"),
        ("BTCUSDT", "BTCUSD"),  # a stablecoin quote is the dollar's
        ("ETHUSDC", "ETHUSD"),
        ("btcusdt.m", "BTCUSD"),
        ("BTCUSDTm", "BTCUSD"),
        ("#EURUSD", "EURUSD"),  # a broker's prefix
        (".EURUSD", "EURUSD"),
        ("_xauusd", "XAUUSD"),
        ("#BTCUSDT", "BTCUSD"),
        ("USDCHF", "USDCHF"),  # a dollar base is no stablecoin quote
        ("USDCAD.m", "USDCAD"),
        ("BTCUSDTX", "BTCUSDTX"),  # not a known suffix: left alone
        ("US30", "US30"),  # an index keeps its digits
        ("NAS100.m", "NAS100"),
    ],
)
def test_broker_suffix_is_stripped(raw: str, base: str) -> None:
    assert base_symbol(raw) == base


def test_vwap_threshold_products_and_clamp() -> None:
    # XAUUSD Asian × low vol × RANGE: 0.001 × 1.5 × 1.4 × 1.3 = 0.00273 → clamped to 1.8 × base
    rg = classify("XAUUSDc", 3, 0.5, 0.001, SETTINGS)
    assert (rg.session, rg.volatility, rg.structure) == (
        Session.ASIAN,
        Volatility.LOW,
        Structure.RANGE,
    )
    assert rg.vwap_threshold == pytest.approx(0.0018)
    assert rg.rsi_threshold == 40.0
    eur = classify("EURUSD.m", 9, 1.0, 0.01, SETTINGS)
    assert eur.vwap_threshold == pytest.approx(0.0005) and eur.rsi_threshold == 45.0
    # JPY cross, Overlap × high: 0.0007 × 0.7 × 0.8 = 0.000392 (above the 0.5 × base floor)
    jpy = classify("EURJPY", 14, 1.5, 0.01, SETTINGS)
    assert jpy.vwap_threshold == pytest.approx(0.000392)
    other = classify("US30", 17, None, None, SETTINGS)  # unknown inputs: normal, TREND
    assert other.vwap_threshold == pytest.approx(0.001 * 0.8)


@pytest.mark.parametrize(
    ("symbol", "base"), [("BTCUSDT", 0.002), ("ethusdc", 0.001), ("#EURUSD", 0.0005)]
)
def test_stablecoin_pairs_and_prefixed_names_take_their_symbols_vwap_base(
    symbol: str, base: float
) -> None:
    # London, normal volatility, TREND: every factor 1.0, the threshold is the base
    assert classify(symbol, 9, 1.0, 0.01, SETTINGS).vwap_threshold == pytest.approx(base)


def test_range_width_override_per_symbol() -> None:
    s = DtmsSettings(regime=Regime(range_width_by_symbol={"XAUUSD": 0.01}))
    assert classify("XAUUSD", 9, 1.0, 0.005, s).structure is Structure.RANGE
    assert classify("XAUUSD", 9, 1.0, 0.005, SETTINGS).structure is Structure.TREND
    assert classify("#XAUUSD", 9, 1.0, 0.005, s).structure is Structure.RANGE


def test_factor_tables_must_name_every_label() -> None:
    check_tables(SETTINGS)
    bad = DtmsSettings(regime=Regime(session_factor={"ASIA": 1.5}))
    with pytest.raises(ValueError, match="session_factor"):
        check_tables(bad)


def sub(direction: str = "buy", **features: object) -> dict[str, float]:
    from dtms_plugin.engine import SIGNALS

    bd = snapshot(T0, **features).score(direction)  # type: ignore[arg-type]
    return dict(zip(SIGNALS, bd.subscores, strict=True))


def test_structure_close_beyond_swings() -> None:
    sw = dict(swing_low=1990.0, swing_high=2010.0)
    assert sub(signal_close=1989.0, **sw)["structure"] == -1.0
    assert sub(signal_close=2011.0, **sw)["structure"] == 1.0
    assert sub(signal_close=2000.0, **sw)["structure"] == 0.0
    assert sub("sell", signal_close=2011.0, **sw)["structure"] == -1.0
    assert sub("sell", signal_close=1989.0, **sw)["structure"] == 1.0


def test_vwap_volume_side_slope_and_order_flow() -> None:
    base = dict(vwap=2000.0, vwap_below=2, vwap_slope=-0.002)
    assert sub(**base)["vwap_volume"] == -1.0
    assert sub("sell", **base)["vwap_volume"] == 1.0
    assert sub(vwap=2000.0, vwap_below=1, vwap_slope=0.0005)["vwap_volume"] == 0.0
    flow = OrderFlow(buy_volume=30.0, sell_volume=70.0)
    assert sub(vwap=2000.0, order_flow=flow)["vwap_volume"] == -0.5
    low_vol = regime(vol=Volatility.LOW)
    assert sub(vwap=2000.0, order_flow=flow, rg=low_vol)["vwap_volume"] == 0.0


def test_momentum_rsi_and_macd() -> None:
    assert sub(rsi=40.0, rsi_prev=42.0, hist=(3.0, 2.0, 1.0))["momentum"] == -1.0
    assert sub(rsi=55.0, rsi_prev=52.0, hist=(1.0, 2.0, 3.0))["momentum"] == 1.0
    assert sub(rsi=40.0, rsi_prev=42.0, hist=(1.0, 2.0, 3.0))["momentum"] == pytest.approx(-0.2)
    assert sub(rsi=40.0, rsi_prev=42.0, hist=(3.0, 3.0, 1.0))["momentum"] == -0.6  # not strict
    # a sell mirrors around 50: RSI 60 and rising is against it
    assert sub("sell", rsi=60.0, rsi_prev=58.0, hist=(1.0, 2.0, 3.0))["momentum"] == -1.0
    # RSI 42 is above the low-volatility threshold 40: no penalty
    low = regime(vol=Volatility.LOW, rsi_threshold=40.0)
    assert sub(rsi=42.0, rsi_prev=44.0, rg=low)["momentum"] == 0.0


@pytest.mark.parametrize(
    ("fast", "slow", "buy", "sell"),
    [
        (0.01, 0.01, 1.0, -1.0),
        (-0.01, -0.01, -1.0, 1.0),
        (-0.01, 0.01, -0.5, 0.25),
        (0.01, -0.01, 0.25, -0.5),
        (0.0, 0.01, 0.0, 0.0),
    ],
)
def test_ema_alignment(fast: float, slow: float, buy: float, sell: float) -> None:
    assert sub(ema_fast_slope=fast, ema_slow_slope=slow)["ema_alignment"] == buy
    assert sub("sell", ema_fast_slope=fast, ema_slow_slope=slow)["ema_alignment"] == sell


def test_delta_pressure() -> None:
    assert sub(order_flow=OrderFlow(delta_z=-0.6))["delta_pressure"] == -1.0
    assert sub(order_flow=OrderFlow(delta_z=0.6))["delta_pressure"] == 1.0
    assert sub(order_flow=OrderFlow(delta_z=0.4))["delta_pressure"] == 0.0
    assert sub("sell", order_flow=OrderFlow(delta_z=0.6))["delta_pressure"] == -1.0


def test_candle_conviction() -> None:
    bear = Bar(T0, 2000.0, 2000.5, 1992.5, 1993.0, 1.0)  # range 8, body 7
    assert sub(bar=bear, atr_fast=5.0, vwap=1995.0)["candle_conviction"] == -1.0
    assert sub(bar=bear, atr_fast=5.0, vwap=1990.0)["candle_conviction"] == -0.5
    assert sub("sell", bar=bear, atr_fast=5.0)["candle_conviction"] == 1.0
    assert sub(bar=bear, atr_fast=10.1)["candle_conviction"] == 0.0  # range < 0.8 ATR
    doji = Bar(T0, 2000.0, 2004.0, 1996.0, 1999.0, 1.0)
    assert sub(bar=doji, atr_fast=5.0)["candle_conviction"] == 0.0


def test_all_against_is_minus_the_sum_of_base_weights_and_missing_is_reported() -> None:
    bear = Bar(T0, 2000.0, 2000.5, 1992.5, 1993.0, 1.0)
    bd = snapshot(
        T0,
        bar=bear,
        atr_fast=5.0,
        vwap=1995.0,
        vwap_below=2,
        vwap_slope=-0.01,
        signal_close=1980.0,
        swing_low=1990.0,
        rsi=30.0,
        rsi_prev=35.0,
        hist=(3.0, 2.0, 1.0),
        ema_fast_slope=-0.1,
        ema_slow_slope=-0.1,
        order_flow=OrderFlow(delta_z=-2.0),
    ).score("buy")
    assert bd.total == pytest.approx(-10.5)
    assert bd.confluence == 1.0 and bd.confluence_against and bd.vwap_slope_against
    empty = snapshot(T0).score("buy")
    assert empty.total == 0.0 and len(empty.missing) == 6


def test_confluence_is_the_weighted_share_against() -> None:
    bd = snapshot(T0, signal_close=1980.0, swing_low=1990.0, rsi=55.0, rsi_prev=52.0).score("buy")
    # structure −1 × 3 against, momentum +0.6 × 2 for: 3 / 4.2
    assert bd.confluence == pytest.approx(3 / 4.2)
    assert bd.confluence_against
    assert bd.total == pytest.approx(-1.8)


def test_adaptive_weights() -> None:
    hi = weights_for(regime(vol=Volatility.HIGH), SETTINGS)
    assert hi == pytest.approx((3.6, 1.8, 1.6, 1.5, 1.1, 0.9))
    rng = weights_for(regime(struct=Structure.RANGE), SETTINGS)
    assert rng == pytest.approx((2.1, 2.6, 2.0, 1.2, 1.2, 1.1))
    asian = weights_for(regime(session=Session.ASIAN), SETTINGS)
    assert asian == pytest.approx((2.4, 1.6, 1.6, 1.2, 0.8, 0.8))
    for s in Session:
        for v in Volatility:
            for st in Structure:
                assert sum(weights_for(regime(s, v, st), SETTINGS)) <= 10.5 + 1e-9
