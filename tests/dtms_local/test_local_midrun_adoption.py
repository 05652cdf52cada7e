"""Adoption mid-run (dtms_plugin/local_midrun.py): a position of ours with no record is
adopted when two reads in a row list it so (the host announces its own entries within the
cycle), not while a hedge or re-add of unknown outcome on its symbol may be the one that
opened it, and never in a simulated run (each position an announced order of the host's)."""

from __future__ import annotations

from pathlib import Path

from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.engine import begin
from hookspecs import Action, ActionKind


async def _live_rig(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path / "dtms")
    rig.host.mode = "live"
    await rig.start()
    return rig


async def test_a_stray_is_adopted_at_its_second_read_and_defended(tmp_path: Path) -> None:
    rig = await _live_rig(tmp_path)
    rig.broker.add(trade(ticket=9, opened_at=rig.clock.now()))
    await rig.cycles(1)  # seen once: it may be an entry about to be announced
    assert 9 not in rig.strategy.records
    await rig.cycles(1)
    assert rig.strategy.records[9].is_open
    await rig.stop()


async def test_an_entry_announced_after_its_first_read_is_registered_not_adopted(
    tmp_path: Path,
) -> None:
    rig = await _live_rig(tmp_path)
    t = rig.broker.add(trade(ticket=9, opened_at=rig.clock.now()))
    await rig.cycles(1)
    await rig.strategy.on_trade_executed(rig.host, t)
    await rig.cycles(2)
    assert rig.strategy.registered == 1 and rig.strategy._strays == set()
    await rig.stop()


async def test_no_adoption_beside_an_opening_action_of_unknown_outcome(tmp_path: Path) -> None:
    """A hedge of unknown outcome may be the position (its comment rewritten): its journal
    entry claims it when it settles; adopted first, the hedge would read as not applied
    and be sent again."""
    rig = await _live_rig(tmp_path)
    await rig.open_buy(ticket=1)
    rec = rig.strategy.records[1]
    hedge = Action(1, ActionKind.HEDGE, {"volume": 0.5}, "test", rec.key_for(ActionKind.HEDGE))
    rig.strategy.book.put(begin(rec, hedge, rig.clock.now()))  # pending: sent, not answered
    stray = trade(ticket=9, direction="sell", volume=0.5, opened_at=rig.clock.now())
    rig.strategy._adopt_strays(rig.host, [rig.broker.add(stray)], rig.clock.now())
    rig.strategy._adopt_strays(rig.host, [stray], rig.clock.now())
    assert 9 not in rig.strategy.records
    await rig.stop()


async def test_a_simulated_run_adopts_nothing_mid_run(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    rig.broker.add(trade(ticket=9, opened_at=rig.clock.now()))
    await rig.open_buy(ticket=1)
    await rig.cycles(3)
    assert 9 not in rig.strategy.records
    await rig.stop()
