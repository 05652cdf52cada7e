"""Action planning of docs/dtms.md §6 at its edges: volumes at the broker's minimum and
maximum, stops rounded across the stops level, the half-point not-tighter tolerance, the
freeze level to the cent, breakeven for a sell and at its own level, the Skip and Wait
outcomes, and what ``plan_owed`` writes back into the record (retries, given-up and
skipped intents, warnings). A wrong answer here is an order the broker refuses, or a stop
that loosens."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, trade

from dtms_plugin.engine import TradeRecord, begin, finish, register
from dtms_plugin.engine.planning import (
    Dropped,
    Outcome,
    Reason,
    Send,
    Skip,
    Wait,
    place_sl,
    plan_intent,
    plan_owed,
)
from dtms_plugin.engine.record import MAX_WARNINGS
from dtms_plugin.engine.volumes import hedge_volume, partial_volume
from hookspecs import (
    Action,
    ActionKind,
    ActionResult,
    DefensiveState,
    Quote,
    ResultCode,
    SymbolInfo,
)

K = ActionKind
NOW = T0 + minutes(30)
#: a symbol quoted in whole points of 2.0 (digits 0): half a point is a whole unit
COARSE = SymbolInfo("IDX", 0, 2.0, 1.0, 1.0, 100.0)


def rec(**changes: object) -> TradeRecord:
    """A buy at 2000 with its stop at 1990 (R = 10), 1 lot."""
    return replace(register(trade(), None, T0), **changes)  # type: ignore[arg-type]


def sell(**changes: object) -> TradeRecord:
    """A sell at 2000 with its stop at 2010 (R = 10), 1 lot."""
    return replace(register(trade(direction="sell", sl=2010.0), None, T0), **changes)  # type: ignore[arg-type]


def plan(
    record: TradeRecord,
    intent: K,
    mid: float = 2000.0,
    info: SymbolInfo = GOLD,
    *,
    q: Quote | str | None = "mid",
    spread_ok: bool = True,
) -> Outcome:
    """``plan_intent`` at ``quote(mid)`` (or ``q``, which may be ``None``: no quote)."""
    live = quote(mid) if isinstance(q, str) else q
    return plan_intent(record, intent, live, info, SETTINGS, spread_ok=spread_ok, reason="r")


def sent(outcome: object) -> tuple[K, dict[str, object]]:
    assert isinstance(outcome, Send), outcome
    return outcome.action.kind, dict(outcome.action.params)


# --- volumes ------------------------------------------------------------------------------


def test_a_partial_close_is_capped_at_the_symbols_maximum_volume() -> None:
    capped = replace(GOLD, volume_max=0.3)
    assert partial_volume(1.0, 0.5, capped) == (0.3, "")
    assert sent(plan(rec(), K.PARTIAL_CLOSE, info=capped)) == (K.PARTIAL_CLOSE, {"volume": 0.3})


def test_a_maximum_volume_of_zero_means_no_cap() -> None:
    unlimited = replace(GOLD, volume_max=0.0)
    assert partial_volume(1.0, 0.5, unlimited) == (0.5, "")
    assert hedge_volume(1.0, 0.5, unlimited) == (0.5, "")


def test_a_hedge_of_exactly_the_minimum_volume_is_sent() -> None:
    assert hedge_volume(0.02, 0.5, GOLD) == (0.01, "")
    assert sent(plan(rec(volume=0.02), K.HEDGE)) == (K.HEDGE, {"volume": 0.01})
    assert sent(plan(rec(volume=0.01), K.HEDGE)) == (K.HEDGE, {"volume": 0.01})
    assert plan(rec(volume=0.005), K.HEDGE) == Skip(
        "open volume 0.005 below the minimum 0.01: no hedge"
    )


# --- stops: rounding, tolerance, freeze level ---------------------------------------------------


def test_a_stop_moved_out_to_the_stops_level_is_not_rounded_back_inside_it() -> None:
    info = replace(GOLD, stops_level=0.003)
    # a buy: the level is bid 2000.0 - (0.003 + spread 0.2) = 1999.797; 1999.80 is inside
    sl, _ = place_sl(rec(), 2000.0, quote(2000.1), info)
    assert sl == 1999.79
    # a sell: ask 2000.2 + 0.203 = 2000.403; 2000.40 is inside
    sl, _ = place_sl(sell(), 2000.0, quote(2000.1), info)
    assert sl == 2000.41


@pytest.mark.parametrize(("target", "expected"), [(1996.0, None), (1997.0, 1997.0)])
def test_a_stop_must_tighten_by_more_than_half_a_point(
    target: float, expected: float | None
) -> None:
    sl, _ = place_sl(rec(stop_loss=1995.0), target, quote(2000.0), COARSE)
    assert sl == expected


def test_a_stop_one_point_tighter_is_sent() -> None:
    sl, note = place_sl(rec(stop_loss=1996.89), 1996.9, quote(2000.0), GOLD)
    assert (sl, note) == (1996.9, "")


@pytest.mark.parametrize(("sl", "waits"), [(1999.5, True), (1999.49, False)])
def test_stop_changes_wait_inside_the_freeze_level_to_the_cent(sl: float, waits: bool) -> None:
    info = replace(GOLD, freeze_level=0.5)
    out = plan(rec(stop_loss=sl), K.TIGHTEN_SL, mid=2000.1, info=info)  # bid 2000.0
    assert isinstance(out, Wait) is waits


def test_a_freeze_level_does_not_hold_a_trade_without_a_stop() -> None:
    info = replace(GOLD, freeze_level=0.5)
    assert sent(plan(rec(stop_loss=None), K.TIGHTEN_SL, mid=2000.1, info=info)) == (
        K.TIGHTEN_SL,
        {"stop_loss": 1997.0},
    )


def test_without_a_freeze_level_a_price_at_the_stop_does_not_wait() -> None:
    out = plan(rec(stop_loss=1990.0), K.TIGHTEN_SL, mid=1990.1)  # bid at the stop
    assert isinstance(out, Skip)  # not tighter: skipped, not kept waiting
    assert out.met  # the stop is as tight as it can be: nothing left undone


def test_a_stop_intent_already_met_is_dropped_as_met_and_a_volume_one_is_not() -> None:
    """What a run counts as left undone (:class:`Dropped` ``met``): not a stop that is
    tighter already, but a partial close the minimum lot cannot take."""
    r = rec(owed=(K.TIGHTEN_SL, K.PARTIAL_CLOSE), stop_loss=1999.0, volume=0.01)
    _, actions, dropped = owed_plan(r, reason="r")
    assert actions == ()
    assert [(d.kind, d.met, d.given_up) for d in dropped] == [
        (K.TIGHTEN_SL, True, False),
        (K.PARTIAL_CLOSE, False, False),
    ]
    assert dropped[0].text == "tighten_sl skipped: SL 1996.90 is not tighter than 1999.00"


# --- breakeven --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stops", "mid", "kind", "sl"),
    [
        (0.0, 2000.3, K.TIGHTEN_SL, 1997.2),  # bid 2000.2 at BE 2000.2: not beyond it
        (0.5, 2000.7, K.TIGHTEN_SL, 1997.6),  # the stops level would put it below the entry
        (0.2, 2000.496, K.TIGHTEN_SL, 1997.4),  # rounding back from the level: below entry
        (1.0, 2001.806, K.MOVE_SL_BREAKEVEN, 2000.5),  # rounded one point back, above entry
    ],
)
def test_breakeven_for_a_buy_at_its_edges(stops: float, mid: float, kind: K, sl: float) -> None:
    info = replace(GOLD, stops_level=stops)
    assert sent(plan(rec(), K.MOVE_SL_BREAKEVEN, mid=mid, info=info)) == (kind, {"stop_loss": sl})


@pytest.mark.parametrize(
    ("mid", "kind", "sl"),
    [
        (1995.0, K.MOVE_SL_BREAKEVEN, 1999.8),  # ask 1995.1: well beyond BE 1999.8
        (1999.6, K.MOVE_SL_BREAKEVEN, 1999.9),  # ask 1999.7: BE moved out to ask + spread
        (1999.7, K.TIGHTEN_SL, 2002.8),  # ask 1999.8 at BE: not beyond it
        (2003.0, K.TIGHTEN_SL, 2006.1),  # a losing sell: 0.3 R above the ask
    ],
)
def test_breakeven_for_a_sell(mid: float, kind: K, sl: float) -> None:
    assert sent(plan(sell(), K.MOVE_SL_BREAKEVEN, mid=mid)) == (kind, {"stop_loss": sl})


# --- Skip and Wait ----------------------------------------------------------------------------


def test_stop_intents_wait_for_a_quote() -> None:
    assert plan(rec(), K.TIGHTEN_SL, q=None) == Wait("no quote")
    assert plan(rec(), K.MOVE_SL_BREAKEVEN, q=None) == Wait("no quote")


def test_a_stop_relative_to_r_is_skipped_while_r_is_unknown() -> None:
    assert plan(rec(r=0.0), K.TIGHTEN_SL) == Skip("R unknown: cannot place a stop R-relative")
    small = plan(rec(r=0.5), K.TIGHTEN_SL)  # bid 1999.9 - 0.15, moved out by the spread
    assert sent(small) == (K.TIGHTEN_SL, {"stop_loss": 1999.7})


def test_closing_a_hedge_that_is_not_open_is_skipped() -> None:
    assert plan(rec(), K.CLOSE_HEDGE) == Skip("no hedge open")


def test_a_re_add_waits_while_the_spread_is_wide() -> None:
    assert plan(rec(closed_volume=0.5), K.RE_ADD, spread_ok=False) == Wait(
        "re-add held: spread above the limit"
    )
    blind = plan(rec(closed_volume=0.5), K.RE_ADD, q=None, spread_ok=False)
    assert blind == Wait("re-add held: no quote")
    assert plan(rec(), K.HEDGE, q=None, spread_ok=False) == Wait("hedge held: no quote")
    assert plan(rec(), K.HEDGE, spread_ok=False) == Wait("hedge held: spread above the limit")
    assert sent(plan(rec(closed_volume=0.5), K.RE_ADD)) == (K.RE_ADD, {"volume": 0.25})


# --- plan_owed: what it writes back ---------------------------------------------------------------


def journaled(record: TradeRecord, intent: K, attempts: int, ok: bool = False) -> TradeRecord:
    """``record`` with ``attempts`` attempts of ``intent`` journaled, the last one failed
    (or done)."""
    params = {"stop_loss": 1996.9} if intent is K.TIGHTEN_SL else {}
    action = Action(record.ticket, intent, params, "r", record.key_for(intent))
    for _ in range(attempts):
        record = begin(record, action, NOW)
        result = (
            ActionResult(True, ResultCode.OK)
            if ok
            else ActionResult.failure(ResultCode.TRANSIENT, "requote")
        )
        record = finish(record, action, result, NOW, SETTINGS)
    return record


def owed_plan(
    record: TradeRecord, reason: Reason, *, spread_ok: bool = True, retry: bool = True
) -> tuple[TradeRecord, tuple[Action, ...], list[Dropped]]:
    return plan_owed(
        record, quote(2000.0), GOLD, SETTINGS, spread_ok=spread_ok, reason=reason, retry=retry
    )


@pytest.mark.parametrize(("max_retries", "resent"), [(3, True), (2, False)])
def test_a_stop_past_a_lowered_retry_limit_is_given_up_not_sent_again(
    max_retries: int, resent: bool
) -> None:
    """Three failed attempts are within the default limit (1 + 3 retries); after a restart
    with ``max_retries = 2`` they are the whole allowance, and the intent is given up."""
    r = journaled(rec(state=DefensiveState.WARNING_L1, owed=(K.TIGHTEN_SL,)), K.TIGHTEN_SL, 3)
    assert r.owed == (K.TIGHTEN_SL,)
    settings = replace(SETTINGS, actions=replace(SETTINGS.actions, max_retries=max_retries))
    out, actions, notes = plan_owed(r, quote(2000.0), GOLD, settings, spread_ok=True, reason="r")
    assert bool(actions) is resent
    if resent:
        assert out.owed == (K.TIGHTEN_SL,) and notes == []
    else:
        assert out.owed == () and notes == [Dropped(K.TIGHTEN_SL, "3 attempts", given_up=True)]
        assert out.warnings[-1] == "tighten_sl given up after 3 attempts"


def test_plan_owed_retries_failed_actions_unless_told_otherwise() -> None:
    r = journaled(rec(owed=(K.TIGHTEN_SL,)), K.TIGHTEN_SL, 1)
    _, actions, _ = owed_plan(r, reason="r")
    assert [a.kind for a in actions] == [K.TIGHTEN_SL]
    _, held, _ = owed_plan(r, reason="r", retry=False)
    assert held == ()


def test_a_done_intent_leaves_owed() -> None:
    r = journaled(rec(owed=(K.TIGHTEN_SL, K.PARTIAL_CLOSE)), K.TIGHTEN_SL, 1, ok=True)
    out, actions, notes = owed_plan(r, reason="r")
    assert out.owed == (K.PARTIAL_CLOSE,) and notes == []
    assert [a.kind for a in actions] == [K.PARTIAL_CLOSE]


def test_a_waiting_hedge_stays_owed_without_a_warning() -> None:
    r = rec(owed=(K.HEDGE,))
    out, actions, notes = owed_plan(r, reason="r", spread_ok=False)
    assert actions == () and notes == [] and out is r


def test_a_skipped_intent_leaves_owed_with_a_warning_after_the_earlier_ones() -> None:
    r = rec(owed=(K.CLOSE_HEDGE,), warnings=("earlier",))
    out, actions, notes = owed_plan(r, reason="r")
    assert actions == () and out.owed == ()
    assert notes == [Dropped(K.CLOSE_HEDGE, "no hedge open")]
    assert out.warnings == ("earlier", "close_hedge skipped: no hedge open")


def test_warnings_keep_only_the_newest() -> None:
    old = tuple(f"w{i}" for i in range(MAX_WARNINGS))
    out, _, _ = owed_plan(rec(owed=(K.CLOSE_HEDGE,), warnings=old), reason="r")
    assert len(out.warnings) == MAX_WARNINGS
    assert out.warnings[0] == "w1" and out.warnings[-1] == "close_hedge skipped: no hedge open"


def test_a_plan_that_sends_and_keeps_everything_returns_the_same_record() -> None:
    r = rec(owed=(K.PARTIAL_CLOSE,))
    out, actions, _ = owed_plan(r, reason="r")
    assert out is r and len(actions) == 1


def test_the_reason_text_is_given_to_every_action_and_built_once() -> None:
    calls: list[int] = []

    def reason() -> str:
        calls.append(1)
        return "S=-4.50 [...]"

    r = rec(owed=(K.PARTIAL_CLOSE, K.TIGHTEN_SL))
    _, actions, _ = owed_plan(r, reason=reason)
    assert [a.reason for a in actions] == ["S=-4.50 [...]", "S=-4.50 [...]"] and calls == [1]
    _, plain, _ = owed_plan(r, reason="flat deadline passed")
    assert {a.reason for a in plain} == {"flat deadline passed"}


def test_breakeven_exactly_at_the_stops_level_is_kept() -> None:
    """Bid 2000.5, spread 0.25: breakeven 2000.25 is exactly the closest level allowed."""
    q = Quote("XAUUSD", 2000.5, 2000.75, NOW)
    assert sent(plan(rec(), K.MOVE_SL_BREAKEVEN, q=q)) == (
        K.MOVE_SL_BREAKEVEN,
        {"stop_loss": 2000.25},
    )
