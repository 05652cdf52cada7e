"""What the engine does with the broker's answer to an action (docs/dtms.md §6): a hedge or
re-add of unknown outcome found by what it was when the broker rewrote its comment, the
refusals that only say "not now" waiting without using up the retries, a hedge the
account refuses replaced by the netting account's partial close, and the lots that
filled booked instead of the lots asked."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from support.dtms_kit import GOLD, SETTINGS, minutes, quote, scored
from support.dtms_machine import BAR, NOW, ev, kinds, record

from dtms_plugin.engine import (
    AccountState,
    JournalStatus,
    TradeRecord,
    begin,
    evaluate,
    finish,
    outcome_from_broker,
    settle,
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


# --- a hedge or re-add of unknown outcome, found by what it was -------------------------

SENT = NOW  # the hedge was journaled (and sent) at NOW


def _unknown(kind: K = K.HEDGE, **changes: object) -> tuple[TradeRecord, Action]:
    """A HEDGED buy of 0.5 lots (ticket 1, magic 7) whose hedge of 0.25 (or a RECOVERING
    one's re-add) was sent at ``SENT`` and got no answer."""
    state = S.HEDGED if kind is K.HEDGE else S.HEALTHY
    rec = record(state, seq=5, volume=0.5, closed_volume=0.5, magic=7, owed=(kind,))
    rec = replace(rec, **changes)  # type: ignore[arg-type]
    action = Action(1, kind, {"volume": 0.25}, "r", rec.key_for(kind), "dtms")
    lost = ActionResult.failure(ResultCode.UNKNOWN_OUTCOME, "order_send returned None")
    rec = _answered(rec, action, lost, SENT)
    entry = rec.entry(action.key)
    assert entry is not None and entry.status is JournalStatus.UNKNOWN
    return rec, action


def _pos(ticket: int, direction: str = "sell", **changes: object) -> Trade:
    fields: dict[str, object] = dict(
        volume=0.25,
        entry_price=1990.0,
        stop_loss=None,
        take_profit=None,
        opened_at=SENT + timedelta(seconds=30),
        magic=7,
        comment="broker#1",  # the broker rewrote the comment
    )
    fields.update(changes)
    return Trade(ticket, str(fields.pop("symbol", "XAUUSD")), direction, **fields)  # type: ignore[arg-type]


def _trade() -> Trade:
    return _pos(1, "buy", volume=0.5, entry_price=2000.0, opened_at=SENT - minutes(60))


def _outcome(rec: TradeRecord, action: Action, *others: Trade, **kw: object):
    entry = rec.entry(action.key)
    assert entry is not None
    return outcome_from_broker(rec, entry, _trade(), [_trade(), *others], **kw)  # type: ignore[arg-type]


def test_an_unknown_hedge_whose_comment_the_broker_rewrote_is_found_and_not_sent_again() -> None:
    rec, action = _unknown()
    assert _outcome(rec, action, _pos(50)) == (True, 50)
    entry = rec.entry(action.key)
    assert entry is not None
    settled = settle(rec, entry, True, 50, NOW + minutes(1), SETTINGS)
    assert (settled.hedge_ticket, settled.hedge_volume, settled.owed) == (50, 0.25, ())
    e = ev(settled, -7.0, now=NOW + minutes(5), bar=BAR + minutes(5))
    assert e.actions == () and e.record.hedge_ticket == 50  # no second hedge


def test_a_hedge_found_after_its_trade_closed_keeps_the_record_and_is_owed_its_close() -> None:
    """docs/dtms.md §5 row 1: CLOSED closes the hedge that is open, a late one too. The
    record stays active (watched) while the hedge's outcome is unknown; before, it was
    let go with the trade and the late hedge was never closed."""
    rec, action = _unknown()
    closed = ev(rec, gone=True, now=NOW + timedelta(seconds=20)).record
    assert (closed.state, closed.owed, closed.active) == (S.CLOSED, (), True)
    entry = closed.entry(action.key)
    assert entry is not None
    settled = settle(closed, entry, True, 50, NOW + timedelta(seconds=40), SETTINGS)
    assert (settled.hedge_ticket, settled.owed) == (50, (K.CLOSE_HEDGE,))
    e = ev(settled, now=NOW + timedelta(seconds=45))
    assert [(a.kind, a.params["hedge_ticket"]) for a in e.actions] == [(K.CLOSE_HEDGE, 50)]
    not_done = settle(closed, entry, False, None, NOW + minutes(2), SETTINGS)
    assert (not_done.owed, not_done.active) == ((), False)  # nothing left open: let go


def test_an_unknown_re_add_whose_comment_the_broker_rewrote_is_found() -> None:
    rec, action = _unknown(K.RE_ADD)
    assert _outcome(rec, action, _pos(60, "buy")) == (True, 60)
    assert _outcome(rec, action, _pos(61, "sell")) == (False, None)  # a re-add buys more


def test_the_comment_still_answers_first_whatever_else_is_open() -> None:
    rec, action = _unknown()
    ours = _pos(70, volume=0.2, comment="DTMS_HEDGE_1", opened_at=SENT - minutes(10))
    assert _outcome(rec, action, _pos(50), ours) == (True, 70)


@pytest.mark.parametrize(
    ("position", "why"),
    [
        (_pos(50, symbol="EURUSD"), "another symbol"),
        (_pos(50, "buy"), "the trade's own side: not a hedge"),
        (_pos(50, volume=0.24), "other lots than asked"),
        (_pos(50, volume=0.5), "other lots than asked"),
        (_pos(50, opened_at=SENT - timedelta(seconds=31)), "open before the send"),
        (_pos(50, magic=8), "another program's magic number"),
        (_pos(50, magic=0), "opened by hand"),
        (_pos(50, comment="DTMS_HEDGE_2"), "the hedge of trade 2"),
        (_pos(50, comment="DTMS_READD_9"), "the re-add of trade 9"),
    ],
)
def test_a_position_that_is_not_the_hedge_is_not_taken_for_it(position: Trade, why: str) -> None:
    rec, action = _unknown()
    assert _outcome(rec, action, position) == (False, None), why


def test_a_position_dtms_knows_as_another_trade_or_hedge_is_not_taken_for_it() -> None:
    rec, action = _unknown()
    assert _outcome(rec, action, _pos(50), known={50, 3}) == (False, None)
    assert _outcome(rec, action, _pos(50), known={3}) == (True, 50)
    kept = replace(rec, hedge_ticket=50)  # the trade's own hedge is not a new one either
    assert _outcome(kept, action, _pos(50)) == (False, None)


def test_the_clocks_get_thirty_seconds_of_slack_and_a_configured_magic_counts() -> None:
    rec, action = _unknown()
    assert _outcome(rec, action, _pos(50, opened_at=SENT - timedelta(seconds=30))) == (True, 50)
    assert _outcome(rec, action, _pos(50, magic=0), magic=0) == (True, 50)
    assert _outcome(rec, action, _pos(50, magic=9), magic=9) == (True, 50)
    assert _outcome(rec, action, _pos(50, magic=9), magic=None) == (False, None)


def test_of_several_such_positions_the_oldest_answers() -> None:
    rec, action = _unknown()
    newer = _pos(40, opened_at=SENT + timedelta(seconds=50))
    older = _pos(50, opened_at=SENT + timedelta(seconds=20))
    twin = _pos(45, opened_at=SENT + timedelta(seconds=20))
    assert _outcome(rec, action, newer, older) == (True, 50)
    assert _outcome(rec, action, newer, older, twin) == (True, 45)  # then the lower ticket


def test_a_position_opened_after_the_wait_is_no_answer_of_the_order() -> None:
    """A record read again days after its order (a restart, or a CLOSED trade's hedge
    from before an upgrade, watched again): any later position of the same lots, side
    and magic was taken for the late fill, and closed as the closed trade's hedge. The
    trade server fills an order within the wait or not at all."""
    rec, action = _unknown()
    days_later = _pos(50, opened_at=SENT + timedelta(days=2))
    assert _outcome(rec, action, days_later) == (True, 50)  # no wait given: as before
    assert _outcome(rec, action, days_later, wait=60.0) == (False, None)
    in_time = _pos(51, opened_at=SENT + timedelta(seconds=85))  # the wait and the slack
    assert _outcome(rec, action, days_later, in_time, wait=60.0) == (True, 51)
    named = _pos(52, opened_at=SENT + timedelta(days=2), comment="DTMS_HEDGE_1")
    assert _outcome(rec, action, named, wait=60.0) == (True, 52)  # its comment names it


# --- refusals that say "not now" wait, their retries untouched --------------------------

WAITING = [ResultCode.FROZEN, ResultCode.MARKET_CLOSED, ResultCode.TRADING_DISABLED]


@pytest.mark.parametrize("code", WAITING)
def test_a_refusal_for_now_waits_and_is_sent_on_every_evaluation_while_the_state_holds(
    code: ResultCode,
) -> None:
    rec = record(S.HEALTHY)
    tried: list[int] = []
    for b in range(10):  # ten bars, three cycles each
        bar = BAR + minutes(5 * b)
        n = 0
        for i in range(3):
            now = bar + minutes(5) + minutes(0.1 * i)
            e = evaluate(
                rec, scored(-2.5 if b == 0 else -1.0, bar), quote(2000.0), now, SETTINGS, GOLD,
                AccountState(True),
            )  # fmt: skip
            n += len(e.actions)
            rec = _sent(e.record, e.actions, ActionResult.failure(code, "not now"), now)
        tried.append(n)
    assert tried == [1] * 10  # once per new bar, never given up
    assert rec.state is S.WARNING_L1 and rec.owed == (K.TIGHTEN_SL,)
    entry = rec.entry("1:4:tighten_sl")
    assert entry is not None and (entry.attempts, entry.waits) == (0, 10)
    waits = [w for w in rec.warnings if "waits" in w]
    assert waits == [
        f"tighten_sl waits: {code.value} (not now); sent again on each evaluation while the "
        "state holds, not counted as a retry"
    ]  # said once for the whole wait
    assert not any("given up" in w for w in rec.warnings)


def test_a_wait_ends_with_its_count_and_the_next_one_counts_afresh() -> None:
    rec = record(S.WARNING_L1, owed=(K.TIGHTEN_SL,), r=10.0)
    action = Action(1, K.TIGHTEN_SL, {"stop_loss": 1997.0}, "r", rec.key_for(K.TIGHTEN_SL))
    frozen = ActionResult.failure(ResultCode.FROZEN, "inside the freeze level")
    for _ in range(3):
        rec = _answered(rec, action, frozen)
    rec = _answered(rec, action, ActionResult.failure(ResultCode.REJECTED, "invalid"))
    entry = rec.entry(action.key)
    assert entry is not None and (entry.code, entry.attempts, entry.waits) == ("rejected", 1, 3)
    rec = _answered(rec, action, frozen)
    entry = rec.entry(action.key)
    assert entry is not None and (entry.attempts, entry.waits) == (1, 1)  # a new wait
    assert sum("waits" in w for w in rec.warnings) == 2


def test_a_wait_does_not_hide_the_retries_counted_before_it() -> None:
    rec = record(S.WARNING_L1, owed=(K.TIGHTEN_SL,))
    action = Action(1, K.TIGHTEN_SL, {"stop_loss": 1997.0}, "r", rec.key_for(K.TIGHTEN_SL))
    for _ in range(3):
        rec = _answered(rec, action, ActionResult.failure(ResultCode.TRANSIENT, "requote"))
    rec = _answered(rec, action, ActionResult.failure(ResultCode.MARKET_CLOSED, "closed"))
    entry = rec.entry(action.key)
    assert entry is not None and entry.attempts == 3 and rec.owed == (K.TIGHTEN_SL,)
    rec = _answered(rec, action, ActionResult.failure(ResultCode.TRANSIENT, "requote"))
    assert rec.owed == () and "given up" in rec.warnings[-1]  # the fourth counted attempt


def test_a_close_that_waits_is_not_flagged_for_manual_attention() -> None:
    rec = record(S.CLOSED, owed=(K.CLOSE,))
    action = Action(1, K.CLOSE, {}, "r", rec.key_for(K.CLOSE))
    for _ in range(8):
        rec = _answered(rec, action, ActionResult.failure(ResultCode.MARKET_CLOSED, "closed"))
    assert rec.owed == (K.CLOSE,)
    assert not any("manual attention" in w for w in rec.warnings)


def test_a_refused_trailing_stop_move_is_journaled_without_a_warning() -> None:
    """Each bar plans a trail move of its own and never retries one: no wait to tell."""
    rec = record(S.HEALTHY)
    key = f"1:{rec.seq}:trail@1767607200"
    action = Action(1, K.TIGHTEN_SL, {"stop_loss": 1995.0}, "trail", key, "dtms")
    rec = _answered(rec, action, ActionResult.failure(ResultCode.MARKET_CLOSED, "closed"))
    entry = rec.entry(key)
    assert entry is not None and (entry.status, entry.waits) == (JournalStatus.FAILED, 1)
    assert rec.warnings == ()


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


def _hedge_given_up(volume: float, last: ResultCode = ResultCode.NO_MONEY) -> TradeRecord:
    """HEDGED whose hedge failed on every attempt (1 + ``actions.max_retries``), each
    retry on a new bar; the last with ``last``."""
    e = ev(record(S.WARNING_L2, volume=volume), -7.0)
    poor = ActionResult.failure(ResultCode.NO_MONEY, "not enough money")
    rec = _sent(e.record, e.actions, poor, NOW)
    for n in range(1, 1 + SETTINGS.actions.max_retries):
        bar_time = BAR + minutes(5 * n)
        e = ev(rec, -7.0, now=NOW + minutes(5 * n), bar=bar_time)
        assert kinds(e) == [(K.HEDGE, {"volume": hedge_volume(volume)})], n
        failed = poor if n < SETTINGS.actions.max_retries else ActionResult.failure(last, "x")
        rec = _sent(e.record, e.actions, failed, NOW + minutes(5 * n))
    entry = rec.entry(rec.key_for(K.HEDGE))
    assert entry is not None and entry.attempts == 1 + SETTINGS.actions.max_retries
    return rec


def hedge_volume(volume: float) -> float:
    return max(0.01, round(volume / 2, 2))


def test_a_hedge_failing_through_its_retries_is_replaced_by_a_partial_close() -> None:
    rec = _hedge_given_up(0.5)
    e = ev(rec, None, now=NOW + minutes(16))  # at once, without waiting for a new bar
    assert kinds(e) == [(K.PARTIAL_CLOSE, {"volume": 0.25})]
    assert e.record.state is S.HEDGED and e.transition is None
    assert e.record.flat_deadline == rec.flat_deadline
    assert e.record.warnings[-1] == (
        "the hedge failed 4 times (no_money: x): partial close instead of the hedge"
    )


def test_a_trade_too_small_for_the_partial_close_is_closed_when_its_hedge_is_given_up() -> None:
    rec = _hedge_given_up(0.01)
    e = ev(rec, None, now=NOW + minutes(16))
    assert e.transition == (S.HEDGED, S.CLOSED) and kinds(e) == [(K.CLOSE, {})]
    assert e.why == (
        "the hedge failed 4 times (no_money: x), and 0.01 lots cannot be partly closed, so closed"
    )


def test_a_hedge_whose_last_failure_says_the_position_is_gone_is_given_up() -> None:
    rec = _hedge_given_up(0.5, last=ResultCode.NOT_FOUND)
    assert rec.owed == () and rec.warnings[-1] == "hedge failed (not_found: x); given up"
    e = ev(rec, None, now=NOW + minutes(16))
    assert kinds(e) == [] and e.record.state is S.HEDGED


def test_a_hedge_with_retries_left_is_not_replaced() -> None:
    settings = replace(SETTINGS, actions=replace(SETTINGS.actions, max_retries=5))
    rec = _hedge_given_up(0.5)  # 4 attempts: 5 retries allow 6
    e = ev(rec, -7.0, now=NOW + minutes(20), bar=BAR + minutes(20), settings=settings)
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
