"""DTMS on the real MetaTrader broker over the fake terminal, the price resting inside the
freeze level of the stop: the defences the ladder owes wait, and DTMS says so (once, with
the owed actions); a trade it CLOSED whose close still waits is reported as such, its
position open, not as closed and done.

The probe's case (stops level 1000 points, freeze level 500, bid 1994, stop 1990): the
trade reached WARNING_L2 with its partial close and breakeven never sent and never said,
then HEDGED -> CLOSED with the close held back, and the run's report counted it CLOSED
while the trade and its hedge were still open.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hostapp_mt5.test_mt5_dtms_ladder import Mt5Rig, _sent

from hookspecs import DefensiveState


async def test_defences_waiting_inside_the_freeze_level_are_said_and_a_close_owed_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    rig = Mt5Rig(tmp_path / "dtms", hedging=True)
    rig.fake.symbols["XAUUSD"].freeze_level = 1_000_000  # 10,000 in price: always inside
    await rig.start()
    ticket = await rig.buy()
    for _ in range(60):
        await rig.cycles(1)
    rec = rig.strategy.records[ticket]
    assert rec.state is DefensiveState.CLOSED and "close" in [k.value for k in rec.owed]
    assert ticket in rig.fake.positions  # its close waits: the position is open
    assert [s[0] for s in _sent(rig.fake)] == ["open"]  # the hedge alone: it does not wait
    said = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.getMessage().startswith(f"DTMS {ticket} (") and "freeze level" in r.getMessage()
    ]
    assert [text.split(":")[1].strip() for _, text in said] == [
        "tighten_sl owed, held back",  # WARNING_L1
        "partial_close, move_sl_breakeven owed, held back",  # WARNING_L2 (its stop too)
        "close owed, held back",  # CLOSED
    ]
    assert {level for level, _ in said} == {logging.WARNING}
    assert "its position still open" in said[-1][1]
    over = f"DTMS {ticket}: its wait for the freeze level is over (27 cycles): "
    # the trade moved on to HEDGED (the hedge does not wait): what was held back is dropped
    assert over + "move_sl_breakeven, partial_close, tighten_sl no longer owed" in caplog.text
    report = rig.strategy.report()
    assert report["closes_owed"] == [ticket]
    assert (
        f"close is owed, not done: their positions are still open at the broker (tickets {ticket})"
        in report["note"]
    )
    await rig.stop()
