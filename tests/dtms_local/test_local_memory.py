"""A host's local engine runs for months: a closed trade leaves memory once it is written
and the account rails no longer read it, and so does its mark of having been scored; the
run's report still counts every trade scored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from support.dtms_local_rig import Rig


async def test_scored_closed_trades_leave_memory_and_stay_counted(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    for ticket in range(1, 9):
        await rig.open_buy(ticket=ticket, volume=0.1)
    await rig.cycles(5)
    assert rig.strategy.evaluated == set(range(1, 9))
    for ticket in range(1, 8):
        rig.broker.close(ticket)
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
    rig.clock.advance(timedelta(days=1))
    await rig.cycles(1)
    kept = rig.settings.rails.stop_streak  # the last closed ones the rails read
    assert set(rig.strategy.records) == {8, *range(8 - kept, 8)}
    assert rig.strategy.evaluated == set(rig.strategy.records)
    assert rig.strategy.report()["evaluated"] == 8
    assert set(rig.strategy.store.records()) == set(range(1, 9))  # the store keeps them
    await rig.stop()
