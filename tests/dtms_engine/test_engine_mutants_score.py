"""The score of docs/dtms.md §4 at its boundaries: every sub-score at, just inside and just
past its threshold, for a buy and the mirrored sell, and the exact total, confluence and
weights a trader reads in the reason line. A sub-score that flips one step early or late
moves a trade down (or up) the ladder on the wrong bar."""

from __future__ import annotations

import pytest
from support.dtms_kit import SETTINGS, T0, regime, snapshot

from dtms_plugin.engine import OrderFlow
from dtms_plugin.engine.regime import Session, Structure, Volatility
from dtms_plugin.engine.score import (
    candle_conviction_score,
    compute_score,
    delta_pressure_score,
    ema_alignment_score,
    structure_score,
    vwap_slope_against,
    vwap_volume_score,
    weights_for,
)
from dtms_plugin.settings import DtmsSettings, Weights
from hookspecs import Bar, Direction

BUY, SELL = 1, -1


def subscores(direction: Direction = "buy", **features: object) -> dict[str, float]:
    """The non-missing sub-scores of the full score, by signal name."""
    bd = compute_score(snapshot(**features), direction)
    names = ("structure", "vwap_volume", "momentum", "ema_alignment", "delta", "candle")
    return {n: v for n, v, m in zip(names, bd.subscores, _present(bd.missing), strict=True) if m}


def _present(missing: tuple[str, ...]) -> list[bool]:
    signals = (
        "structure",
        "vwap_volume",
        "momentum",
        "ema_alignment",
        "delta_pressure",
        "candle_conviction",
    )
    return [s not in missing for s in signals]


# --- structure -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("close", "sign", "expected"),
    [
        (1990.0, BUY, 0.0),  # at the swing low: not beyond it
        (1989.99, BUY, -1.0),
        (1990.5, BUY, 0.0),
        (2010.0, BUY, 0.0),  # at the swing high: not beyond it
        (2010.01, BUY, 1.0),
        (2010.0, SELL, 0.0),
        (2010.5, SELL, -1.0),
        (1990.0, SELL, 0.0),
        (1989.5, SELL, 1.0),
    ],
)
def test_structure_needs_a_close_beyond_the_swing(close: float, sign: int, expected: float) -> None:
    s = snapshot(signal_close=close, swing_high=2010.0, swing_low=1990.0)
    assert structure_score(s, sign) == expected


def test_structure_scores_with_one_swing_known() -> None:
    only_high = snapshot(signal_close=2011.0, swing_high=2010.0)
    assert structure_score(only_high, SELL) == -1.0
    assert structure_score(only_high, BUY) == 1.0
    only_low = snapshot(signal_close=1989.0, swing_low=1990.0)
    assert structure_score(only_low, BUY) == -1.0


def test_a_close_between_the_swings_is_evidence_of_nothing_but_not_missing() -> None:
    subs = subscores(signal_close=2000.0, swing_high=2010.0, swing_low=1990.0)
    assert subs["structure"] == 0.0


# --- VWAP ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slope", "sign", "against"),
    [
        (-0.001, BUY, False),  # exactly at the threshold: not beyond it
        (-0.0011, BUY, True),
        (0.0005, BUY, False),  # with the trade
        (0.001, SELL, False),
        (0.0011, SELL, True),
    ],
)
def test_vwap_slope_against_only_beyond_its_threshold(
    slope: float, sign: int, against: bool
) -> None:
    assert vwap_slope_against(snapshot(vwap=2000.0, vwap_slope=slope), sign) is against


