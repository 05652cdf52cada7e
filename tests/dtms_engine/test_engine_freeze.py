"""The freeze level (docs/dtms.md §6: inside it the action waits), as the broker applies it:
to a stop move and to a close, partial or full, alike, and measured from the stop and from
the target. A close sent inside it is refused (MetaTrader's 10029 FROZEN)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, quote, trade

from dtms_plugin.engine import TradeRecord, register
from dtms_plugin.engine.planning import Send, Wait, in_freeze, plan_intent
from hookspecs import ActionKind, Quote

K = ActionKind
FROZEN = replace(GOLD, freeze_level=0.5)


def buy(**changes: object) -> TradeRecord:
    """A buy at 2000 with its stop at 1990 (R = 10), 1 lot, no target."""
    return replace(register(trade(), None, T0), **changes)  # type: ignore[arg-type]


def sell(**changes: object) -> TradeRecord:
    """A sell at 2000 with its stop at 2010, 1 lot, no target."""
    base = register(trade(direction="sell", sl=2010.0), None, T0)
    return replace(base, **changes)  # type: ignore[arg-type]


def plan(rec: TradeRecord, intent: K, q: Quote | None) -> object:
    return plan_intent(rec, intent, q, FROZEN, SETTINGS, spread_ok=True, reason="r")


@pytest.mark.parametrize("intent", [K.PARTIAL_CLOSE, K.CLOSE, K.TIGHTEN_SL, K.MOVE_SL_BREAKEVEN])
def test_a_close_waits_inside_the_freeze_level_of_the_stop_as_a_stop_move_does(
    intent: K,
) -> None:
    rec = buy(stop_loss=1999.5)
    out = plan(rec, intent, quote(2000.1))  # bid 2000.0: 0.5 from the stop
    assert isinstance(out, Wait), out
    assert not isinstance(plan(rec, intent, quote(2000.11)), Wait)  # 0.51: outside


@pytest.mark.parametrize("intent", [K.PARTIAL_CLOSE, K.CLOSE, K.TIGHTEN_SL])
def test_the_target_holds_the_position_as_the_stop_does(intent: K) -> None:
    rec = buy(take_profit=2000.5)
    assert isinstance(plan(rec, intent, quote(2000.1)), Wait)  # bid 2000.0: 0.5 below it
    assert not isinstance(plan(rec, intent, quote(1999.9)), Wait)  # 0.7 below it


def test_a_sells_levels_are_measured_from_the_ask() -> None:
    assert in_freeze(sell(stop_loss=2000.6), quote(2000.0), FROZEN)  # ask 2000.1: 0.5
    assert not in_freeze(sell(stop_loss=2000.61), quote(2000.0), FROZEN)
    assert in_freeze(sell(stop_loss=None, take_profit=1999.6), quote(2000.0), FROZEN)
    assert not in_freeze(sell(stop_loss=None, take_profit=1999.59), quote(2000.0), FROZEN)


def test_a_level_past_the_price_counts_as_inside_as_the_broker_measures_it() -> None:
    assert in_freeze(buy(stop_loss=2001.0), quote(2000.1), FROZEN)  # stop above the bid
    assert in_freeze(buy(stop_loss=None, take_profit=1999.0), quote(2000.1), FROZEN)
    assert in_freeze(sell(stop_loss=1999.0), quote(2000.0), FROZEN)
    assert in_freeze(sell(stop_loss=None, take_profit=2001.0), quote(2000.0), FROZEN)


def test_far_levels_or_none_do_not_hold_the_position() -> None:
    assert not in_freeze(buy(stop_loss=None), quote(2000.1), FROZEN)
    assert not in_freeze(buy(take_profit=2010.0), quote(2000.1), FROZEN)
    assert not in_freeze(buy(stop_loss=2000.0), quote(2000.1), GOLD)  # no freeze level


def test_a_hedge_a_re_add_and_a_hedge_close_are_not_held_by_the_trades_freeze_level() -> None:
    rec = buy(stop_loss=1999.5, hedge_ticket=9, closed_volume=0.5)
    for intent in (K.HEDGE, K.RE_ADD, K.CLOSE_HEDGE):
        assert isinstance(plan(rec, intent, quote(2000.1)), Send), intent


def test_a_close_without_a_quote_is_still_sent() -> None:
    out = plan(buy(stop_loss=1999.5), K.CLOSE, None)
    assert isinstance(out, Send)
