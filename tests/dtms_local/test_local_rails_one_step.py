"""The account rails judge a step's closes together (docs/dtms.md §7): closes of one bar
on several symbols are reported one by one, in the order of the symbols' data files, and
judged at each close the streak depended on that order. A quant's portfolio replay of
six files gave 89 trades in one order and 90 in the other: a stop at a loss reported
before another trade's stop in profit of the same bar made "3 consecutive trades closed
at their stop" and a lock that vetoed the next entry; reported after it, no lock."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from hookspecs import OrderRequest


async def _verdict(tmp_path: Path, order: tuple[int, int]) -> str | None:
    rig = Rig(tmp_path / f"dtms-{order[0]}", rails={"daily_loss_pct": 50.0})
    await rig.start()
    try:
        for ticket in (1, 2, 3, 4):
            await rig.open_buy(ticket=ticket, volume=0.1)
        await rig.cycles(1)
        results = {1: -10.0, 2: -10.0, 3: -10.0, 4: 4.0}  # 4: its trailing stop, in profit
        for ticket in (1, 2):  # two losing stops, each on its own bar
            rig.broker.close(ticket)
            closed = replace(rig.broker.closed[-1], profit=results[ticket])
            await rig.strategy.on_trade_closed(rig.host, closed, "stop_loss")
            await rig.cycles(1)
        at = rig.clock.now()
        for ticket in order:  # one bar's two stops, reported in the data files' order
            rig.broker.close(ticket)
            closed = replace(rig.broker.closed[-1], profit=results[ticket], closed_at=at)
            await rig.strategy.on_trade_closed(rig.host, closed, "stop_loss")
        veto = rig.strategy.allow_order(rig.host, OrderRequest("XAUUSD", "buy", 0.1))
        return None if veto is None else veto.reason
    finally:
        await rig.stop()


@pytest.mark.parametrize("order", list(itertools.permutations((3, 4))))
async def test_one_bars_closes_are_judged_together_whatever_their_order(
    tmp_path: Path, order: tuple[int, int]
) -> None:
    """Trades 1 and 2 stopped at a loss; on one bar, 3 at a loss and 4 in profit: the
    last three closed (by close time, then as they opened) are 2, 3 and 4, one of them
    in profit, so no streak, in either order of the reports."""
    assert await _verdict(tmp_path, order) is None