@pytest.mark.parametrize(
    ("above", "below", "slope", "expected"),
    [
        (0, 2, None, -0.5),  # two closes on the wrong side
        (2, 0, None, 0.5),
        (1, 0, None, 0.0),
        (0, 0, -0.001, 0.0),  # slope at the threshold: neither
        (0, 0, 0.001, 0.0),
        (0, 0, -0.0011, -0.5),
        (0, 0, 0.0011, 0.5),
        (2, 0, 0.0011, 1.0),
        (0, 2, -0.0011, -1.0),
    ],
)
def test_vwap_volume_for_a_buy(
    above: int, below: int, slope: float | None, expected: float
) -> None:
    s = snapshot(vwap=2000.0, vwap_above=above, vwap_below=below, vwap_slope=slope)
    assert vwap_volume_score(s, BUY) == expected
    mirrored = snapshot(
        vwap=2000.0,
        vwap_above=below,
        vwap_below=above,
        vwap_slope=None if slope is None else -slope,
    )
    assert vwap_volume_score(mirrored, SELL) == expected


def test_vwap_volume_never_falls_below_minus_one() -> None:
    flow = OrderFlow(buy_volume=10.0, sell_volume=90.0)
    s = snapshot(vwap=2000.0, vwap_below=3, vwap_slope=-0.01, order_flow=flow)
    assert vwap_volume_score(s, BUY) == -1.0


@pytest.mark.parametrize(
    ("buy", "sell", "expected"),
    [
        (35.0, 65.0, 0.0),  # the opposite side's share exactly 0.65: not above it
        (34.0, 66.0, -0.5),
        (0.2, 0.8, -0.5),  # small volumes count like large ones
    ],
)
def test_opposite_order_flow_share_above_its_limit_weighs_against(
    buy: float, sell: float, expected: float
) -> None:
    flow = OrderFlow(buy_volume=buy, sell_volume=sell)
    assert vwap_volume_score(snapshot(vwap=2000.0, order_flow=flow), BUY) == expected
    mirrored = OrderFlow(buy_volume=sell, sell_volume=buy)
    assert vwap_volume_score(snapshot(vwap=2000.0, order_flow=mirrored), SELL) == expected


# --- momentum --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rsi", "prev", "expected"),
    [
        (44.0, 46.0, -0.6),  # below 45 and falling
        (45.0, 47.0, 0.0),  # at the threshold: not below it
        (40.0, 40.0, 0.0),  # flat: not falling
        (50.5, 49.0, 0.6),  # above 50 and rising
        (50.0, 48.0, 0.0),  # at 50: not above it
        (60.0, 60.0, 0.0),  # flat: not rising
        (60.0, 65.0, 0.0),  # above 50 but falling
    ],
)
def test_rsi_momentum_for_a_buy_and_the_mirrored_sell(
    rsi: float, prev: float, expected: float
) -> None:
    assert subscores("buy", rsi=rsi, rsi_prev=prev)["momentum"] == expected
    mirrored = subscores("sell", rsi=100.0 - rsi, rsi_prev=100.0 - prev)
    assert mirrored["momentum"] == expected


def test_a_sells_rsi_is_read_around_50() -> None:
    # RSI 55.5 rising from 54 is, for a sell, 44.5 falling from 46: below 45 and falling
    assert subscores("sell", rsi=55.5, rsi_prev=54.0)["momentum"] == -0.6
    assert subscores("sell", rsi=56.0, rsi_prev=56.0)["momentum"] == 0.0


@pytest.mark.parametrize(
    ("hist", "buy", "sell"),
    [
        ((0.1, 0.2), 0.4, -0.4),  # two values are enough to call a direction
        ((0.3, 0.2, 0.1), -0.4, 0.4),
        ((0.1, 0.1), 0.0, 0.0),  # flat is neither
        ((0.1, 0.2, 0.2), 0.0, 0.0),
    ],
)
def test_macd_histogram_momentum(hist: tuple[float, ...], buy: float, sell: float) -> None:
    assert subscores("buy", hist=hist)["momentum"] == buy
    assert subscores("sell", hist=hist)["momentum"] == sell


# --- EMA alignment, delta, candle ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fast", "slow", "expected"),
    [
        (0.001, 0.001, 1.0),
        (0.001, 0.0, 0.0),  # EMA200 flat: neither with nor against
        (-0.001, 0.0, -0.5),  # EMA50 against only
        (-0.001, -0.001, -1.0),
        (0.001, -0.001, 0.25),
        (0.0, 0.0, 0.0),
    ],
)
def test_ema_alignment(fast: float, slow: float, expected: float) -> None:
    assert subscores("buy", ema_fast_slope=fast, ema_slow_slope=slow)["ema_alignment"] == expected
    sell = subscores("sell", ema_fast_slope=-fast, ema_slow_slope=-slow)
    assert sell["ema_alignment"] == expected
    assert ema_alignment_score(snapshot(ema_fast_slope=fast, ema_slow_slope=slow), BUY) == expected


