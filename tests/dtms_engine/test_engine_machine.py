"""Every row of the docs/dtms.md §5 table, arming, hysteresis, deadlines and the data rails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, scored, snapshot, trade
from support.dtms_machine import BAR, NOW, ev, hedged, kinds, record, recovering

from dtms_plugin.engine import AccountState, evaluate, register
from dtms_plugin.engine.planning import Dropped
from dtms_plugin.settings import ActionsConfig, DtmsSettings
from hookspecs import ActionKind, DefensiveState

S = DefensiveState
K = ActionKind


# --- arming -------------------------------------------------------------------------


def test_new_trade_is_not_evaluated_before_arming() -> None:
    rec = register(trade(), None, T0)
    e = evaluate(
        rec, scored(-9.0, T0), quote(2000.0), T0 + minutes(5), SETTINGS, GOLD, AccountState()
    )
    assert e.record.state is S.HEALTHY and not e.record.armed
    assert e.score is None and e.actions == ()


@pytest.mark.parametrize(
    ("mid", "age", "armed"),
    [
        (2002.2, 5, True),  # bid 2002.1: +0.21 R
        (2001.9, 5, False),  # +0.18 R
        (1995.1, 5, True),  # bid 1995.0: -0.5 R emergency
        (1995.3, 5, False),
        (2000.0, 15, True),  # age
        (2000.0, 14.9, False),
    ],
)
def test_arming_conditions(mid: float, age: float, armed: bool) -> None:
    rec = register(trade(), None, T0)
    now = T0 + minutes(age)
    snap = scored(0.5, now - minutes(5))
    e = evaluate(rec, snap, quote(mid), now, SETTINGS, GOLD, AccountState())
    assert e.record.armed is armed
    assert (e.score is not None) is armed


# --- the table ----------------------------------------------------------------------


def test_healthy_to_l1_tightens_to_0_3r_behind_price() -> None:
    e = ev(record(), -2.0)
    assert e.transition == (S.HEALTHY, S.WARNING_L1)
    assert e.record.seq == 4 and e.record.state_entered_at == NOW
    # bid 1999.9 - 0.3 * 10
    assert kinds(e) == [(K.TIGHTEN_SL, {"stop_loss": 1996.9})]
    assert e.actions[0].key == "1:4:tighten_sl"


def test_healthy_stays_above_threshold() -> None:
    e = ev(record(), -1.99)
    assert e.transition is None and e.actions == ()
    assert e.record.last_score == -1.99


def test_one_step_per_evaluation() -> None:
    e = ev(record(), -9.0)
    assert e.transition == (S.HEALTHY, S.WARNING_L1)


@pytest.mark.parametrize(("total", "to"), [(0.0, S.HEALTHY), (-1.0, None), (-3.9, None)])
def test_l1_hysteresis(total: float, to: S | None) -> None:
    e = ev(record(S.WARNING_L1), total)
    assert (e.transition[1] if e.transition else None) is to
    assert e.actions == ()


def test_l1_to_l2_partial_close_and_breakeven_when_price_allows() -> None:
    rec = record(S.WARNING_L1)
    e = ev(rec, -4.0, q=quote(2005.0))  # bid 2004.9 is beyond entry + spread 0.2
    assert e.transition == (S.WARNING_L1, S.WARNING_L2)
    assert kinds(e) == [
        (K.PARTIAL_CLOSE, {"volume": 0.5}),
        (K.MOVE_SL_BREAKEVEN, {"stop_loss": 2000.2}),
    ]


def test_a_partial_close_the_minimum_lot_cannot_take_is_dropped_and_said() -> None:
    """The evaluation hands back what it dropped, as data (a run counts them), and the
    record keeps the same words as a warning; nothing dropped: none."""
    e = ev(record(S.WARNING_L1, volume=0.01), -4.0, q=quote(2005.0))
    assert e.transition == (S.WARNING_L1, S.WARNING_L2)
    assert kinds(e) == [(K.MOVE_SL_BREAKEVEN, {"stop_loss": 2000.2})]
    assert e.dropped == (
        Dropped(
            K.PARTIAL_CLOSE,
            "partial volume 0.005 (it floors to 0 at the step 0.01) below the minimum 0.01",
        ),
    )
    assert e.record.warnings[-1] == e.dropped[0].text
    assert e.dropped[0].text.startswith("partial_close skipped: partial volume 0.005 (it floors")
    assert ev(record(S.WARNING_L1), -4.0, q=quote(2005.0)).dropped == ()


def test_l1_to_l2_on_a_losing_trade_tightens_instead_of_breakeven() -> None:
    e = ev(record(S.WARNING_L1), -4.5, q=quote(1996.0))
    assert kinds(e) == [
        (K.PARTIAL_CLOSE, {"volume": 0.5}),
        (K.TIGHTEN_SL, {"stop_loss": 1992.9}),  # bid 1995.9 - 3
    ]
    # the key names the intent, so a later breakeven cannot be sent twice for this state
    assert e.actions[1].key == "1:4:move_sl_breakeven"


@pytest.mark.parametrize(("total", "to"), [(-2.0, S.WARNING_L1), (-3.0, None), (-5.9, None)])
def test_l2_hysteresis(total: float, to: S | None) -> None:
    e = ev(record(S.WARNING_L2), total)
    assert (e.transition[1] if e.transition else None) is to


def test_l2_to_hedged_hedges_half_and_sets_the_flat_deadline() -> None:
    e = ev(record(S.WARNING_L2, volume=0.5), -6.0)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.25})]
    assert e.record.flat_deadline == NOW + minutes(75)


def test_l2_to_hedged_on_vwap_slope_with_confluence() -> None:
    e = ev(record(S.WARNING_L2), -4.0, vwap_against=True, confluence_against=True)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    no_confluence = ev(record(S.WARNING_L2), -4.0, vwap_against=True)
    assert no_confluence.transition is None


def test_l2_to_hedged_on_netting_partially_closes_instead() -> None:
    e = ev(record(S.WARNING_L2, volume=0.5), -7.0, hedging=False)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert kinds(e) == [(K.PARTIAL_CLOSE, {"volume": 0.25})]


@pytest.mark.parametrize("state", [S.WARNING_L2, S.RECOVERING])
def test_on_netting_a_trade_too_small_to_part_close_is_closed_at_the_hedge_row(
    state: DefensiveState,
) -> None:
    """docs/dtms.md §6: the partial close standing in for a hedge cannot take half of the
    minimum lot; HEDGED with nothing done kept the whole exposure at the worst score."""
    extra = {"recovery_deadline": NOW + minutes(10)} if state is S.RECOVERING else {}
    e = ev(record(state, volume=0.01, **extra), -7.0, hedging=False)
    assert e.transition == (state, S.CLOSED)
    assert kinds(e) == [(K.CLOSE, {})]
    assert e.why.endswith("; 0.01 lots cannot be partly closed on a netting account, so closed")
    hedging = ev(record(state, volume=0.01, **extra), -7.0)
    assert hedging.transition == (state, S.HEDGED)
    assert kinds(hedging) == [(K.HEDGE, {"volume": 0.01})]
    two = ev(record(state, volume=0.02, **extra), -7.0, hedging=False)  # 0.01 of 0.02: can
    assert two.transition == (state, S.HEDGED)
    assert kinds(two) == [(K.PARTIAL_CLOSE, {"volume": 0.01})]
    assert two.record.flat_deadline == NOW + minutes(75)


def test_hedge_held_back_while_spread_is_wide() -> None:
    e = ev(record(S.WARNING_L2), -7.0, q=quote(2000.0, spread=0.5), median_spread=0.2)
    assert e.transition is None and e.actions == ()
    assert "spread" in e.reason
    ok = ev(record(S.WARNING_L2), -7.0, q=quote(2000.0, spread=0.38), median_spread=0.2)
    assert ok.transition == (S.WARNING_L2, S.HEDGED)


@pytest.mark.parametrize(("total", "structure"), [(1.0, 0.0), (-3.0, 1.0)])
def test_hedged_to_recovering_closes_the_hedge(total: float, structure: float) -> None:
    e = ev(hedged(), total, structure=structure)
    assert e.transition == (S.HEDGED, S.RECOVERING)
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 77})]
    assert e.record.recovery_deadline == NOW + minutes(30)
    assert e.record.flat_deadline is None


def test_hedged_flat_deadline_closes_all_even_without_a_new_bar() -> None:
    rec = hedged(flat_deadline=NOW - minutes(1), last_bar_time=BAR)
    e = ev(rec, 0.5)  # same bar as last time: no scoring, the deadline still counts
    assert e.score is None
    assert e.transition == (S.HEDGED, S.CLOSED)
    assert kinds(e) == [(K.CLOSE, {"hedge_ticket": 77})]
    waiting = ev(hedged(flat_deadline=NOW + minutes(1)), 0.5)
    assert waiting.transition is None


def test_deadlines_wait_while_the_data_is_stale() -> None:
    """A deadline counts the market's time: past it on stale data (a weekend, a feed that
    stopped) the trade was closed when no price could be had."""
    rec = hedged(flat_deadline=NOW - minutes(1), last_bar_time=BAR)
    stale = ev(rec, 0.5, now=NOW + minutes(30))  # the newest bar closed 30 minutes before
    assert stale.transition is None and stale.why.startswith("stale data")
    assert ev(rec).transition is None  # no bars at all
    late = recovering(recovery_deadline=NOW - minutes(1), last_score=1.0, last_bar_time=BAR)
    assert ev(late, 1.0, now=NOW + minutes(30)).transition is None


def test_a_gap_in_the_bars_moves_the_deadlines_by_its_length() -> None:
    """Friday 21:55's bar, then Monday 00:00's: the flat deadline, 35 minutes after the
    last bar before the weekend, is 35 minutes (less the one bar) after the weekend."""
    friday = datetime(2024, 1, 5, 21, 55, tzinfo=UTC)
    monday = datetime(2024, 1, 8, 0, 0, tzinfo=UTC)
    rec = hedged(last_bar_time=friday, flat_deadline=friday + minutes(35))
    e = ev(rec, 0.5, bar=monday, now=monday + minutes(5))
    assert e.transition is None
    assert e.record.flat_deadline == monday + minutes(30)
    rec, closed_at = e.record, None
    for i in range(1, 10):  # the bars that follow, one every five minutes
        bar = monday + minutes(5 * i)
        step = ev(rec, 0.5, bar=bar, now=bar + minutes(5))
        rec = step.record
        if step.transition == (S.HEDGED, S.CLOSED):
            closed_at = bar + minutes(5)
            break
    assert closed_at == monday + minutes(30)
    back = recovering(last_bar_time=friday, recovery_deadline=friday + minutes(20))
    moved = ev(back, -1.0, bar=monday, now=monday + minutes(5)).record
    assert (moved.recovery_deadline, moved.flat_deadline) == (monday + minutes(15), None)
    # the next bar, no gap: nothing moves; six bars missing (a feed that stopped for
    # half an hour): thirty minutes
    same = ev(hedged(flat_deadline=NOW + minutes(60)), 0.5)
    assert same.record.flat_deadline == NOW + minutes(60)
    short = ev(hedged(flat_deadline=NOW + minutes(60), last_bar_time=BAR - minutes(35)), 0.5)
    assert short.record.flat_deadline == NOW + minutes(90)


@pytest.mark.parametrize("state", [S.HEDGED, S.RECOVERING])
def test_change_of_character_closes_all(state: S) -> None:
    rec = hedged(state=state, recovery_deadline=NOW + minutes(20))
    e = ev(rec, -3.0, structure=-1.0, confluence_against=True)
    assert e.transition == (state, S.CLOSED)
    assert kinds(e) == [(K.CLOSE, {"hedge_ticket": 77})]
    no_conf = ev(rec, -3.0, structure=-1.0)
    assert no_conf.transition is None or no_conf.transition[1] is not S.CLOSED


def test_recovering_rehedges_with_a_new_flat_deadline() -> None:
    e = ev(recovering(), -6.5)
    assert e.transition == (S.RECOVERING, S.HEDGED)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.25})]
    assert e.record.flat_deadline == NOW + minutes(75)
    assert e.record.recovery_deadline is None


def test_recovering_deadline_with_score_back_is_healthy_without_readd_by_default() -> None:
    e = ev(recovering(recovery_deadline=NOW), 1.0)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert e.actions == ()


def test_recovering_deadline_readds_half_the_closed_volume_when_enabled() -> None:
    on = DtmsSettings(actions=ActionsConfig(re_add=True))
    e = ev(recovering(recovery_deadline=NOW), 1.5, settings=on)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert kinds(e) == [(K.RE_ADD, {"volume": 0.25})]


def test_no_re_add_while_the_account_is_in_defensive_mode() -> None:
    on = DtmsSettings(actions=ActionsConfig(re_add=True))
    e = ev(recovering(recovery_deadline=NOW), 1.5, settings=on, defensive=True)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert e.actions == () and e.record.owed == ()
    said = "recovered: S +1.50 at the deadline; no re-add: the account is in defensive mode"
    assert e.why == f"RECOVERING→HEALTHY: {said}"
    assert e.record.warnings == (said,)


def test_a_defensive_account_still_hedges_and_closes() -> None:
    e = ev(record(S.WARNING_L2), -7.0, defensive=True)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.5})]
    done = ev(recovering(recovery_deadline=NOW), 0.5, defensive=True)
    assert kinds(done) == [(K.CLOSE, {})]


def test_a_minimum_lot_trade_is_hedged_with_the_minimum() -> None:
    e = ev(record(S.WARNING_L2, volume=0.01), -7.0)
    assert e.transition == (S.WARNING_L2, S.HEDGED)
    assert kinds(e) == [(K.HEDGE, {"volume": 0.01})]
    assert e.record.warnings == ()


def test_recovering_deadline_without_recovery_closes_all() -> None:
    e = ev(recovering(recovery_deadline=NOW - minutes(1)), 0.9)
    assert e.transition == (S.RECOVERING, S.CLOSED)
    assert kinds(e) == [(K.CLOSE, {})]


def test_recovering_before_deadline_holds() -> None:
    e = ev(recovering(), 0.5)
    assert e.transition is None


@pytest.mark.parametrize("state", [S.HEALTHY, S.WARNING_L1, S.WARNING_L2, S.RECOVERING])
def test_position_gone_closes_the_record(state: S) -> None:
    e = ev(record(state), -1.0, gone=True)
    assert e.transition == (state, S.CLOSED)
    assert e.actions == ()


def test_a_close_the_engine_dates_is_never_before_the_opening() -> None:
    """A paper account's clock is its data's while a program registered the trade with
    the wall clock's opening: the close is dated at the opening, not before it."""
    assert ev(record(), -1.0, gone=True).record.closed_at == NOW
    later = NOW + minutes(90)
    e = ev(record(opened_at=later), -1.0, gone=True)
    assert e.transition == (S.HEALTHY, S.CLOSED) and e.record.closed_at == later


