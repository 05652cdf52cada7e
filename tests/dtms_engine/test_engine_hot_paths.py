"""The shortcuts of the hot path give the same answers as the plain computation.

Sub-scores shared between the snapshots of one signal bar, the record's dict-copy
``evolve``, an idle evaluation that hands back the very same record, and the action
reason that is only built when an action is sent."""

from __future__ import annotations

import inspect
from dataclasses import replace

import pytest
from support.dtms_kit import GOLD, SETTINGS, T0, aggregate, bars, minutes, quote, scored, trade

from dtms_plugin.engine import (
    AccountState,
    SignalSnapshot,
    SymbolIndicators,
    TradeRecord,
    evaluate,
    register,
)
from dtms_plugin.engine.score import compute_score
from hookspecs import ActionKind, DefensiveState

_SNAPSHOT_ARGS = [
    name for name in inspect.signature(SignalSnapshot).parameters if name != "signal_cache"
]


def _alone(snap: SignalSnapshot) -> SignalSnapshot:
    """The same features in a snapshot that shares no cache with any other."""
    return SignalSnapshot(**{name: getattr(snap, name) for name in _SNAPSHOT_ARGS})


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_shared_signal_subscores_match_a_fresh_computation(seed: int) -> None:
    fast = bars(900, seed=seed)
    slow = aggregate(fast)
    ind = SymbolIndicators("XAUUSD", SETTINGS)
    checked = 0
    for i, bar in enumerate(fast):
        ind.feed_fast(bar)
        if i % 3 == 2:
            ind.feed_signal(slow[i // 3])
        snap = ind.snapshot()
        assert snap is not None
        for direction in ("sell", "buy") if i % 2 else ("buy", "sell"):
            assert snap.score(direction) == compute_score(_alone(snap), direction)
            checked += 1
    assert checked == 2 * len(fast)


def test_snapshots_of_one_signal_bar_share_the_signal_cache_until_the_next() -> None:
    fast = bars(300)
    slow = aggregate(fast)
    ind = SymbolIndicators("XAUUSD", SETTINGS)
    for i, bar in enumerate(fast[:297]):
        ind.feed_fast(bar)
        if i % 3 == 2:
            ind.feed_signal(slow[i // 3])
    first = ind.snapshot()
    ind.feed_fast(fast[297])
    second = ind.snapshot()
    assert first is not None and second is not None and first is not second
    if first.regime is second.regime:
        assert first.signal_cache is second.signal_cache
    ind.feed_fast(fast[298])
    ind.feed_signal(slow[99])
    third = ind.snapshot()
    assert third is not None and third.signal_cache is not second.signal_cache


def test_evolve_is_replace() -> None:
    rec = register(trade(), None, T0)
    changed = rec.evolve(state=DefensiveState.WARNING_L1, seq=4, last_score=-2.5)
    assert changed == replace(rec, state=DefensiveState.WARNING_L1, seq=4, last_score=-2.5)
    assert rec.state is DefensiveState.HEALTHY and rec.seq == 0  # the original is untouched
    assert rec.evolve() == rec and rec.evolve() is not rec
    with pytest.raises(TypeError, match="no field"):
        rec.evolve(stat=DefensiveState.HEDGED)
    with pytest.raises(AttributeError):
        changed.seq = 5  # type: ignore[misc]


def _armed() -> TradeRecord:
    return replace(register(trade(), None, T0), armed=True)


def test_an_idle_evaluation_returns_the_same_record_object() -> None:
    snap = scored(0.5, T0 + minutes(20))
    now = T0 + minutes(25)
    first = evaluate(_armed(), snap, quote(2000.0), now, SETTINGS, GOLD, AccountState())
    assert first.score is not None
    again = evaluate(
        first.record, snap, quote(2000.0), now + minutes(1), SETTINGS, GOLD, AccountState()
    )
    assert again.record is first.record
    assert again.actions == () and again.transition is None and not again.changed
    assert again.reason == "no change"


def test_a_sent_action_carries_the_decision_and_the_score() -> None:
    snap = scored(-2.5, T0 + minutes(20))
    e = evaluate(_armed(), snap, quote(2000.0), T0 + minutes(25), SETTINGS, GOLD, AccountState())
    (action,) = e.actions
    assert action.kind is ActionKind.TIGHTEN_SL
    assert action.reason == e.reason
    assert action.reason.startswith("HEALTHY→WARNING_L1") and "S=-2.50" in action.reason