@pytest.mark.parametrize(("z", "expected"), [(0.5, 0.0), (-0.5, 0.0), (0.51, 1.0), (-0.51, -1.0)])
def test_delta_pressure_beyond_half_a_standard_deviation(z: float, expected: float) -> None:
    flow = OrderFlow(buy_volume=1.0, sell_volume=1.0, delta_z=z)
    assert delta_pressure_score(snapshot(order_flow=flow), BUY) == expected
    mirrored = OrderFlow(buy_volume=1.0, sell_volume=1.0, delta_z=-z)
    assert delta_pressure_score(snapshot(order_flow=mirrored), SELL) == expected


def bar(open_: float, high: float, low: float, close: float) -> Bar:
    return Bar(T0, open_, high, low, close, 1.0)


@pytest.mark.parametrize(
    ("b", "atr", "vwap", "expected"),
    [
        (bar(100.0, 120.0, 100.0, 113.0), 25.0, None, 1.0),  # body 0.65 × range, range 0.8 × ATR
        (bar(100.0, 120.0, 100.0, 112.9), 25.0, None, 0.0),  # body just short
        (bar(100.0, 120.0, 100.0, 113.0), 25.1, None, 0.0),  # range just short
        (bar(100.0, 100.9, 100.0, 100.8), 1.0, None, 1.0),  # a small bar counts too
        (bar(100.0, 100.0, 100.0, 100.0), 0.0, None, 0.0),  # no range at all
        (bar(113.0, 120.0, 100.0, 100.0), 25.0, 100.0, -0.5),  # closes at VWAP: not beyond
        (bar(113.0, 120.0, 100.0, 100.0), 25.0, 100.5, -1.0),
        (bar(113.0, 120.0, 100.0, 100.0), 25.0, 99.5, -0.5),
        # on the VWAP but for rounding (a relative 1e-9 band): not beyond; past it, beyond
        (bar(113.0, 120.0, 100.0, 100.0), 25.0, 100.0 * (1.0 + 5e-10), -0.5),
        (bar(113.0, 120.0, 100.0, 100.0), 25.0, 100.0 * (1.0 + 3e-9), -1.0),
        # a close exactly on the band's edge (close − VWAP = −1e-9 × VWAP to the bit): on it
        (bar(114.0, 120.0, 100.0, 100.00000817403709), 25.0, 100.0000082740371, -0.5),
    ],
)
def test_candle_conviction_for_a_buy(
    b: Bar, atr: float, vwap: float | None, expected: float
) -> None:
    assert candle_conviction_score(snapshot(bar=b, atr_fast=atr, vwap=vwap), BUY) == expected
    subs = subscores("buy", bar=b, atr_fast=atr, vwap=vwap)
    assert subs["candle"] == expected


def test_candle_conviction_for_a_sell() -> None:
    down = bar(113.0, 120.0, 100.0, 100.0)
    assert candle_conviction_score(snapshot(bar=down, atr_fast=25.0), SELL) == 1.0
    up = bar(100.0, 120.0, 100.0, 113.0)
    assert candle_conviction_score(snapshot(bar=up, atr_fast=25.0, vwap=113.0), SELL) == -0.5
    assert candle_conviction_score(snapshot(bar=up, atr_fast=25.0, vwap=112.5), SELL) == -1.0


# --- total, confluence, weights, the reason line ------------------------------------------------


