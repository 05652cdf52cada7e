"""A hedge whose answer was lost (``unknown_outcome``) and whose trade closes before the
hedge shows up at the broker (docs/dtms.md §5 row 1, §6): the CLOSED record stays watched
until the hedge's outcome is settled, and a hedge that fills late is closed, said once at
WARNING with its ticket. Before, the record let go of the journal entry with the trade:
the late hedge stayed open for good, unwatched, and stray adoption skips a position with
DTMS's hedge comment. The same in ``dtms serve`` (the local strategy, ``adopt`` off)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus
from dtms_plugin.local import LocalStrategy
from hookspecs import ActionKind, DefensiveState, ResultCode

S = DefensiveState
LATE = 4242  # the ticket the trade server gives the timed-out hedge when it fills


async def _hedged_unknown(tmp_path: Path, serve: bool) -> Rig:
    """A buy at HEDGED whose hedge was sent and its answer lost."""
    rig = Rig(tmp_path / "dtms")
    if serve:
        rig.host.mode = "serve"
        rig.strategy = LocalStrategy(rig.settings, adopt=False)
    await rig.start()
    await rig.open_buy()
    rig.broker.script["hedge"] = [ResultCode.UNKNOWN_OUTCOME]
    await rig.reach(1, S.HEDGED)
    entry = rig.strategy.records[1].entry("1:3:hedge")
    assert entry is not None and entry.status is JournalStatus.UNKNOWN
    return rig


async def _tick(rig: Rig, seconds: float) -> None:
    """One of the host's cycles ``seconds`` later (within the bar)."""
    rig.clock.advance(timedelta(seconds=seconds))
    await rig.strategy.on_cycle(rig.host, rig.clock.now())


def _fill_late(rig: Rig) -> None:
    """The trade server fills the timed-out hedge: a sell of the lots asked, its comment."""
    entry = rig.strategy.records[1].entry("1:3:hedge")
    assert entry is not None
    lots = float(entry.params["volume"])
    late = trade(LATE, "sell", lots, rig.broker.mids["XAUUSD"], None, rig.clock.now())
    rig.broker.add(replace(late, comment="DTMS_HEDGE_1"))


def _stop_hit(rig: Rig) -> None:
    pos = rig.broker.open_positions.pop(1)
    rig.broker.closed.append(
        replace(pos, profit=-50.0, close_price=pos.stop_loss, closed_at=rig.clock.now())
    )


@pytest.mark.parametrize("serve", [False, True], ids=["host", "serve"])
async def test_a_hedge_filled_after_the_trade_stop_is_closed_and_said(
    tmp_path: Path, serve: bool, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await _hedged_unknown(tmp_path, serve)
    _stop_hit(rig)
    await _tick(rig, 20)  # 20 s after the send: its outcome is still open
    rec = rig.strategy.records[1]
    assert rec.state is S.CLOSED
    assert [r.ticket for r in rig.strategy.book.live()] == [1]  # still watched
    await _tick(rig, 20)
    _fill_late(rig)  # 40 s after the send, within the 60 s DTMS waits for it
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await _tick(rig, 10)
        await rig.cycles(3)
    assert LATE not in rig.broker.open_positions
    assert [args for m, args in rig.broker.calls if m == "close"][-1:] == [(LATE, None)]
    rec = rig.strategy.records[1]
    assert (rec.owed, rec.hedge_ticket) == ((), None)
    assert rig.strategy.book.live() == []
    said = [r.getMessage() for r in caplog.records if "unknown outcome" in r.getMessage()]
    assert said == [
        "DTMS 1: hedge of unknown outcome settled as done: hedge 4242 opened after the "
        "trade closed: its close is owed"
    ]
    await rig.stop()


async def test_a_hedge_filled_after_a_close_the_host_reported_is_closed(tmp_path: Path) -> None:
    rig = await _hedged_unknown(tmp_path, serve=False)
    pos = rig.broker.open_positions.pop(1)
    closed = replace(pos, profit=-50.0, close_price=pos.stop_loss, closed_at=rig.clock.now())
    await rig.strategy.on_trade_closed(rig.host, closed, "stop_loss")
    assert rig.strategy.records[1].state is S.CLOSED
    await _tick(rig, 30)
    _fill_late(rig)
    await _tick(rig, 10)
    assert LATE not in rig.broker.open_positions
    assert rig.strategy.book.live() == []
    await rig.stop()


async def test_a_late_hedge_is_closed_after_a_restart(tmp_path: Path) -> None:
    """The CLOSED record with its hedge unsettled is loaded as one to watch."""
    rig = await _hedged_unknown(tmp_path, serve=False)
    _stop_hit(rig)
    await _tick(rig, 20)
    await rig.restart()
    _fill_late(rig)
    await _tick(rig, 10)
    assert LATE not in rig.broker.open_positions
    await rig.stop()


async def test_a_hedge_that_never_fills_is_settled_not_done_and_the_trade_let_go(
    tmp_path: Path,
) -> None:
    rig = await _hedged_unknown(tmp_path, serve=False)
    _stop_hit(rig)
    await _tick(rig, 20)
    await _tick(rig, 50)  # past the 60 s wait: no trace of it
    rec = rig.strategy.records[1]
    entry = rec.entry("1:3:hedge")
    assert entry is not None and entry.status is JournalStatus.FAILED
    assert rec.owed == () and ActionKind.CLOSE_HEDGE not in rec.owed
    assert rig.strategy.book.live() == []
    assert rig.broker.count("hedge") == 1  # not sent again for a closed trade
    assert all(args[0] == 1 for m, args in rig.broker.calls if m == "close")  # L2's partial
    await rig.stop()
