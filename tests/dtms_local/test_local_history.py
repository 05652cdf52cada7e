"""The action history is complete: every journal entry that ends done or failed is in
``store.actions(ticket)`` exactly once, including those settled from the broker after a
crash or an unknown outcome, and a second restart adds nothing. Real store directory,
broker double, restarts as a killed process would."""

from __future__ import annotations

from typing import Any

import pytest
from support.broker_double import SimulatedCrash
from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus, TradeRecord

L2_AFTER = 17  # cycles before the one that enters WARNING_L2 (pinned in test_local_ladder)
PARTIAL = "1:2:partial_close"


def status(rec: TradeRecord) -> JournalStatus | None:
    entry = rec.entry(PARTIAL)
    return entry.status if entry is not None else None


def history(rig: Rig) -> list[tuple[Any, Any]]:
    return [(h["key"], h["ok"]) for h in rig.strategy.store.actions(1)]


async def test_a_pending_entry_settled_at_recovery_is_in_the_history_once(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.host.crash_after_broker.add("partial_close")
    with pytest.raises(SimulatedCrash):
        await rig.cycles(1)
    stored = TradeRecord.from_json(rig.strategy.store.get_record(1) or {})
    assert status(stored) is JournalStatus.PENDING
    assert PARTIAL not in [key for key, _ in history(rig)]

    await rig.restart()  # recovery: the broker shows the half closed, so it is done
    assert status(rig.strategy.records[1]) is JournalStatus.DONE
    assert history(rig) == [("1:1:tighten_sl", True), (PARTIAL, True)]
    settled = rig.strategy.store.actions(1)[-1]
    assert settled["kind"] == "partial_close" and "settled" in settled["reason"]

    await rig.restart()  # nothing left to settle: nothing added
    assert history(rig) == [("1:1:tighten_sl", True), (PARTIAL, True)]


async def test_an_entry_not_applied_before_a_crash_is_failed_once_then_done(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.host.crash_before_broker.add("partial_close")
    with pytest.raises(SimulatedCrash):
        await rig.cycles(1)
    await rig.restart()  # too soon to call it not applied (actions.unknown_wait_seconds)
    await rig.restart()
    assert history(rig) == [("1:1:tighten_sl", True)]
    await rig.cycles(1)  # settled as not applied, then sent again: each in the history once
    assert history(rig) == [("1:1:tighten_sl", True), (PARTIAL, False), (PARTIAL, True)]


async def test_an_unknown_outcome_is_in_the_history_once_it_is_settled(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.broker.apply_then_timeout.add("close")
    await rig.cycles(1)
    assert status(rig.strategy.records[1]) is JournalStatus.UNKNOWN
    assert history(rig) == [("1:1:tighten_sl", True)]  # not ended yet
    await rig.restart()  # settled from the broker during recovery
    assert history(rig) == [("1:1:tighten_sl", True), (PARTIAL, True)]
    await rig.cycles(2)
    await rig.restart()
    assert history(rig) == [("1:1:tighten_sl", True), (PARTIAL, True)]
