"""What the engine does with the broker's answer to an action (docs/dtms.md §6): a hedge the
account refuses replaced by the netting account's partial close, and the lots that filled
booked instead of the lots asked."""

from __future__ import annotations

from datetime import datetime

from support.dtms_kit import SETTINGS, minutes
from support.dtms_machine import BAR, NOW, ev, kinds, record

from dtms_plugin.engine import (
    JournalStatus,
    TradeRecord,
    begin,
    finish,
    sync_position,
)
from hookspecs import Action, ActionKind, ActionResult, DefensiveState, ResultCode, Trade

S = DefensiveState
K = ActionKind


def _answered(rec: TradeRecord, action: Action, result: ActionResult, now: datetime = NOW):
    return finish(begin(rec, action, now), action, result, now, SETTINGS)


def _sent(e_record: TradeRecord, e_actions: tuple[Action, ...], result: ActionResult, now):
    rec = e_record
    for a in e_actions:
        rec = _answered(rec, a, result, now)
    return rec


# --- a hedge the account refuses: the netting account's partial close instead -----------


def _hedge_refused(volume: float) -> TradeRecord:
    e = ev(record(S.WARNING_L2, volume=volume), -7.0)
    assert e.transition == (S.WARNING_L2, S.HEDGED) and kinds(e)[0][0] is K.HEDGE
    refused = ActionResult.failure(ResultCode.HEDGING_NOT_ALLOWED, "10046 HEDGE_PROHIBITED")
    return _sent(e.record, e.actions, refused, NOW)


def test_a_hedge_the_account_refuses_is_not_retried_but_replaced_by_a_partial_close() -> None:
    rec = _hedge_refused(0.5)
    entry = rec.entry(rec.key_for(K.HEDGE))
    assert entry is not None and entry.status is JournalStatus.FAILED
    assert not any("given up" in w for w in rec.warnings)
    e = ev(rec, -7.0, now=NOW + minutes(5), bar=BAR + minutes(5))
    assert kinds(e) == [(K.PARTIAL_CLOSE, {"volume": 0.25})]
    assert e.record.state is S.HEDGED and e.record.seq == rec.seq and e.transition is None
    assert e.record.owed == (K.PARTIAL_CLOSE,)
    assert e.record.flat_deadline == rec.flat_deadline  # the deadline of entering HEDGED
    assert e.record.warnings[-1] == "the account refuses hedges: partial close instead of the hedge"
    done = _sent(e.record, e.actions, ActionResult.success(), NOW + minutes(5))
    assert (done.volume, done.closed_volume, done.owed) == (0.25, 0.25, ())


def test_the_partial_close_standing_in_for_a_refused_hedge_goes_on_the_same_bar() -> None:
    rec = _hedge_refused(0.5)
    e = ev(rec, None, now=NOW + minutes(1))  # a cycle without a new bar
    assert kinds(e) == [(K.PARTIAL_CLOSE, {"volume": 0.25})]


def test_a_trade_too_small_for_the_partial_close_is_closed_when_its_hedge_is_refused() -> None:
    rec = _hedge_refused(0.01)
    e = ev(rec, None, now=NOW + minutes(1))
    assert e.transition == (S.HEDGED, S.CLOSED)
    assert kinds(e) == [(K.CLOSE, {})]
    assert e.why == "the account refuses hedges, and 0.01 lots cannot be partly closed, so closed"
    assert e.record.seq == rec.seq + 1


def test_other_hedge_refusals_are_still_retried() -> None:
    e = ev(record(S.WARNING_L2, volume=0.5), -7.0)
    rec = _sent(e.record, e.actions, ActionResult.failure(ResultCode.NO_MONEY, "no money"), NOW)
    e = ev(rec, -7.0, now=NOW + minutes(5), bar=BAR + minutes(5))
    assert kinds(e) == [(K.HEDGE, {"volume": 0.25})]


# --- the lots that filled, not the lots asked ---------------------------------------------


def test_a_partial_close_that_filled_part_books_what_filled() -> None:
    rec = record(S.WARNING_L2, owed=(K.PARTIAL_CLOSE,))
    action = Action(1, K.PARTIAL_CLOSE, {"volume": 0.5}, "r", rec.key_for(K.PARTIAL_CLOSE))
    ioc = ActionResult(True, ResultCode.OK, "only 0.3 of 0.5 lots closed", None, 0.3)
    rec = _answered(rec, action, ioc)
    assert (rec.volume, rec.closed_volume) == (0.7, 0.3)
    position = Trade(1, "XAUUSD", "buy", 0.7, 2000.0, 1990.0, None, rec.opened_at)
    synced = sync_position(rec, position)
    assert not any("outside DTMS" in w for w in synced.warnings)


def test_a_hedge_that_filled_part_books_what_filled_and_a_silent_broker_the_ask() -> None:
    rec = record(S.HEDGED, owed=(K.HEDGE,))
    action = Action(1, K.HEDGE, {"volume": 0.5}, "r", rec.key_for(K.HEDGE))
    part = ActionResult(True, ResultCode.OK, "partial fill", 40, 0.2)
    assert _answered(rec, action, part).hedge_volume == 0.2
    silent = ActionResult(True, ResultCode.OK, "done", 40)  # no filled volume reported
    assert _answered(rec, action, silent).hedge_volume == 0.5