def test_total_is_the_weighted_sum_and_confluence_the_share_against() -> None:
    # structure −1 × 3.0, candle −0.5 × 1.0 against; EMA alignment +1 × 1.5 in favour
    s = snapshot(
        signal_close=1980.0,
        swing_low=1990.0,
        ema_fast_slope=0.001,
        ema_slow_slope=0.001,
        bar=bar(113.0, 120.0, 100.0, 100.0),
        atr_fast=25.0,
    )
    bd = compute_score(s, "buy")
    assert bd.total == pytest.approx(-2.0)
    assert bd.confluence == pytest.approx(0.7)  # 3.5 of 5.0: exactly the limit
    assert bd.confluence_against is True
    assert bd.reason() == (
        "S=-2.00 [structure -1.00×3.00, ema_alignment +1.00×1.50, "
        "candle_conviction -0.50×1.00] confluence 0.70 against; LONDON/NORMAL/TREND; "
        "missing vwap_volume, momentum, delta_pressure"
    )


def test_small_evidence_still_has_a_confluence() -> None:
    bd = compute_score(snapshot(bar=bar(113.0, 120.0, 100.0, 100.0), atr_fast=25.0), "buy")
    assert bd.total == -0.5 and bd.confluence == 1.0 and bd.confluence_against


def test_no_evidence_is_no_confluence_against() -> None:
    bd = compute_score(snapshot(ema_fast_slope=0.0, ema_slow_slope=0.0), "buy")
    assert bd.total == 0.0 and bd.confluence == 0.0 and not bd.confluence_against


def test_the_reason_line_without_missing_signals_ends_with_the_regime() -> None:
    flow = OrderFlow(buy_volume=50.0, sell_volume=50.0, delta_z=0.0)
    s = snapshot(
        signal_close=2000.0,
        swing_low=1990.0,
        vwap=2000.0,
        rsi=50.0,
        rsi_prev=50.0,
        ema_fast_slope=0.0,
        ema_slow_slope=0.0,
        order_flow=flow,
        atr_fast=1.0,
    )
    bd = compute_score(s, "sell")
    assert bd.missing == ()
    assert bd.reason() == "S=+0.00 [no evidence] confluence 0.00 against; LONDON/NORMAL/TREND"
    assert bd.to_json() == {
        "total": 0.0,
        "subscores": dict.fromkeys(
            (
                "structure",
                "vwap_volume",
                "momentum",
                "ema_alignment",
                "delta_pressure",
                "candle_conviction",
            ),
            0.0,
        ),
        "weights": {
            "structure": 3.0,
            "vwap_volume": 2.0,
            "momentum": 2.0,
            "ema_alignment": 1.5,
            "delta_pressure": 1.0,
            "candle_conviction": 1.0,
        },
        "missing": [],
        "regime": s.regime.to_json(),
        "confluence": 0.0,
        "confluence_against": False,
        "vwap_slope_against": False,
    }


def test_weights_in_range_and_high_volatility_are_scaled_back_to_the_base_sum() -> None:
    rg = regime(vol=Volatility.HIGH, struct=Structure.RANGE)
    raw = [
        3.0 * 0.7 * 1.2,
        2.0 * 1.3 * 0.9,
        2.0 * 1.0 * 0.8,
        1.5 * 0.8 * 1.0,
        1.0 * 1.2 * 1.1,
        1.0 * 1.1 * 0.9,
    ]
    assert sum(raw) < 10.5  # this pair of regimes does not need scaling
    assert weights_for(rg, SETTINGS) == pytest.approx(raw)


def test_weights_above_the_base_sum_are_scaled_down_to_it() -> None:
    """With small base weights the RANGE multipliers (sum 6.1 over six signals) push the
    total above the base sum, which then caps it."""
    small = DtmsSettings(weights=Weights(0.1, 0.1, 0.1, 0.1, 0.1, 0.1))
    rg = regime(struct=Structure.RANGE)
    w = weights_for(rg, small)
    mult = (0.7, 1.3, 1.0, 0.8, 1.2, 1.1)
    assert sum(w) == pytest.approx(0.6)
    assert w == pytest.approx(tuple(0.1 * m * 0.6 / 0.61 for m in mult))
    asian = weights_for(regime(session=Session.ASIAN), small)
    assert asian == pytest.approx((0.08,) * 6)
