"""Action sizing and rounding (docs/dtms.md §6), the journal, the record's JSON and the rails."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, trade

from dtms_plugin.engine import (
    JournalStatus,
    TradeRecord,
    begin,
    check_account,
    finish,
    outcome_from_broker,
    register,
    settle,
)
from dtms_plugin.engine.planning import (
    Send,
    Skip,
    Wait,
    breakeven_level,
    place_sl,
    plan_intent,
)
from dtms_plugin.engine.volumes import hedge_volume, partial_volume, re_add_volume
from hookspecs import Action, ActionKind, ActionResult, DefensiveState, ResultCode, SymbolInfo

EURUSD = SymbolInfo("EURUSD", 5, 0.00001, 0.1, 0.1, 50.0, stops_level=0.0002)
K = ActionKind


@pytest.mark.parametrize(
    ("volume", "info", "expected"),
    [
        (1.0, GOLD, 0.5),
        (0.07, GOLD, 0.03),  # 0.035 floored to the 0.01 step
        (0.03, GOLD, 0.01),  # leaves 0.02
        (0.01, GOLD, None),  # 0.005 floors to 0: below the minimum
        (0.3, EURUSD, 0.1),  # 0.15 floored to the 0.1 step, leaves 0.2
        (0.2, EURUSD, 0.1),
        (0.1, EURUSD, None),  # 0.05 → 0 with step 0.1
    ],
)
def test_partial_volume_floored_to_the_step(
    volume: float, info: SymbolInfo, expected: float | None
) -> None:
    assert partial_volume(volume, 0.5, info)[0] == expected


def test_partial_skipped_when_the_remainder_would_be_below_the_minimum() -> None:
    info = SymbolInfo("X", 2, 0.01, 0.1, 0.01, 100.0)
    vol, why = partial_volume(0.15, 0.5, info)  # 0.07 < min 0.1
    assert vol is None and "below the minimum" in why
    vol, why = partial_volume(0.15, 0.7, info)  # 0.1 would leave 0.05 < 0.1
    assert vol is None and "would leave 0.05 open" in why


def rec(**changes: object) -> TradeRecord:
    return replace(register(trade(), None, T0), **changes)  # type: ignore[arg-type]


def test_sl_rounded_to_digits() -> None:
    sl, _ = place_sl(rec(), 1996.8765, quote(2000.0), GOLD)
    assert sl == 1996.88


def test_sl_inside_stops_level_is_moved_out() -> None:
    info = replace(GOLD, stops_level=1.0)
    sl, note = place_sl(rec(), 1999.5, quote(2000.0, spread=0.2), info)
    # bid 1999.9 - (stops 1.0 + spread 0.2)
    assert sl == 1998.7 and "stops level" in note
    sell = rec(direction="sell", stop_loss=2010.0)
    sl, _ = place_sl(sell, 2000.5, quote(2000.0, spread=0.2), info)
    assert sl == 2001.3  # ask 2000.1 + 1.2


def test_stops_only_tighten() -> None:
    sl, why = place_sl(rec(stop_loss=1997.0), 1996.9, quote(2000.0), GOLD)
    assert sl is None and "not tighter" in why
    sell = rec(direction="sell", stop_loss=2002.0)
    assert place_sl(sell, 2003.0, quote(2000.0), GOLD)[0] is None
    assert place_sl(sell, 2001.0, quote(2000.0), GOLD)[0] == 2001.0


def test_freeze_level_makes_the_stop_wait() -> None:
    info = replace(GOLD, freeze_level=2.0)
    r = rec(stop_loss=1998.5, r=10.0)
    out = plan_intent(r, K.TIGHTEN_SL, quote(2000.0), info, SETTINGS, spread_ok=True, reason="")
    assert isinstance(out, Wait)


def test_breakeven_buffer_is_max_of_spread_and_stops_level() -> None:
    assert breakeven_level(rec(), quote(2005.0, spread=0.3), GOLD) == pytest.approx(2000.3)
    info = replace(GOLD, stops_level=0.5)
    assert breakeven_level(rec(), quote(2005.0, spread=0.3), info) == pytest.approx(2000.5)
    assert breakeven_level(rec(), quote(2000.5, spread=0.3), info) is None  # no room yet
    assert breakeven_level(rec(), quote(1995.0), GOLD) is None  # losing trade


@pytest.mark.parametrize(
    ("volume", "info", "expected"),
    [
        (1.0, GOLD, 0.5),
        (0.07, GOLD, 0.03),  # 0.035 floored to the step
        (0.01, GOLD, 0.01),  # 0.005 floors to 0: raised to the minimum, the whole trade
        (0.03, GOLD, 0.01),
        (0.15, EURUSD, 0.1),  # 0.075 → 0, raised to the 0.1 minimum, under the open 0.15
        (0.1, EURUSD, 0.1),
        (0.3, EURUSD, 0.1),
        (0.05, EURUSD, None),  # an open volume below the minimum cannot be hedged at all
    ],
)
def test_hedge_volume_is_half_but_at_least_the_minimum_and_at_most_the_open_volume(
    volume: float, info: SymbolInfo, expected: float | None
) -> None:
    assert hedge_volume(volume, 0.5, info)[0] == expected


def test_a_minimum_lot_trade_is_hedged_whole_but_never_partially_closed() -> None:
    small = rec(volume=0.01)
    hedge = plan_intent(small, K.HEDGE, quote(2000.0), GOLD, SETTINGS, spread_ok=True, reason="")
    assert isinstance(hedge, Send) and hedge.action.params == {"volume": 0.01}
    partial = plan_intent(
        small, K.PARTIAL_CLOSE, quote(2000.0), GOLD, SETTINGS, spread_ok=True, reason=""
    )
    assert partial == Skip(
        "partial volume 0.005 (it floors to 0 at the step 0.01) below the minimum 0.01"
    )


def test_a_volume_below_the_minimum_is_said_as_asked_and_as_floored() -> None:
    """A 0.05 partial at a 0.1 step read "partial volume 0 below the minimum 0.1", as if
    nothing had been asked: the volume asked is said, and what the step made of it."""
    assert partial_volume(0.1, 0.5, EURUSD) == (
        None, "partial volume 0.05 (it floors to 0 at the step 0.1) below the minimum 0.1"
    )  # fmt: skip
    fine = SymbolInfo("X", 2, 0.01, 0.1, 0.01, 100.0)  # a 0.1 minimum, a 0.01 step
    assert partial_volume(0.1, 0.5, fine) == (None, "partial volume 0.05 below the minimum 0.1")
    assert re_add_volume(0.1, 0.5, fine) == (None, "re-add volume 0.05 below the minimum 0.1")
    assert re_add_volume(0.1, 0.55, fine)[1] == (
        "re-add volume 0.055 (it floors to 0.05 at the step 0.01) below the minimum 0.1"
    )


def test_a_re_add_below_the_minimum_is_skipped_not_raised() -> None:
    assert re_add_volume(0.01, 0.5, GOLD) == (
        None, "re-add volume 0.005 (it floors to 0 at the step 0.01) below the minimum 0.01"
    )  # fmt: skip
    assert re_add_volume(0.02, 0.5, GOLD) == (0.01, "")
    small = rec(closed_volume=0.01)
    out = plan_intent(small, K.RE_ADD, quote(2000.0), GOLD, SETTINGS, spread_ok=True, reason="")
    assert isinstance(out, Skip)


def test_a_wide_spread_holds_a_hedge() -> None:
    wide = plan_intent(rec(), K.HEDGE, quote(2000.0), GOLD, SETTINGS, spread_ok=False, reason="")
    assert isinstance(wide, Wait)
    ok = plan_intent(rec(), K.HEDGE, quote(2000.0), GOLD, SETTINGS, spread_ok=True, reason="x")
    assert isinstance(ok, Send) and ok.action.params == {"volume": 0.5}


# --- journal ---------------------------------------------------------------------------


def owing(*kinds: K) -> TradeRecord:
    return rec(state=DefensiveState.WARNING_L2, seq=2, owed=kinds, armed=True)


def test_done_partial_close_updates_volumes_and_leaves_owed() -> None:
    r = owing(K.PARTIAL_CLOSE)
    a = Action(1, K.PARTIAL_CLOSE, {"volume": 0.5}, "", "1:2:partial_close")
    r = begin(r, a, T0)
    assert r.entry(a.key).status is JournalStatus.PENDING  # type: ignore[union-attr]
    r = finish(r, a, ActionResult.success(), T0, SETTINGS)
    assert (r.volume, r.closed_volume, r.owed) == (0.5, 0.5, ())
    e = r.entry(a.key)
    assert e is not None and e.status is JournalStatus.DONE and e.attempts == 1


def test_failed_action_is_retried_three_times_then_given_up() -> None:
    r = owing(K.TIGHTEN_SL)
    a = Action(1, K.TIGHTEN_SL, {"stop_loss": 1995.0}, "", "1:2:tighten_sl")
    for attempt in range(1, 5):
        r = begin(r, a, T0)
        r = finish(r, a, ActionResult.failure(ResultCode.TRANSIENT, "requote"), T0, SETTINGS)
        assert r.entry(a.key).attempts == attempt  # type: ignore[union-attr]
        assert (r.owed == (K.TIGHTEN_SL,)) is (attempt < 4)
    assert "given up" in r.warnings[-1]


def test_a_vetoed_re_add_is_given_up_at_once() -> None:
    """Another plugin's veto will not change on a retry: no second attempt."""
    r = owing(K.RE_ADD)
    a = Action(1, K.RE_ADD, {"volume": 0.25}, "", "1:2:re_add")
    vetoed = ActionResult.failure(ResultCode.VETOED, "vetoed by risk: over 0.2 lots")
    r = finish(begin(r, a, T0), a, vetoed, T0, SETTINGS)
    assert r.owed == ()
    assert r.warnings[-1] == "re_add failed (vetoed: vetoed by risk: over 0.2 lots); given up"


