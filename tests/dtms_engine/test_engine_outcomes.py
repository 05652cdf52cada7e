"""What the engine does with the broker's answer to an action (docs/dtms.md §6): the lots
that filled booked instead of the lots asked."""

from __future__ import annotations

from datetime import datetime

from support.dtms_kit import SETTINGS
from support.dtms_machine import NOW, record

from dtms_plugin.engine import (
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
