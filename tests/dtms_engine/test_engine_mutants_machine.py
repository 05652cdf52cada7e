"""The state machine of docs/dtms.md §5 at its edges: thresholds hit exactly, deadlines
reached to the second, arming with an unknown R, the adverse-move trigger, an action whose
outcome is unknown, a position that disappears, and what the broker's picture of a trade
does to its record (``close_record``, ``sync_position``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, scored, trade
from support.dtms_machine import BAR, NOW, ev, record

from dtms_plugin.engine import (
    AccountState,
    TradeRecord,
    begin,
    close_record,
    evaluate,
    finish,
    hedge_closed,
    register,
    spread_ok,
    sync_position,
)
from dtms_plugin.engine.record import JournalStatus
from dtms_plugin.settings import ActionsConfig, DtmsSettings
from hookspecs import ActionKind, ActionResult, DefensiveState, Quote, ResultCode, Trade

S = DefensiveState
K = ActionKind


def failed(rec: TradeRecord, kind: K, at: datetime = NOW, **params: object) -> TradeRecord:
    """``rec`` with one failed attempt of its owed ``kind`` journaled."""
    from hookspecs import Action

    action = Action(rec.ticket, kind, params, "test", rec.key_for(kind))
    rec = begin(rec, action, at)
    return finish(rec, action, ActionResult.failure(ResultCode.TRANSIENT, "requote"), at, SETTINGS)


def pending(rec: TradeRecord, kind: K, at: datetime = NOW) -> TradeRecord:
    """``rec`` with an action of ``kind`` sent and no answer yet."""
    from hookspecs import Action

    return begin(rec, Action(rec.ticket, kind, {}, "test", rec.key_for(kind)), at)


# --- what an evaluation reports ---------------------------------------------------------------


def test_an_evaluation_changed_something_when_it_stepped_or_acts() -> None:
    assert ev(record(), -2.0).changed  # a transition (and its tighten)
    assert not ev(record(), -1.0).changed
    trailing = ev(record(S.WARNING_L1, owed=(K.TIGHTEN_SL,)), -1.0)
    assert trailing.transition is None and trailing.actions and trailing.changed


# --- the spread rail ------------------------------------------------------------------------


def exact(bid: float, ask: float) -> Quote:
    return Quote("XAUUSD", bid, ask, NOW)


def test_no_hedge_without_a_quote() -> None:
    assert spread_ok(scored(0.0, BAR, median_spread=0.25), None, SETTINGS) is False
    assert spread_ok(None, None, SETTINGS) is False
    e = ev(record(S.WARNING_L2), -7.0, no_quote=True)
    assert e.transition is None and e.actions == ()
    assert e.reason.startswith("hedge held back (S -7.00 ≤ -6): no quote;")
    rehedge = ev(record(S.RECOVERING, recovery_deadline=NOW + minutes(10)), -7.0, no_quote=True)
    assert rehedge.transition is None
    assert rehedge.reason.startswith("re-hedge held back (S -7.00): no quote;")


@pytest.mark.parametrize(("ask", "ok"), [(2000.25, True), (2000.26, False)])
def test_a_spread_of_exactly_twice_the_median_still_allows_a_hedge(ask: float, ok: bool) -> None:
    snap = scored(0.0, BAR, median_spread=0.25)
    assert spread_ok(snap, exact(1999.75, ask), SETTINGS) is ok


def test_re_hedge_held_back_while_the_spread_is_wide() -> None:
    rec = record(S.RECOVERING, recovery_deadline=NOW + minutes(10), closed_volume=0.5)
    e = ev(rec, -7.0, q=quote(2000.0, spread=0.5), median_spread=0.2)
    assert e.transition is None and e.actions == ()
    assert e.reason.startswith("re-hedge held back (S -7.00): spread above the limit")


# --- arming -----------------------------------------------------------------------------------


def young(**changes: object) -> TradeRecord:
    return replace(register(trade(), None, T0), **changes)  # type: ignore[arg-type]


def test_arming_at_exactly_plus_0_2_r() -> None:
    e = evaluate(
        young(), scored(0.5, T0), quote(2002.1), T0 + minutes(5), SETTINGS, GOLD, AccountState()
    )  # bid 2002.0: +0.2 R exactly
    assert e.record.armed and e.score is not None


def test_arming_by_price_with_a_small_r() -> None:
    rec = young(r=0.5, stop_loss=1999.5, initial_sl=1999.5)
    e = evaluate(
        rec, scored(0.5, T0), quote(2000.3), T0 + minutes(5), SETTINGS, GOLD, AccountState()
    )  # bid 2000.2: +0.4 R of 0.5
    assert e.record.armed


def test_a_trade_with_unknown_r_is_armed_by_age_only() -> None:
    rec = register(trade(sl=None), None, T0)
    assert rec.r == 0.0
    e = evaluate(
        rec, scored(0.5, T0), quote(2050.0), T0 + minutes(5), SETTINGS, GOLD, AccountState()
    )
    assert not e.record.armed and e.score is None and e.why == "not armed"
    old = evaluate(
        rec, scored(0.5, T0 + minutes(10)), quote(2050.0), T0 + minutes(15), SETTINGS, GOLD,
        AccountState(),
    )  # fmt: skip
    assert old.record.armed


# --- R unknown → 1 × ATR --------------------------------------------------------------------


def test_r_unknown_is_set_to_one_atr_by_the_first_evaluation_that_has_one() -> None:
    rec = record(r=0.0, stop_loss=None, initial_sl=None)
    snap = scored(0.0, BAR)
    snap.atr = 4.0
    e = evaluate(rec, snap, quote(2000.0), NOW, SETTINGS, GOLD, AccountState())
    assert e.record.r == 4.0
    assert e.record.warnings == ("R set to 1 × ATR",)


def test_a_known_r_is_never_replaced_by_the_atr() -> None:
    rec = record(r=0.5)
    snap = scored(0.0, BAR)
    snap.atr = 4.0
    e = evaluate(rec, snap, quote(2000.0), NOW, SETTINGS, GOLD, AccountState())
    assert e.record.r == 0.5 and e.record.warnings == ()


def test_r_stays_unknown_without_bars() -> None:
    rec = record(r=0.0, stop_loss=None, initial_sl=None)
    e = evaluate(rec, None, quote(2000.0), NOW, SETTINGS, GOLD, AccountState())
    assert e.record.r == 0.0 and e.why == "no bars yet"


# --- the adverse-move trigger ------------------------------------------------------------------


def test_scoring_records_the_price_it_was_made_at() -> None:
    e = ev(record(), -1.0, q=quote(1996.0))
    assert e.record.last_eval_price == 1995.9  # the bid: a buy's exit price
    blind = ev(record(), -1.0, no_quote=True)
    assert blind.score is not None and blind.record.last_eval_price == 1999.9


def test_half_an_r_against_since_the_last_scoring_rescores_on_the_same_bar() -> None:
    rec = record(S.WARNING_L1, last_bar_time=BAR, last_eval_price=2000.0)
    at = ev(rec, -5.0, q=quote(1995.1))  # bid 1995.0: exactly 0.5 R against
    assert at.score is not None and at.transition == (S.WARNING_L1, S.WARNING_L2)
    assert at.record.last_eval_price == 1995.0


def test_the_adverse_trigger_scales_with_a_small_r() -> None:
    rec = record(S.WARNING_L1, r=0.5, last_bar_time=BAR, last_eval_price=2000.0)
    e = ev(rec, -5.0, q=quote(1999.6))  # bid 1999.5: 1 R of 0.5 against
    assert e.score is not None


def test_no_adverse_trigger_while_r_is_unknown() -> None:
    rec = record(S.WARNING_L1, r=0.0, last_bar_time=BAR, last_eval_price=2000.0)
    e = ev(rec, -5.0, q=quote(1990.0))
    assert e.score is None and e.transition is None


# --- the table's boundaries -------------------------------------------------------------------


def test_hedged_reason_names_the_score_when_it_is_at_the_hedge_threshold() -> None:
    e = ev(record(S.WARNING_L2), -6.0, vwap_against=True, confluence_against=True)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert e.why == "WARNING_L2→HEDGED: S -6.00 ≤ -6"
    slope = ev(record(S.WARNING_L2), -5.0, vwap_against=True, confluence_against=True)
    assert slope.why == "WARNING_L2→HEDGED: VWAP slope against"


def test_structure_at_zero_with_confluence_against_is_no_change_of_character() -> None:
    rec = record(S.HEDGED, hedge_ticket=77, flat_deadline=NOW + minutes(60))
    e = ev(rec, -3.0, structure=0.0, confluence_against=True)
    assert e.transition is None and e.record.state is S.HEDGED


def test_a_netting_hedge_recovers_without_a_hedge_to_close() -> None:
    rec = record(S.HEDGED, hedge_ticket=None, flat_deadline=NOW + minutes(60))
    e = ev(rec, 1.0, hedging=False)
    assert e.transition == (S.HEDGED, S.RECOVERING)
    assert e.actions == () and e.record.owed == () and e.record.warnings == ()


def test_the_flat_deadline_closes_all_at_exactly_its_time() -> None:
    rec = record(S.HEDGED, hedge_ticket=77, flat_deadline=NOW, last_bar_time=BAR)
    e = ev(rec, 0.5)
    assert e.transition == (S.HEDGED, S.CLOSED)


def test_recovering_rehedges_at_exactly_the_hedge_threshold() -> None:
    rec = record(S.RECOVERING, recovery_deadline=NOW + minutes(10), closed_volume=0.5)
    e = ev(rec, -6.0)
    assert e.transition == (S.RECOVERING, S.HEDGED)


@pytest.mark.parametrize(("last", "to"), [(-0.5, S.CLOSED), (1.0, S.HEALTHY)])
def test_recovering_past_its_deadline_decides_on_the_last_score_without_a_new_bar(
    last: float, to: S
) -> None:
    rec = record(
        S.RECOVERING, recovery_deadline=NOW - minutes(1), last_bar_time=BAR, last_score=last
    )
    e = ev(rec, -9.0)  # the same bar again: not scored
    assert e.score is None
    assert e.transition == (S.RECOVERING, to)
    assert e.record.recovery_deadline is None


def test_recovering_past_its_deadline_never_scored_waits() -> None:
    rec = record(S.RECOVERING, recovery_deadline=NOW - minutes(1), last_bar_time=BAR)
    assert ev(rec, 1.0).transition is None


def test_recovered_with_re_add_on_but_nothing_closed_re_adds_nothing() -> None:
    on = DtmsSettings(actions=ActionsConfig(re_add=True))
    rec = record(S.RECOVERING, recovery_deadline=NOW, closed_volume=0.0)
    e = ev(rec, 1.5, settings=on)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert e.actions == () and e.record.owed == () and e.record.warnings == ()


def test_an_ordinary_step_owes_no_hedge_close_and_leaves_no_warning() -> None:
    e = ev(record(), -2.0)
    assert e.record.owed == (K.TIGHTEN_SL,) and e.record.warnings == ()


# --- an action whose outcome is unknown is settled first -------------------------------------


@pytest.mark.parametrize("status", [JournalStatus.PENDING, JournalStatus.UNKNOWN])
def test_nothing_is_decided_while_an_actions_outcome_is_unknown(status: JournalStatus) -> None:
    rec = pending(record(S.WARNING_L1, owed=(K.TIGHTEN_SL,)), K.TIGHTEN_SL)
    if status is JournalStatus.UNKNOWN:
        entry = replace(rec.journal[-1], status=JournalStatus.UNKNOWN)
        rec = replace(rec, journal=(entry,))
    e = ev(rec, -9.0)
    assert e.score is None and e.transition is None and e.actions == ()
    assert e.why == "waiting: an action's outcome is unknown"
    assert e.record is rec


def test_a_settled_failure_does_not_block_the_next_evaluation() -> None:
    rec = failed(record(S.WARNING_L1, owed=(K.TIGHTEN_SL,)), K.TIGHTEN_SL, stop_loss=1996.9)
    e = ev(rec, -5.0)
    assert e.transition == (S.WARNING_L1, S.WARNING_L2)


def test_while_a_close_is_unanswered_nothing_else_is_sent_for_the_trade() -> None:
    rec = record(S.CLOSED, hedge_ticket=77, owed=(K.CLOSE, K.CLOSE_HEDGE))
    rec = pending(rec, K.CLOSE)
    e = ev(rec, 0.0, bar=BAR + minutes(5), now=NOW + minutes(5))
    assert e.actions == ()


# --- the position is gone ------------------------------------------------------------------


def test_a_position_gone_without_a_hedge_owes_nothing() -> None:
    e = ev(record(S.WARNING_L1), -1.0, gone=True)
    assert e.transition == (S.WARNING_L1, S.CLOSED)
    assert e.record.owed == () and e.record.warnings == ()
    assert e.record.close_reason == "position gone" and e.record.closed_at == NOW


def test_a_position_gone_keeps_a_close_reason_already_known() -> None:
    e = ev(record(S.WARNING_L1, close_reason="take_profit"), -1.0, gone=True)
    assert e.record.close_reason == "take_profit"


def test_a_stuck_close_settled_by_hand_resends_a_failed_hedge_close() -> None:
    rec = record(S.CLOSED, seq=6, hedge_ticket=77, owed=(K.CLOSE, K.CLOSE_HEDGE))
    rec = failed(rec, K.CLOSE_HEDGE, hedge_ticket=77)
    e = ev(rec, 0.0, gone=True)
    assert e.record.close_reason == "position gone" and e.record.closed_at == NOW
    assert e.record.owed == (K.CLOSE_HEDGE,)
    assert [a.kind for a in e.actions] == [K.CLOSE_HEDGE]


def test_a_closed_record_retries_its_owed_close_only_on_a_new_bar_with_data() -> None:
    rec = record(S.CLOSED, seq=6, hedge_ticket=77, owed=(K.CLOSE_HEDGE,), last_bar_time=BAR)
    rec = failed(rec, K.CLOSE_HEDGE, hedge_ticket=77)
    assert evaluate(rec, None, quote(2000.0), NOW, SETTINGS, GOLD, AccountState()).actions == ()
    assert ev(rec, 0.0).actions == ()  # the same bar
    e = ev(rec, 0.0, bar=BAR + minutes(5), now=NOW + minutes(5))
    assert [a.kind for a in e.actions] == [K.CLOSE_HEDGE]


# --- the trailing stop's guard ---------------------------------------------------------------


def test_no_trailing_stop_on_stale_data() -> None:
    snap = scored(0.0, BAR)
    snap.trail = (2010.0, 1995.0, 2.0)
    fresh = evaluate(record(), snap, quote(2006.0), NOW, SETTINGS, GOLD, AccountState())
    assert [a.kind for a in fresh.actions] == [K.TIGHTEN_SL]
    late = NOW + minutes(11)
    stale = evaluate(record(), snap, quote(2006.0), late, SETTINGS, GOLD, AccountState())
    assert stale.actions == ()


# --- the broker's picture ---------------------------------------------------------------------


def closed_trade(profit: float = -12.5, at: datetime | None = NOW) -> Trade:
    return replace(trade(), profit=profit, closed_at=at)


def test_close_record_closes_the_trade_and_owes_its_hedge_a_close() -> None:
    rec = record(S.HEDGED, hedge_ticket=77, flat_deadline=NOW + minutes(60))
    out, transition = close_record(rec, closed_trade(), "stop_loss", NOW + minutes(1))
    assert transition == (S.HEDGED, S.CLOSED)
    assert out.state is S.CLOSED and out.seq == 4 and out.owed == (K.CLOSE_HEDGE,)
    assert out.closed_at == NOW and out.close_reason == "stop_loss"
    assert out.realised_profit == -12.5 and out.flat_deadline is None


def test_close_record_without_a_close_time_uses_now() -> None:
    out, transition = close_record(record(), closed_trade(at=None), "exit", NOW)
    assert transition == (S.HEALTHY, S.CLOSED)
    assert out.closed_at == NOW and out.owed == ()


def test_close_record_of_a_trade_dtms_already_closed() -> None:
    stuck = record(S.CLOSED, hedge_ticket=77, owed=(K.CLOSE,))
    out, transition = close_record(stuck, closed_trade(), "exit", NOW)
    assert transition is None and out.state is S.CLOSED
    assert out.owed == (K.CLOSE_HEDGE,) and out.realised_profit == -12.5
    done = record(S.CLOSED, owed=(K.CLOSE_HEDGE,), hedge_ticket=77)
    out, _ = close_record(done, closed_trade(), "exit", NOW)
    assert out.owed == (K.CLOSE_HEDGE,)


def test_a_trades_result_counts_its_hedges_closed_before_and_after_it() -> None:
    """The account rails sum ``realised_profit``: a hedge's loss is the account's too
    (docs/dtms.md §7), whichever of the two closed first."""
    hedge = replace(trade(), ticket=77, direction="sell", profit=-6.5)
    rec = record(S.RECOVERING, hedge_ticket=77, hedge_volume=0.5)
    unhedged = hedge_closed(rec, hedge)
    assert (unhedged.hedge_ticket, unhedged.hedge_volume) == (None, 0.0)
    assert (unhedged.hedge_profit, unhedged.realised_profit) == (-6.5, None)
    again = hedge_closed(replace(unhedged, hedge_ticket=78), replace(hedge, profit=2.0))
    assert again.hedge_profit == -4.5
    out, _ = close_record(again, replace(closed_trade(), close_price=1990.5), "stop_loss", NOW)
    assert (out.realised_profit, out.close_price) == (-17.0, 1990.5)
    after = hedge_closed(replace(out, hedge_ticket=79), replace(hedge, profit=-3.0))
    assert (after.realised_profit, after.hedge_profit, after.state) == (-20.0, -7.5, S.CLOSED)
    # a hedge the engine already let go of (closed it itself): the record keeps its own
    other = hedge_closed(record(S.HEDGED, hedge_ticket=80, hedge_volume=0.5), hedge)
    assert (other.hedge_ticket, other.hedge_volume, other.hedge_profit) == (80, 0.5, -6.5)


def test_sync_position_adopts_what_changed_outside_dtms() -> None:
    rec = record()
    moved = replace(trade(), volume=0.5, stop_loss=1995.0, take_profit=2020.0)
    out = sync_position(rec, moved)
    assert (out.volume, out.stop_loss, out.take_profit) == (0.5, 1995.0, 2020.0)
    assert out.warnings == ("volume 1 → 0.5 changed outside DTMS: adopted",)
    same = sync_position(rec, trade())
    assert same is rec


def test_sync_position_leaves_a_record_alone_while_its_action_is_unanswered() -> None:
    rec = pending(record(S.WARNING_L2, owed=(K.PARTIAL_CLOSE,)), K.PARTIAL_CLOSE)
    assert sync_position(rec, replace(trade(), volume=0.5)) is rec
    closed = record(S.CLOSED)
    assert sync_position(closed, replace(trade(), volume=0.5)) is closed


def test_no_trailing_stop_for_a_young_trade_on_stale_data() -> None:
    """The trail runs before arming too, but never on data that stopped."""
    snap = scored(0.0, T0)  # the newest bar closed at T0 + 5 min
    snap.trail = (2005.0, 1995.0, 2.0)  # a level (1999.5) behind the price
    rec = register(trade(opened_at=T0 + minutes(10)), None, T0 + minutes(10))
    q = quote(2001.0)  # +0.09 R: not armed by price
    fresh = evaluate(rec, snap, q, T0 + minutes(12), SETTINGS, GOLD, AccountState())
    assert not fresh.record.armed and [a.kind for a in fresh.actions] == [K.TIGHTEN_SL]
    stale = evaluate(rec, snap, q, T0 + minutes(16), SETTINGS, GOLD, AccountState())
    assert not stale.record.armed and stale.actions == ()
