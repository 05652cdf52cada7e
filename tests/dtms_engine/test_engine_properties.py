"""Properties over random score paths: stops never loosen, no key is executed twice
across replays and restarts, the score stays within ±10.5."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, regime, scored, snapshot, trade

from dtms_plugin.engine import (
    AccountState,
    JournalStatus,
    OrderFlow,
    TradeRecord,
    begin,
    evaluate,
    finish,
    register,
    settle,
)
from dtms_plugin.engine.regime import Session, Structure, Volatility
from hookspecs import ActionKind, ActionResult, Bar, DefensiveState, ResultCode

K = ActionKind
SL_KINDS = (K.TIGHTEN_SL, K.MOVE_SL_BREAKEVEN)

step = st.tuples(
    st.floats(-10.5, 10.5),  # score
    st.floats(-15.0, 15.0),  # price offset from entry
    st.sampled_from([-1.0, 0.0, 1.0]),  # structure
    st.booleans(),  # confluence against
    st.sampled_from([ResultCode.OK, ResultCode.TRANSIENT, ResultCode.UNKNOWN_OUTCOME]),
    st.booleans(),  # restart (JSON round trip) after this step
    st.booleans(),  # replay this step's evaluation once more
)


def roundtrip(rec: TradeRecord) -> TradeRecord:
    return TradeRecord.from_json(json.loads(json.dumps(rec.to_json())))


@settings(max_examples=150, deadline=None)
@given(
    direction=st.sampled_from(["buy", "sell"]),
    hedging=st.booleans(),
    steps=st.lists(step, min_size=1, max_size=40),
)
def test_stops_never_loosen_and_no_key_runs_twice(
    direction: str,
    hedging: bool,
    steps: list[tuple],  # type: ignore[type-arg]
) -> None:
    sign = 1 if direction == "buy" else -1
    rec = register(trade(direction=direction, sl=2000.0 - sign * 10.0), None, T0)  # type: ignore[arg-type]
    done_keys: set[str] = set()
    sent_after_done: list[str] = []
    for i, (total, offset, structure, conf, code, restart, replay) in enumerate(steps):
        bar_time = T0 + minutes(5 * (i + 3))
        now = bar_time + minutes(5)
        q = quote(2000.0 + offset, at=now)
        snap = scored(
            total, bar_time, structure=structure, confluence_against=conf, direction=direction
        )  # type: ignore[arg-type]
        for _ in range(2 if replay else 1):
            e = evaluate(rec, snap, q, now, SETTINGS, GOLD, AccountState(hedging))
            rec = e.record
            for action in e.actions:
                if action.key in done_keys:
                    sent_after_done.append(action.key)
                if action.kind in SL_KINDS:
                    new = float(action.params["stop_loss"])
                    assert rec.stop_loss is None or sign * (new - rec.stop_loss) > 0
                before = rec.stop_loss
                rec = begin(rec, action, now)
                result = (
                    ActionResult.success(new_ticket=900 + i)
                    if code is ResultCode.OK
                    else ActionResult.failure(code, "simulated")
                )
                rec = finish(rec, action, result, now, SETTINGS)
                if result.ok:
                    done_keys.add(action.key)
                if before is not None and rec.stop_loss is not None:
                    assert sign * (rec.stop_loss - before) >= 0
            # an unknown outcome is settled as "not applied" by the executor before resending
            for entry in rec.journal:
                if entry.status is JournalStatus.UNKNOWN:
                    rec = settle(rec, entry, False, None, now, SETTINGS)
        if restart:
            rec = roundtrip(rec)
    assert sent_after_done == []


features = st.fixed_dictionaries(
    {},
    optional={
        "signal_close": st.floats(1900, 2100),
        "swing_low": st.floats(1900, 2100),
        "swing_high": st.floats(1900, 2100),
        "vwap": st.floats(1900, 2100),
        "vwap_slope": st.floats(-0.05, 0.05),
        "vwap_above": st.integers(0, 5),
        "vwap_below": st.integers(0, 5),
        "rsi": st.floats(0, 100),
        "rsi_prev": st.floats(0, 100),
        "hist": st.lists(st.floats(-5, 5), min_size=3, max_size=3).map(tuple),
        "ema_fast_slope": st.floats(-0.1, 0.1),
        "ema_slow_slope": st.floats(-0.1, 0.1),
        "atr_fast": st.floats(0.01, 20),
        "order_flow": st.builds(
            OrderFlow, st.floats(0, 1000), st.floats(0, 1000), st.none() | st.floats(-5, 5)
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    feats=features,
    direction=st.sampled_from(["buy", "sell"]),
    session=st.sampled_from(list(Session)),
    vol=st.sampled_from(list(Volatility)),
    struct=st.sampled_from(list(Structure)),
    ohlc=st.lists(st.floats(1950, 2050), min_size=4, max_size=4),
)
def test_score_stays_within_bounds(
    feats: dict[str, object],
    direction: str,
    session: Session,
    vol: Volatility,
    struct: Structure,
    ohlc: list[float],
) -> None:
    o, c = ohlc[0], ohlc[1]
    bar = Bar(T0, o, max(ohlc), min(ohlc), c, 1.0)
    snap = snapshot(T0, bar=bar, rg=regime(session, vol, struct), **feats)
    bd = snap.score(direction)  # type: ignore[arg-type]
    assert -10.5 - 1e-9 <= bd.total <= 10.5 + 1e-9
    assert all(-1.0 <= v <= 1.0 for v in bd.subscores)
    assert 0.0 <= bd.confluence <= 1.0


def test_replayed_transition_after_restart_does_not_repeat_the_partial_close() -> None:
    rec = replace(register(trade(), None, T0), armed=True, state=DefensiveState.WARNING_L1)
    snap = scored(-5.0, T0 + minutes(20))
    now = T0 + minutes(25)
    e = evaluate(rec, snap, quote(1996.0), now, SETTINGS, GOLD, AccountState())
    partial = next(a for a in e.actions if a.kind is K.PARTIAL_CLOSE)
    rec = finish(begin(e.record, partial, now), partial, ActionResult.success(), now, SETTINGS)
    restarted = roundtrip(rec)
    again = evaluate(
        restarted, snap, quote(1996.0), now + minutes(1), SETTINGS, GOLD, AccountState()
    )
    assert all(a.kind is not K.PARTIAL_CLOSE for a in again.actions)
    assert again.record.volume == 0.5