def test_close_of_a_gone_position_counts_as_done() -> None:
    r = owing(K.CLOSE_HEDGE)
    r = replace(r, hedge_ticket=9)
    a = Action(1, K.CLOSE_HEDGE, {"hedge_ticket": 9}, "", "1:2:close_hedge")
    r = finish(begin(r, a, T0), a, ActionResult.failure(ResultCode.NOT_FOUND, "gone"), T0, SETTINGS)
    assert r.hedge_ticket is None and r.owed == ()


def test_unknown_partial_close_is_settled_from_the_position() -> None:
    r = owing(K.PARTIAL_CLOSE)
    a = Action(1, K.PARTIAL_CLOSE, {"volume": 0.5}, "", "1:2:partial_close")
    r = finish(
        begin(r, a, T0),
        a,
        ActionResult.failure(ResultCode.UNKNOWN_OUTCOME, "timeout"),
        T0,
        SETTINGS,
    )
    entry = r.entry(a.key)
    assert entry is not None and entry.status is JournalStatus.UNKNOWN
    done, _ = outcome_from_broker(r, entry, replace(trade(), volume=0.5), [])
    assert done
    not_done, _ = outcome_from_broker(r, entry, trade(), [])
    assert not not_done
    settled = settle(r, entry, True, None, T0, SETTINGS)
    assert settled.volume == 0.5 and settled.owed == ()


