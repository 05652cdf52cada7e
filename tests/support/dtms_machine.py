"""Helpers for the state-machine tests: an armed buy record and one evaluation of it.

A buy at 2000 with its stop at 1990 (R = 10), armed, last scored on the bar before
``BAR``; ``ev`` scores it on ``BAR`` (or not, without a total) and evaluates it at
``NOW``, the close of that bar.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dtms_plugin.engine import AccountState, Evaluation, TradeRecord, evaluate, register
from dtms_plugin.settings import DtmsSettings
from hookspecs import ActionKind, DefensiveState, Quote
from support.dtms_kit import GOLD, SETTINGS, T0, minutes, quote, scored, trade

BAR = T0 + minutes(20)  # the newest fast bar in these tests; it closed at BAR + 5 min
NOW = BAR + minutes(5)


def record(state: DefensiveState = DefensiveState.HEALTHY, **changes: object) -> TradeRecord:
    base = register(trade(), None, T0)
    fields: dict[str, object] = dict(
        state=state, armed=True, seq=3, last_bar_time=BAR - minutes(5), last_eval_price=1999.9
    )
    fields.update(changes)
    return replace(base, **fields)  # type: ignore[arg-type]


def ev(
    rec: TradeRecord,
    total: float | None = None,
    *,
    now: datetime = NOW,
    q: Quote | None = None,
    no_quote: bool = False,
    hedging: bool = True,
    defensive: bool = False,
    gone: bool = False,
    settings: DtmsSettings = SETTINGS,
    bar: datetime = BAR,
    **score: object,
) -> Evaluation:
    snap = scored(total, bar, **score) if total is not None else None  # type: ignore[arg-type]
    return evaluate(
        rec,
        snap,
        None if no_quote else (q or quote(2000.0)),
        now,
        settings,
        GOLD,
        AccountState(hedging, defensive),
        position_gone=gone,
    )


def kinds(e: Evaluation) -> list[tuple[ActionKind, dict[str, object]]]:
    return [(a.kind, dict(a.params)) for a in e.actions]


def hedged(**changes: object) -> TradeRecord:
    base: dict[str, object] = dict(
        volume=0.5,
        closed_volume=0.5,
        hedge_ticket=77,
        hedge_volume=0.25,
        flat_deadline=NOW + minutes(60),
    )
    base.update(changes)
    state = base.pop("state", DefensiveState.HEDGED)
    return record(state, **base)  # type: ignore[arg-type]


def recovering(**changes: object) -> TradeRecord:
    base: dict[str, object] = dict(
        volume=0.5, closed_volume=0.5, recovery_deadline=NOW + minutes(10)
    )
    base.update(changes)
    return record(DefensiveState.RECOVERING, **base)
