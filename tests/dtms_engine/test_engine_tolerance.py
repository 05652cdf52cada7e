"""Thresholds reached exactly, through float arithmetic (docs/dtms.md §5, §7).

A score is a float sum of weight × sub-score, an R multiple a quotient of prices, a
spread an ask minus a bid. Each case below sits exactly on its threshold in exact
arithmetic and a hair off it in floats, on the side that used to miss it; the ladder,
the arming and the spread rail must treat it as on the threshold, for a buy and a sell.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, regime, scored, snapshot, trade
from support.dtms_machine import BAR, NOW, ev, kinds, record

from dtms_plugin.engine import (
    AccountState,
    Evaluation,
    OrderFlow,
    SignalSnapshot,
    TradeRecord,
    evaluate,
    register,
    spread_ok,
)
from dtms_plugin.engine.regime import Session, Structure, Volatility
from dtms_plugin.engine.score import weights_for
from dtms_plugin.engine.tolerance import TOLERANCE, at_least, at_most, spread_at_most
from hookspecs import ActionKind, Bar, DefensiveState, Direction, Quote, SymbolInfo

S = DefensiveState
K = ActionKind
EURUSD = SymbolInfo("EURUSD", 5, 0.00001, 0.01, 0.01, 100.0)


def test_the_comparisons_take_a_value_within_the_tolerance_as_on_the_threshold() -> None:
    assert at_most(-2.0 + TOLERANCE / 2, -2.0) and not at_most(-2.0 + 2 * TOLERANCE, -2.0)
    assert at_least(1.0 - TOLERANCE / 2, 1.0) and not at_least(1.0 - 2 * TOLERANCE, 1.0)
    assert at_most(-2.5, -2.0) and at_least(1.5, 1.0)
    # the tolerance itself is inside: a value exactly TOLERANCE off still counts
    assert at_most(-2.0 + TOLERANCE, -2.0) and at_least(1.0 - TOLERANCE, 1.0)
    assert spread_at_most(0.4 + TOLERANCE * 2000.0, 0.4, 2000.0)
    # relative to the price: 1e-9 of 2000 is 2e-6, far below a point of gold (0.01)
    assert spread_at_most(0.4 + 1e-6, 0.4, 2000.0) and not spread_at_most(0.4 + 1e-5, 0.4, 2000.0)
    assert spread_at_most(0.4, 0.4, -2000.0) and not spread_at_most(0.4 + 1e-5, 0.4, -2000.0)


# --- scores built by the real score, on a threshold ------------------------------------------


def _asian_minus_two(direction: Direction) -> SignalSnapshot:
    """Asian weights (2.4, 1.6, 1.6, 1.2, 0.8, 0.8) × sub-scores (−1, −1, 0, +1, 0, +1):
    exactly −2, in floats −1.9999999999999998."""
    if direction == "buy":
        return snapshot(
            BAR, rg=regime(session=Session.ASIAN), signal_close=1989.0, swing_low=1990.0,
            swing_high=2010.0, vwap=2005.0, vwap_below=3, vwap_slope=-0.01, rsi=48.0,
            rsi_prev=47.0, ema_fast_slope=1e-3, ema_slow_slope=1e-3, atr_fast=1.0,
            bar=Bar(BAR, 1990.0, 1991.0, 1990.0, 1991.0, 1.0),
        )  # fmt: skip
    return snapshot(
        BAR, rg=regime(session=Session.ASIAN), signal_close=2011.0, swing_low=1990.0,
        swing_high=2010.0, vwap=1995.0, vwap_above=3, vwap_slope=0.01, rsi=52.0,
        rsi_prev=53.0, ema_fast_slope=-1e-3, ema_slow_slope=-1e-3, atr_fast=1.0,
        bar=Bar(BAR, 2011.0, 2011.0, 2010.0, 2010.0, 1.0),
    )  # fmt: skip


def _range_minus_six(direction: Direction) -> SignalSnapshot:
    """RANGE weights (2.1, 2.6, 2.0, 1.2, 1.2, 1.1) × (−1, −1, +0.2, −0.5, 0, −1): exactly −6,
    in floats −5.999999999999998. The VWAP's −1 is its side and the opposite volume, not its
    slope: row 7's other condition (slope against with confluence) stays out of it."""
    if direction == "buy":
        return snapshot(
            BAR, rg=regime(struct=Structure.RANGE), signal_close=1989.0, swing_low=1990.0,
            swing_high=2010.0, vwap=2005.0, vwap_below=3, rsi=55.0, rsi_prev=54.0,
            hist=(0.3, 0.2, 0.1), ema_fast_slope=-1e-3, ema_slow_slope=1e-3, atr_fast=1.0,
            bar=Bar(BAR, 1995.0, 1995.0, 1990.0, 1990.0, 1.0), order_flow=OrderFlow(20.0, 80.0),
        )  # fmt: skip
    return snapshot(
        BAR, rg=regime(struct=Structure.RANGE), signal_close=2011.0, swing_low=1990.0,
        swing_high=2010.0, vwap=1995.0, vwap_above=3, rsi=45.0, rsi_prev=46.0,
        hist=(-0.3, -0.2, -0.1), ema_fast_slope=1e-3, ema_slow_slope=-1e-3, atr_fast=1.0,
        bar=Bar(BAR, 2005.0, 2010.0, 2005.0, 2010.0, 1.0), order_flow=OrderFlow(80.0, 20.0),
    )  # fmt: skip


