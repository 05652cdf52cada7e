"""A failed action: retried per evaluation, a failed close never abandoned, and a re-hedge
that finds the old hedge still open (docs/dtms.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from support.dtms_kit import GOLD, SETTINGS, minutes, quote, scored
from support.dtms_machine import BAR, NOW, ev, kinds, record, recovering

from dtms_plugin.engine import AccountState, Evaluation, TradeRecord, evaluate
from hookspecs import ActionKind, DefensiveState

S = DefensiveState
K = ActionKind


# --- retries: per evaluation, and a failed close is never abandoned --------------------


def _fail_all(e: Evaluation, rec: TradeRecord, now: datetime) -> TradeRecord:
    from dtms_plugin.engine import begin, finish
    from hookspecs import ActionResult, ResultCode

    for a in e.actions:
        rec = begin(rec, a, now)
        failure = ActionResult.failure(ResultCode.REJECTED, "refused")
        rec = finish(rec, a, failure, now, SETTINGS)
    return rec


def _closing_after_failures(bars: int) -> tuple[TradeRecord, list[int]]:
    """A HEDGED trade past its flat deadline whose CLOSE always fails: six cycles per
    bar over ``bars`` bars. Returns the record and how many closes each bar sent."""
    rec = record(S.HEDGED, seq=5, hedge_ticket=99, hedge_volume=0.5, last_bar_time=BAR)
    rec = replace(rec, flat_deadline=NOW - minutes(1))
    sent: list[int] = []
    for b in range(bars):
        bar = BAR + minutes(5 * b)
        n = 0
        for i in range(6):
            now = bar + minutes(5) + minutes(0.1 * i)
            snap = scored(-7.0, bar)
            e = evaluate(rec, snap, quote(2000.0), now, SETTINGS, GOLD, AccountState(True))
            n += len(e.actions)
            rec = _fail_all(e, e.record, now)
        sent.append(n)
    return rec, sent


def test_a_failed_action_is_retried_on_the_next_evaluation_not_the_next_cycle() -> None:
    rec, sent = _closing_after_failures(1)
    assert sent == [1]  # six cycles on the same bar: the close was sent once
    assert rec.owed == (K.CLOSE,)
    entry = rec.entry("1:6:close")
    assert entry is not None and entry.attempts == 1


def test_an_exhausted_close_is_kept_retried_per_bar_and_flagged() -> None:
    rec, sent = _closing_after_failures(7)
    assert sent == [1, 1, 1, 1, 1, 1, 1]  # one attempt per new bar, never given up
    assert rec.state is S.CLOSED and rec.owed == (K.CLOSE,) and rec.active
    assert rec.hedge_ticket == 99
    entry = rec.entry("1:6:close")
    assert entry is not None and entry.attempts == 7
    assert rec.warnings[-1] == (
        "close of ticket 1 and hedge 99 failed 7 times: manual attention needed"
    )
    assert sum("manual attention" in w for w in rec.warnings) == 1  # replaced, not piled up
    assert not any("given up" in w for w in rec.warnings)


def test_a_stuck_close_settles_when_the_position_is_closed_by_hand() -> None:
    rec, _ = _closing_after_failures(5)
    now = BAR + minutes(31)
    e = evaluate(
        rec, scored(-7.0, BAR + minutes(25)), quote(2000.0), now, SETTINGS, GOLD,
        AccountState(True), position_gone=True,
    )  # fmt: skip
    assert e.record.state is S.CLOSED and e.record.closed_at == now
    assert e.record.owed == (K.CLOSE_HEDGE,)
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 99})]


def test_other_failed_actions_are_given_up_after_three_retries_on_new_bars() -> None:
    rec = record(S.HEALTHY)
    tried: list[int] = []
    for b in range(6):
        bar = BAR + minutes(5 * b)
        n = 0
        for i in range(3):
            now = bar + minutes(5) + minutes(0.1 * i)
            e = evaluate(
                rec, scored(-2.5 if b == 0 else -1.0, bar), quote(2000.0), now, SETTINGS,
                GOLD, AccountState(True),
            )  # fmt: skip
            n += len(e.actions)
            rec = _fail_all(e, e.record, now)
        tried.append(n)
    assert tried == [1, 1, 1, 1, 0, 0]
    assert rec.state is S.WARNING_L1 and rec.owed == ()
    assert "given up" in rec.warnings[-1]


def test_rehedging_while_the_old_hedge_is_still_open_reuses_it() -> None:
    from dtms_plugin.engine import begin, finish
    from hookspecs import ActionResult, ResultCode

    rec = record(S.HEDGED, seq=5, hedge_ticket=99, hedge_volume=0.5)
    rec = replace(rec, flat_deadline=NOW + minutes(200))
    e = ev(rec, 1.5)  # HEDGED → RECOVERING: close the hedge, which fails
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 99})]
    rec = e.record
    for a in e.actions:
        rec = begin(rec, a, NOW)
        rec = finish(rec, a, ActionResult.failure(ResultCode.TRANSIENT, "requote"), NOW, SETTINGS)
    later = NOW + minutes(5)
    snap = scored(-7.0, BAR + minutes(5))
    e = evaluate(rec, snap, quote(2000.0), later, SETTINGS, GOLD, AccountState(True))
    assert e.transition == (S.RECOVERING, S.HEDGED)
    assert e.actions == ()  # no second hedge: hedge 99 is wanted again
    assert e.record.owed == () and e.record.hedge_ticket == 99
    assert e.record.hedge_volume == 0.5
    assert e.record.flat_deadline == later + minutes(75)


def test_a_rehedge_reusing_the_open_hedge_is_not_held_by_the_spread_rail() -> None:
    rec = recovering(hedge_ticket=99, hedge_volume=0.5, owed=(K.CLOSE_HEDGE,))
    e = ev(rec, -6.5, q=quote(2000.0, spread=5.0), median_spread=0.2)
    assert e.transition == (S.RECOVERING, S.HEDGED) and e.actions == ()
    assert e.record.hedge_ticket == 99


def test_recovered_with_the_old_hedge_still_open_still_closes_it() -> None:
    rec = recovering(recovery_deadline=NOW, hedge_ticket=99, hedge_volume=0.5)
    rec = replace(rec, owed=(K.CLOSE_HEDGE,))
    e = ev(rec, 1.0)
    assert e.transition == (S.RECOVERING, S.HEALTHY)
    assert e.record.owed == (K.CLOSE_HEDGE,)
    assert kinds(e) == [(K.CLOSE_HEDGE, {"hedge_ticket": 99})]
