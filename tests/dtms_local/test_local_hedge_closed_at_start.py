"""A HEDGED trade whose stop was hit while the host was down: at start-up the recovery
closes its hedge (the trade closed: its hedge is owed a close, docs/dtms.md §7), and
adoption, which reads the same positions, must not then call that hedge an open hedge of
no trade of ours (docs/dtms.md §8): it was closed a moment before."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from hookspecs import DefensiveState

from .test_local_closes_at_broker import SaysWhy, _rig

S = DefensiveState


async def test_a_hedge_closed_at_start_up_is_not_said_open_and_unmanaged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r: Rig = _rig(tmp_path / "dtms")
    await r.start()
    await r.open_buy(ticket=1)
    await r.cycles(36)  # HEDGED (pinned in test_local_ladder)
    rec = r.strategy.records[1]
    assert rec.state is S.HEDGED and rec.hedge_ticket is not None
    hedge = rec.hedge_ticket
    r.strategy.store.close()  # the host stops
    broker = r.broker
    assert isinstance(broker, SaysWhy)
    broker.stop_hit(1)  # the trade's stop, at the trade server, meanwhile
    with caplog.at_level(logging.INFO):
        strategy = await r.restart()
    after = strategy.records[1]
    assert (after.state, after.close_reason, after.hedge_ticket) == (S.CLOSED, "stop_loss", None)
    assert hedge not in broker.open_positions  # the recovery closed it
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "left alone, unmanaged" in m], said
    assert not [m for m in said if "adopted" in m], said
    await r.stop()