def _sided(direction: Direction, state: S = S.HEALTHY, **changes: object) -> TradeRecord:
    """The machine tests' armed trade at 2000 (R = 10), as a buy or a sell."""
    sl = 1990.0 if direction == "buy" else 2010.0
    return record(state, direction=direction, stop_loss=sl, initial_sl=sl, **changes)


def _at(snap: SignalSnapshot, rec: TradeRecord) -> Evaluation:
    q = Quote("XAUUSD", 1999.9, 2000.1, NOW)
    return evaluate(rec, snap, q, NOW, SETTINGS, GOLD, AccountState())


@pytest.mark.parametrize("direction", ["buy", "sell"])
def test_an_asian_score_of_exactly_minus_two_warns(direction: Direction) -> None:
    snap = _asian_minus_two(direction)
    bd = snap.score(direction)
    assert bd.subscores == (-1.0, -1.0, 0.0, 1.0, 0.0, 1.0)
    assert bd.total == pytest.approx(-2.0) and bd.total != -2.0  # the float misses it
    assert _at(snap, _sided(direction)).transition == (S.HEALTHY, S.WARNING_L1)


@pytest.mark.parametrize("direction", ["buy", "sell"])
def test_a_range_score_of_exactly_minus_six_hedges(direction: Direction) -> None:
    snap = _range_minus_six(direction)
    bd = snap.score(direction)
    assert bd.subscores == (-1.0, -1.0, pytest.approx(0.2), -0.5, 0.0, -1.0)
    assert bd.total == pytest.approx(-6.0) and bd.total != -6.0
    assert not bd.vwap_slope_against
    e = _at(snap, _sided(direction, S.WARNING_L2))
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.5})]


def test_a_confluence_of_exactly_the_threshold_is_against() -> None:
    """High-volatility weights (3.6, 1.8, 1.6, 1.5, 1.1, 0.9), sub-scores (−1, +1, −1, 0,
    −1, +1): against 6.3 of 9.0 is exactly 0.7, in floats 0.6999999999999998."""
    snap = snapshot(
        BAR, rg=regime(vol=Volatility.HIGH), signal_close=1989.0, swing_low=1990.0,
        swing_high=2010.0, vwap=1995.0, vwap_above=3, vwap_slope=0.01, rsi=30.0,
        rsi_prev=35.0, hist=(0.3, 0.2, 0.1), ema_fast_slope=0.0, ema_slow_slope=0.0,
        atr_fast=1.0, bar=Bar(BAR, 1990.0, 1991.0, 1990.0, 1991.0, 1.0),
        order_flow=OrderFlow(60.0, 40.0, -1.0),
    )  # fmt: skip
    bd = snap.score("buy")
    assert bd.subscores == (-1.0, 1.0, -1.0, 0.0, -1.0, 1.0)
    assert bd.confluence == pytest.approx(0.7) and bd.confluence != 0.7
    assert bd.confluence_against


# --- the ≥ thresholds: a float total a hair below them ------------------------------------------


def _float_total(rg_weights: tuple[float, ...], subs: tuple[float, ...]) -> float:
    """The total as the score adds it up: weight × sub-score, left to right."""
    total = 0.0
    for w, v in zip(rg_weights, subs, strict=True):
        total += w * v
    return total


ASIAN = weights_for(regime(session=Session.ASIAN), SETTINGS)
RANGE = weights_for(regime(struct=Structure.RANGE), SETTINGS)