def test_record_json_roundtrip_is_json_only() -> None:
    r = owing(K.HEDGE)
    a = Action(1, K.HEDGE, {"volume": 0.5}, "", "1:2:hedge")
    r = finish(begin(r, a, T0), a, ActionResult.success(new_ticket=42), T0, SETTINGS)
    r = replace(r, flat_deadline=T0 + minutes(75), warnings=("w",), last_score=-6.5)
    text = json.dumps(r.to_json())
    back = TradeRecord.from_json(json.loads(text))
    assert back == r
    assert back.hedge_ticket == 42 and back.flat_deadline == T0 + minutes(75)


# --- account rails -------------------------------------------------------------------


def closed(ticket: int, profit: float, reason: str, at_min: float) -> TradeRecord:
    return rec(
        ticket=ticket,
        state=DefensiveState.CLOSED,
        realised_profit=profit,
        close_reason=reason,
        closed_at=T0 + minutes(at_min),
    )


def test_daily_loss_rail_until_end_of_utc_day() -> None:
    now = T0 + minutes(60)
    rs = [closed(1, -100.0, "exit", 10), closed(2, -110.0, "take_profit", 20)]
    # balance now 9,790: start of day 10,000, loss 2.1 %
    mode = check_account(rs, 9790.0, now, SETTINGS)
    assert mode is not None and mode.until == T0.replace(hour=0) + minutes(24 * 60)
    assert check_account(rs[:1], 9890.0, now, SETTINGS) is None


def test_stop_streak_rail_for_sixty_minutes() -> None:
    rs = [closed(i, -1.0, "stop_loss", 10 * i) for i in (1, 2, 3)]
    mode = check_account(rs, 100000.0, T0 + minutes(31), SETTINGS)
    assert mode is not None and mode.until == T0 + minutes(90)
    assert check_account(rs, 100000.0, T0 + minutes(91), SETTINGS) is None
    broken = [*rs[:2], closed(3, 5.0, "take_profit", 30)]
    assert check_account(broken, 100000.0, T0 + minutes(31), SETTINGS) is None
    trailed = [*rs[:2], closed(3, 2.0, "stop_loss", 30)]  # a trailing stop hit in profit
    assert check_account(trailed, 100000.0, T0 + minutes(31), SETTINGS) is None


@pytest.mark.parametrize(
    ("stops", "mid", "kind", "sl"),
    [
        (0.0, 2000.4, K.MOVE_SL_BREAKEVEN, 2000.1),  # beyond BE 2000.2: BE moved out to bid−spread
        (0.0, 2001.1, K.MOVE_SL_BREAKEVEN, 2000.2),  # room enough: BE itself
        (0.5, 2000.4, K.TIGHTEN_SL, 1997.3),  # bid 2000.3 not beyond BE 2000.5: 0.3R behind
        (0.5, 2001.0, K.MOVE_SL_BREAKEVEN, 2000.2),  # BE moved out to bid−stops−spread
        (0.5, 2001.5, K.MOVE_SL_BREAKEVEN, 2000.5),
        (2.0, 2002.3, K.MOVE_SL_BREAKEVEN, 2000.0),  # moved out to the entry itself
        (2.0, 2002.2, K.TIGHTEN_SL, 1999.1),  # beyond BE 2002.0, but the level is below entry
    ],
)
def test_breakeven_when_price_is_beyond_it_is_moved_out_to_the_stops_level(
    stops: float, mid: float, kind: K, sl: float
) -> None:
    info = replace(GOLD, stops_level=stops)
    out = plan_intent(
        rec(), K.MOVE_SL_BREAKEVEN, quote(mid, 0.2), info, SETTINGS, spread_ok=True, reason="x"
    )
    assert isinstance(out, Send)
    assert (out.action.kind, out.action.params) == (kind, {"stop_loss": sl})
