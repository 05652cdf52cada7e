"""A hedge the spread rail holds back leaves a trace (docs/dtms.md §5 and §7).

The engine answers a held hedge with a reason and no transition, and the local strategy
logged a reason only on a transition (at DEBUG): a trade held in WARNING_L2 while the
spread was wide, which fell back and stopped out, left nothing in the log, on its record
or in the run's report. Now the hold is one WARNING when it begins, one line with its
count of cycles when it ends, a warning on the record and a count in the report. The
local strategy over its real store, the rig's falling gold market: the buy reaches the
hedge threshold at the 36th cycle, here while the broker's spread is five times the
bars' median (1.0 against 0.2), above the rail's 2 ×."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from support.dtms_local_rig import Rig

from dtms_plugin.engine import TradeRecord
from hookspecs import DefensiveState

S = DefensiveState


def _said(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if words in r.getMessage() and r.levelno == logging.WARNING
    ]


async def _held(rig: Rig) -> None:
    """The buy walked down with the spread wide from the 21st cycle on: held in WARNING_L2."""
    await rig.open_buy()
    await rig.cycles(20)
    rig.broker.spread = 1.0
    await rig.cycles(25)  # 45 in all: 10 cycles past the hedge's, held at every one
    assert rig.strategy.records[1].state is S.WARNING_L2
    assert rig.broker.count("hedge") == 0


async def test_a_held_hedge_is_said_once_and_its_end_with_its_count(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    await _held(rig)
    begun = _said(caplog, "hedge held back")
    assert begun == [
        "DTMS 1 (XAUUSD): hedge held back (VWAP slope against): spread above the limit; it "
        "stays WARNING_L2 (said once: the hold's end is said with how many cycles it lasted)"
    ]
    rig.broker.spread = 0.2  # the rail lets it go: hedged on the next cycle
    await rig.cycles(3)
    assert rig.strategy.records[1].state is S.HEDGED
    assert _said(caplog, "no longer held back") == [
        "DTMS 1: hedge no longer held back (WARNING_L2→HEDGED: VWAP slope against), after "
        "10 cycles since 2026-01-05 13:00 (held back 10 times: spread above the limit)"
    ]
    assert len(_said(caplog, "hedge held back")) == 1  # not once per cycle
    held = "hedge held back (VWAP slope against): spread above the limit (from 2026-01-05 13:00)"
    assert rig.strategy.records[1].warnings[-1] == held
    stored = TradeRecord.from_json(rig.strategy.store.get_record(1) or {})
    assert held in stored.warnings  # kept with the trade, as its skipped actions are
    report = rig.strategy.report()
    assert report["hedges_held_back"] == {"spread above the limit": 1}
    assert (
        "DTMS held 1 hedge back for the spread (ticket 1): each trade stayed in its state "
        "meanwhile" in report["note"]
    )


async def test_a_hold_ends_when_the_broker_closes_the_trade(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    await _held(rig)
    position = rig.broker.open_positions.pop(1)
    closed = replace(position, close_price=2150.0, profit=-43.5, closed_at=rig.clock.now())
    await rig.strategy.on_trade_closed(rig.host, closed, "stop_loss")
    assert _said(caplog, "no longer held back") == [
        "DTMS 1: hedge no longer held back (the trade closed: stop_loss), after 10 cycles "
        "since 2026-01-05 13:00 (held back 10 times: spread above the limit)"
    ]
    await rig.cycles(2)
    assert len(_said(caplog, "held back")) == 2  # begun and ended, nothing more


async def test_a_hold_still_on_at_shutdown_is_said_with_its_count(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    await _held(rig)
    assert "held 1 hedge back for the spread (ticket 1)" in rig.strategy.report()["note"]
    await rig.strategy.shutdown(rig.host)
    assert _said(caplog, "no longer held back") == [
        "DTMS 1: hedge no longer held back (still held when DTMS stopped), after 10 cycles "
        "since 2026-01-05 13:00 (held back 10 times: spread above the limit)"
    ]
