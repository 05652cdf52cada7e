"""A trade reported closed while its position is still open (a terminal that answered one
read with no positions, and a host that took it at its word) is the same trade when the
broker lists it again with the same opening and entry: its record comes back and is
defended again, said once at WARNING (docs/dtms.md §8). Another opening under the
ticket is another trade."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from hookspecs import DefensiveState

S = DefensiveState


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A live host's engine (a simulated broker's closes are final) with one buy open."""
    r = Rig(tmp_path / "dtms")
    r.host.mode = "live"
    await r.start()
    await r.open_buy(ticket=1)
    await r.cycles(2)
    yield r
    await r.stop()


async def _false_close(rig: Rig) -> None:
    """The host reports ticket 1 closed (``external``, its last view) while it is open."""
    pos = rig.broker.open_positions[1]
    await rig.strategy.on_trade_closed(rig.host, replace(pos, profit=-3.0), "external")
    assert rig.strategy.records[1].state is S.CLOSED


def _reopened_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "lists the position open again" in r.getMessage()
    ]


async def test_a_trade_listed_again_after_a_false_close_is_defended_again(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    seq = rig.strategy.records[1].seq
    await _false_close(rig)
    caplog.set_level(logging.WARNING, logger="dtms_plugin.local")
    await rig.cycles(1)  # nothing else to watch, and the positions are read all the same
    rec = rig.strategy.records[1]
    assert (rec.state, rec.seq, rec.close_reason) == (S.HEALTHY, seq + 2, "")
    assert (rec.closed_at, rec.realised_profit, rec.close_price) == (None, None, None)
    assert rig.strategy.store.get_record(1)["state"] == "HEALTHY"  # type: ignore[index]
    # the false close is no loss for the account rails
    since = rig.clock.now() - timedelta(days=1)
    assert list(rig.strategy.book.recent_closed(since, 3)) == []
    assert rig.transitions()[-2:] == [("HEALTHY", "CLOSED"), ("CLOSED", "HEALTHY")]
    await rig.cycles(20)  # and defended: the falling market walks it down the ladder
    assert rig.strategy.records[1].state is not S.HEALTHY
    [line] = _reopened_lines(caplog)
    assert line.startswith("DTMS 1: the broker lists the position open again after its close")
    assert "(external at " in line and "defended again from HEALTHY" in line


async def test_a_trade_closed_falsely_before_a_restart_is_reopened_at_start_up(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await _false_close(rig)
    caplog.set_level(logging.WARNING, logger="dtms_plugin.local")
    strategy = await rig.restart()
    assert strategy.records[1].state is S.HEALTHY
    assert len(_reopened_lines(caplog)) == 1


async def test_another_position_under_the_ticket_is_not_the_closed_trade(rig: Rig) -> None:
    """Not reopened: another trade, adopted as such at its second read (mid-run adoption,
    dtms_plugin/local_midrun.py), the closed trade's record archived."""
    await _false_close(rig)
    pos = rig.broker.open_positions.pop(1)
    other = rig.broker.add(replace(pos, opened_at=pos.opened_at + timedelta(minutes=5)))
    await rig.cycles(1)
    assert rig.strategy.records[1].state is S.CLOSED
    await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert (rec.state, rec.opened_at) == (S.HEALTHY, other.opened_at)
    assert ("CLOSED", "HEALTHY") not in rig.transitions()  # registered fresh, not reopened


async def test_a_trade_dtms_closed_itself_is_not_reopened_by_a_listing_that_lags(
    rig: Rig,
) -> None:
    pos = rig.broker.open_positions[1]
    await rig.cycles(49)  # HEDGED, then closed with its hedge at the flat deadline
    [closed] = [t for t in rig.broker.closed if t.ticket == 1]
    await rig.strategy.on_trade_closed(rig.host, closed, "action")  # the host's report
    rec = rig.strategy.records[1]
    assert rec.state is S.CLOSED and rec.owed == () and 1 not in rig.broker.open_positions
    rig.broker.add(replace(pos, volume=rec.volume))  # a terminal that lists it a while longer
    await rig.cycles(1)
    assert rig.strategy.records[1].state is S.CLOSED
