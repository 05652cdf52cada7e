"""A host's local engine runs for months: a closed trade leaves memory once it is written
and the account rails no longer read it, and so does its mark of having been scored; the
run's report still counts every trade scored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
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


async def test_the_report_says_why_some_trades_were_never_evaluated(tmp_path: Path) -> None:
    """A run whose engine scored 130 of 160 trades said nothing of the other 30: the
    note came only when none was scored. They closed before arming, and it says so."""
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    await rig.open_buy(ticket=1, volume=0.1)
    await rig.cycles(5)  # armed by age (3 M5 bars) and scored
    await rig.open_buy(ticket=2, volume=0.1)
    rig.broker.close(2)  # gone at once: never armed
    await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
    report = rig.strategy.report()
    assert (report["trades"], report["evaluated"]) == (2, 1)
    assert report["note"].startswith(
        "DTMS evaluated 1 of 2 trades: the other 1 closed, or the run ended, before arming "
        "(arming: 3 M5 bars' time on the calendar, weekends included, +0.2R or -0.5R)"
    )
    await rig.stop()


@pytest.mark.parametrize(("waited", "said"), [(2, "(2 cycles)"), (1, "(1 cycle)")])
async def test_the_report_says_cycles_that_waited_though_every_trade_was_evaluated(
    tmp_path: Path, waited: int, said: str
) -> None:
    """One cycle that waited read "(1 cycles)"."""
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    bars = rig.fast
    rig.market.set("XAUUSD", "M5", [])  # the terminal had no bars of it for a while
    await rig.open_buy(ticket=1, volume=0.1)
    await rig.cycles(waited)
    rig.market.set("XAUUSD", "M5", bars)
    await rig.cycles(5)
    report = rig.strategy.report()
    assert (report["trades"], report["evaluated"]) == (1, 1)
    assert report["note"].startswith(
        f"DTMS evaluated 1 of 1 trades: cycles waited: no closed M5 bar of XAUUSD yet {said}"
    )
    await rig.stop()


async def test_after_a_restart_the_trades_carried_over_are_counted(tmp_path: Path) -> None:
    """A restarted host's trades open since the run before were evaluated but not counted
    as its trades: "DTMS evaluated 47 of 46 trades: the other -1 closed…"."""
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    for ticket in (1, 2):
        await rig.open_buy(ticket=ticket, volume=0.1)
    await rig.cycles(1)
    strategy = await rig.restart()
    await rig.open_buy(ticket=3, volume=0.1)
    rig.broker.close(3)  # gone before arming
    await strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
    await rig.cycles(5)
    report = strategy.report()
    assert (report["trades"], report["evaluated"], report["carried_over"]) == (3, 2, 2)
    assert report["note"].startswith(
        "DTMS evaluated 2 of 3 trades (2 of them open since the run before): the other 1 "
        "closed, or the run ended, before arming"
    )
    await rig.stop()