@pytest.mark.parametrize("direction", ["buy", "sell"])
@pytest.mark.parametrize(
    ("state", "weights", "subs", "threshold", "to"),
    [
        (S.WARNING_L1, ASIAN, (-1, 0, 1, 0, 0, 1), 0.0, S.HEALTHY),
        (S.WARNING_L2, ASIAN, (-1, 0, 1, -1, 0, 0), -2.0, S.WARNING_L1),
        (S.WARNING_L1, RANGE, (-1, -0.5, -1, 0.25, 0, 1), -4.0, S.WARNING_L2),
        (S.HEDGED, RANGE, (1, -1, -0.4, 1, 0, 1), 1.0, S.RECOVERING),
    ],
)
def test_a_float_total_a_hair_off_its_threshold_still_steps(
    direction: Direction,
    state: S,
    weights: tuple[float, ...],
    subs: tuple[float, ...],
    threshold: float,
    to: S,
) -> None:
    total = _float_total(weights, subs)
    assert total == pytest.approx(threshold, abs=1e-12) and total != threshold
    changes: dict[str, object] = {}
    if state is S.HEDGED:
        changes.update(flat_deadline=NOW + minutes(60), volume=0.5, closed_volume=0.5)
    e = ev(_sided(direction, state, **changes), total, direction=direction)
    assert e.transition == (state, to)


def test_recovered_at_the_deadline_with_a_float_total_a_hair_below_plus_one() -> None:
    total = _float_total(RANGE, (1, -1, -0.4, 1, 0, 1))
    assert total < 1.0
    rec = record(S.RECOVERING, volume=0.5, closed_volume=0.5, recovery_deadline=NOW)
    assert ev(rec, total).transition == (S.RECOVERING, S.HEALTHY)


# --- R multiples on the EURUSD tick grid ---------------------------------------------------------

# a trade at 1.08548 with its stop 200 points away: in floats, 100 points is −0.49999999999994 R
# and 40 points +0.19999999999998 R, for a buy and a sell alike
ENTRY = 1.08548


def _eurusd(direction: Direction, **changes: object) -> TradeRecord:
    sl = round(ENTRY - 0.002, 5) if direction == "buy" else round(ENTRY + 0.002, 5)
    t = trade(direction=direction, entry=ENTRY, sl=sl, symbol="EURUSD")
    return replace(register(t, None, T0), **changes)  # type: ignore[arg-type]


def _at_exit(direction: Direction, points: int, at: datetime) -> Quote:
    """A quote whose exit price (bid for a buy, ask for a sell) is ``points`` in the
    trade's favour (negative: against) from the entry, on the 5-digit grid."""
    sign = 1 if direction == "buy" else -1
    exit_price = round(ENTRY + sign * points / 1e5, 5)
    if direction == "buy":
        return Quote("EURUSD", exit_price, round(exit_price + 0.00002, 5), at)
    return Quote("EURUSD", round(exit_price - 0.00002, 5), exit_price, at)


@pytest.mark.parametrize("direction", ["buy", "sell"])
@pytest.mark.parametrize("points", [-100, 40])  # −0.5 R (a loss), +0.2 R (a profit)
def test_arming_at_exactly_the_r_thresholds_on_the_tick_grid(
    direction: Direction, points: int
) -> None:
    rec = _eurusd(direction)
    q = _at_exit(direction, points, T0)
    gain_r = rec.sign * ((q.bid if direction == "buy" else q.ask) - ENTRY) / rec.r
    assert gain_r == pytest.approx(points / 200) and gain_r != points / 200
    now = T0 + minutes(5)  # one bar old: too young to be armed by age
    e = evaluate(rec, scored(0.0, T0), _at_exit(direction, points, now), now, SETTINGS, EURUSD,
                 AccountState())  # fmt: skip
    assert e.record.armed and e.score is not None
    short = evaluate(rec, scored(0.0, T0), _at_exit(direction, points // 2, now), now, SETTINGS,
                     EURUSD, AccountState())  # fmt: skip
    assert not short.record.armed


@pytest.mark.parametrize("direction", ["buy", "sell"])
def test_a_move_of_exactly_half_an_r_against_is_scored_at_once(direction: Direction) -> None:
    rec = _eurusd(direction, armed=True, last_bar_time=BAR, last_eval_price=ENTRY, seq=3)
    snap = scored(-1.0, BAR, direction=direction)  # the bar already scored: no new bar
    e = evaluate(rec, snap, _at_exit(direction, -100, NOW), NOW, SETTINGS, EURUSD, AccountState())
    assert e.score is not None and e.record.last_score == -1.0
    less = evaluate(rec, snap, _at_exit(direction, -99, NOW), NOW, SETTINGS, EURUSD, AccountState())
    assert less.score is None


# --- the spread rail at exactly twice the median ------------------------------------------------


def test_a_gold_spread_of_exactly_twice_the_median_allows_a_hedge() -> None:
    q = Quote("XAUUSD", 1999.80, 2000.20, NOW)
    assert q.spread > 0.4  # 0.40000000000009095
    snap = scored(-7.0, BAR, median_spread=0.2)
    assert spread_ok(snap, q, SETTINGS)
    assert not spread_ok(snap, Quote("XAUUSD", 1999.80, 2000.21, NOW), SETTINGS)
    e = ev(record(S.WARNING_L2), -7.0, q=q, median_spread=0.2)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.5})]