def test_position_gone_while_hedged_closes_the_hedge() -> None:
    e = ev(hedged(), 0.0, gone=True)
    assert e.transition == (S.HEDGED, S.CLOSED)
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 77})]


# --- when an evaluation scores -------------------------------------------------------


def test_same_bar_is_not_scored_twice_unless_price_runs_against() -> None:
    rec = record(S.WARNING_L1, last_bar_time=BAR, last_eval_price=2000.0)
    same = ev(rec, -5.0, q=quote(1997.0))  # 0.3 R further against: not enough
    assert same.score is None and same.transition is None
    adverse = ev(rec, -5.0, q=quote(1995.0))  # bid 1994.9: 0.51 R against
    assert adverse.score is not None
    assert adverse.transition == (S.WARNING_L1, S.WARNING_L2)


def test_stale_data_is_not_scored() -> None:
    e = ev(record(), -5.0, now=BAR + minutes(5 + 10) + minutes(0.1))
    assert e.score is None and e.transition is None
    assert "stale" in e.reason
    fresh = ev(record(), -5.0, now=BAR + minutes(15))
    assert fresh.transition is not None


def test_finer_bars_that_still_flow_keep_a_forming_fast_bar_fresh() -> None:
    """The fast bar closed at BAR + 5 min; 2 periods later it is stale, unless a bar of
    a finer timeframe closed since: staleness then counts from that close, and an older
    one never brings the limit closer."""
    snap = snapshot(BAR)
    late = BAR + minutes(15) + minutes(0.1)
    assert not snap.is_stale(BAR + minutes(15)) and snap.is_stale(late)
    snap.saw_data(BAR + minutes(4))  # older than the fast bar's close: changes nothing
    assert snap.is_stale(late)
    snap.saw_data(BAR + minutes(7))  # an M1 bar closed 2 min after the fast bar
    assert not snap.is_stale(BAR + minutes(17)) and snap.is_stale(BAR + minutes(17.1))


def test_r_falls_back_to_atr_for_a_trade_without_stop() -> None:
    rec = register(trade(sl=None), 4.0, T0)
    assert rec.r == 4.0
    unknown = register(trade(sl=None), None, T0)
    assert unknown.r == 0.0


def test_reason_names_the_transition_and_the_score() -> None:
    e = ev(record(), -2.5)
    assert e.reason.startswith("HEALTHY→WARNING_L1: S -2.50 ≤ -2")
    assert "S=-2.50" in e.reason
